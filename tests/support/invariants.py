"""Checks of the stock invariants straight from the table, for any engine."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from reservations.records import LIVE_STATUSES, Line, Status, StockLevel
from reservations.table import line_from_item, reservation_from_item, stock_level_from_item


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
    """Assert, for every record of the table:

    - stock: ``available == onHand - reserved`` and ``reserved`` == what live lines hold;
    - lines: ``held + released + consumed == quantity``; a line of an ended hold holds nothing.
    """
    items = scan_all(client, table_name)
    statuses: dict[str, Status] = {}
    lines: list[tuple[str, Line]] = []
    stock: dict[tuple[str, str], StockLevel] = {}
    for item in items:
        entity = item.get("entity", {}).get("S")
        if entity == "reservation":
            statuses[item["id"]["S"]] = reservation_from_item(item).status
        elif entity == "hold":
            lines.append((item["reservationId"]["S"], line_from_item(item)))
        elif entity == "stock":
            level = stock_level_from_item(item)
            stock[(level.sku, level.location)] = level
    held: dict[tuple[str, str], int] = defaultdict(int)
    for reservation_id, line in lines:
        assert line.held + line.released + line.consumed == line.quantity, (reservation_id, line)
        assert line.held >= 0, (reservation_id, line)
        status = statuses[reservation_id]
        if status in LIVE_STATUSES:
            held[(line.sku, line.location)] += line.held
        else:
            assert line.held == 0, (reservation_id, status, line)
    for key, level in stock.items():
        assert level.available == level.on_hand - level.reserved, (key, level)
        assert level.reserved == held.get(key, 0), (key, level.reserved, held.get(key, 0))
    for key, quantity in held.items():
        assert key in stock, f"live hold on {key} without a stock record ({quantity})"
    return Snapshot(dict(held), stock)
