"""Checks of the stock invariants straight from the table, for any engine."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from reservations.records import LIVE_STATUSES, Status, StockLevel
from reservations.table import reservation_from_item, stock_level_from_item


def scan_all(client: Any, table_name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass(frozen=True)
class Snapshot:
    held: dict[tuple[str, str], int]  # live held quantity per (sku, location)
    levels: dict[tuple[str, str], StockLevel]


def check_invariants(client: Any, table_name: str) -> Snapshot:
    """Assert available == onHand - reserved and reserved == sum of live holds, per record."""
    items = scan_all(client, table_name)
    held: dict[tuple[str, str], int] = defaultdict(int)
    stock: dict[tuple[str, str], StockLevel] = {}
    for item in items:
        entity = item.get("entity", {}).get("S")
        if entity == "reservation":
            reservation = reservation_from_item(item)
            if Status(reservation.status) in LIVE_STATUSES:
                for line in reservation.lines:
                    held[(line.sku, line.location)] += line.quantity
        elif entity == "stock":
            level = stock_level_from_item(item)
            stock[(level.sku, level.location)] = level
    for key, level in stock.items():
        assert level.available == level.on_hand - level.reserved, (key, level)
        assert level.reserved == held.get(key, 0), (key, level.reserved, held.get(key, 0))
    for key, quantity in held.items():
        assert key in stock, f"live hold on {key} without a stock record ({quantity})"
    return Snapshot(dict(held), stock)
