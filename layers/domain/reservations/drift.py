"""Recompute the stock counters from the hold lines and report every difference.

The service keeps ``reserved`` and ``available`` on each stock record in the same
transaction as the holds that move them; this check is how an operator (or a test)
confirms that on live data. It reads the whole table, so run it off-peak.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .records import LIVE_STATUSES, Line, Status, StockLevel
from .store import Store
from .store.items import (
    line_from_item,
    location_from_item,
    status_of_header,
    stock_level_from_item,
)
from .store.keys import Entity, entity_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

Key = tuple[str, str]


@dataclass(frozen=True)
class DriftReport:
    held: dict[Key, int]  # what live lines hold, per (sku, location)
    levels: dict[Key, StockLevel]
    problems: list[str] = field(default_factory=list)
    # Not counter drift: stock at a location the network does not list (GET /locations
    # would miss it), as a write that bypassed the service leaves it.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(items: Iterable[Mapping[str, Any]]) -> DriftReport:
    statuses: dict[str, Status] = {}
    lines: list[tuple[str, Line]] = []
    levels: dict[Key, StockLevel] = {}
    listed: dict[str, bool] = {}  # location -> registered
    for item in items:
        entity = entity_of(item)
        if entity is Entity.RESERVATION:
            reservation_id, status = status_of_header(item)
            statuses[reservation_id] = status
        elif entity is Entity.HOLD_LINE:
            lines.append((item["reservationId"]["S"], line_from_item(item)))
        elif entity is Entity.STOCK:
            level = stock_level_from_item(item)
            levels[(level.sku, level.location)] = level
        elif entity is Entity.LOCATION:
            location = location_from_item(item)
            listed[location.location] = location.registered

    problems: list[str] = []
    held: dict[Key, int] = defaultdict(int)
    for reservation_id, line in lines:
        where = f"reservation {reservation_id} line {line.sku}@{line.location}"
        if line.held + line.released + line.consumed != line.taken:
            problems.append(f"{where}: held+released+consumed != granted ({line})")
        if line.held < 0:
            problems.append(f"{where}: negative held {line.held}")
        if line.allocated and not listed.get(line.location, False):
            # Allocation chooses registered locations only, and none is ever unregistered.
            problems.append(f"{where}: allocated to a location that is not registered")
        found = statuses.get(reservation_id)
        if found is None:
            problems.append(f"{where}: no reservation header")
        elif found in LIVE_STATUSES:
            held[(line.sku, line.location)] += line.held
        elif line.held:
            problems.append(f"{where}: {found.value} but still holds {line.held}")
    for key, level in levels.items():
        if level.available != level.on_hand - level.reserved:
            problems.append(
                f"stock {key}: available {level.available} != "
                f"onHand {level.on_hand} - reserved {level.reserved}"
            )
        if level.reserved != held.get(key, 0):
            problems.append(
                f"stock {key}: reserved {level.reserved} but live lines hold {held.get(key, 0)}"
            )
    for key, quantity in held.items():
        if key not in levels:
            problems.append(f"stock {key}: live lines hold {quantity} but there is no stock record")
    warnings = [
        f"stock at {location} but the location network does not list it"
        for location in sorted({location for _, location in levels} - set(listed))
    ]
    return DriftReport(dict(held), levels, problems, warnings)


def check_table(client: DynamoDBClient, table_name: str) -> DriftReport:
    return check(Store(client, table_name).scan())
