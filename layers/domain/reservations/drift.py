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

from .records import LIVE_STATUSES, Label, LabelStatus, Line, Status, StockLevel
from .store import Store
from .store.bucket_reads import Bucket, bucket_from_item
from .store.items import (
    line_from_item,
    location_from_item,
    status_of_header,
    stock_level_from_item,
)
from .store.keys import Entity, entity_of
from .store.label_items import is_removed, label_from_item
from .supply import DEFAULT_FORMULA, Formula

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


def check(items: Iterable[Mapping[str, Any]], formula: Formula = DEFAULT_FORMULA) -> DriftReport:
    statuses: dict[str, Status] = {}
    lines: list[tuple[str, Line]] = []
    levels: dict[Key, StockLevel] = {}
    supplies: dict[Key, int] = {}  # the formula over each record's measures
    listed: dict[str, bool] = {}  # location -> registered
    labels: list[Label] = []
    serialized: set[Key] = set()
    buckets: dict[Key, dict[int, Bucket]] = defaultdict(dict)  # a sharded record's 1 .. N-1
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
            supplies[(level.sku, level.location)] = formula.supply(
                {name: int(item[name]["N"]) for name in formula.measures if name in item}
            )
            if "serialized" in item:
                serialized.add((level.sku, level.location))
        elif entity is Entity.SHARD:
            key = (item["sku"]["S"], item["location"]["S"])
            buckets[key][int(item["bucket"]["N"])] = bucket_from_item(item)
        elif entity is Entity.LABEL and not is_removed(item):
            labels.append(label_from_item(item))
        elif entity is Entity.LOCATION:
            location = location_from_item(item)
            listed[location.location] = location.registered

    problems: list[str] = []
    held: dict[Key, int] = defaultdict(int)
    held_on: dict[tuple[str, str, int], int] = defaultdict(int)  # per bucket
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
            held_on[(line.sku, line.location, line.bucket)] += line.held
        elif line.held:
            problems.append(f"{where}: {found.value} but still holds {line.held}")
    for key, level in levels.items():
        more = buckets.get(key, {})
        available = level.available + sum(bucket.available for bucket in more.values())
        reserved = level.reserved + sum(bucket.reserved for bucket in more.values())
        if available != supplies[key] - reserved:
            problems.append(
                f"stock {key}: available {available} != "
                f"supply {supplies[key]} ({formula.text}) - reserved {reserved}"
                + (f" (over {len(more) + 1} buckets)" if more else "")
            )
        if level.reserved != held_on.get((*key, 0), 0):
            problems.append(
                f"stock {key}: reserved {level.reserved} but live lines hold "
                f"{held_on.get((*key, 0), 0)}"
            )
        problems += _bucket_problems(key, level, more, held_on)
    for key, quantity in held.items():
        if key not in levels:
            problems.append(f"stock {key}: live lines hold {quantity} but there is no stock record")
    for key in buckets:
        if key not in levels:
            problems.append(f"stock {key}: buckets but no stock record")
    problems += _label_problems(labels, lines, statuses, levels, serialized)
    warnings = [
        f"stock at {location} but the location network does not list it"
        for location in sorted({location for _, location in levels} - set(listed))
    ]
    return DriftReport(dict(held), levels, problems, warnings)


def _bucket_problems(
    key: Key,
    record: StockLevel,
    buckets: Mapping[int, Bucket],
    held_on: Mapping[tuple[str, str, int], int],
) -> list[str]:
    """Each bucket reserves what the live lines on it hold, never has less than nothing,
    and takes no reserve while the record is in debt (docs/architecture.md, invariants 7-9)."""
    problems = []
    for number, bucket in sorted(buckets.items()):
        where = f"stock {key} bucket {number}"
        if bucket.reserved != held_on.get((*key, number), 0):
            problems.append(
                f"{where}: reserved {bucket.reserved} but live lines hold "
                f"{held_on.get((*key, number), 0)}"
            )
        if bucket.available < 0:
            problems.append(f"{where}: available {bucket.available} below zero")
        if record.available < 0 and not bucket.closed:
            problems.append(f"{where}: open while the record is in debt ({record.available})")
    return problems


def _label_problems(
    labels: list[Label],
    lines: list[tuple[str, Line]],
    statuses: dict[str, Status],
    levels: dict[Key, StockLevel],
    serialized: set[Key],
) -> list[str]:
    """A serialized record's onHand is its labels' stock; a RESERVED label is held by
    exactly the live line that says it holds it, at its quantity; a line of labels holds
    the sum of the labels it still holds (docs/architecture.md, "Serialized labels")."""
    problems: list[str] = []
    on_labels: dict[Key, int] = defaultdict(int)
    for label in labels:
        on_labels[(label.sku, label.location)] += label.in_stock
    for key in serialized | set(on_labels):
        level = levels.get(key)
        if key not in serialized or level is None:
            problems.append(f"labels of {key} on a record that is not serialized")
        elif level.on_hand != on_labels.get(key, 0):
            problems.append(
                f"stock {key}: onHand {level.on_hand} but its labels hold {on_labels.get(key, 0)}"
            )
    holders: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for reservation_id, line in lines:
        where = f"reservation {reservation_id} line {line.sku}@{line.location}"
        held_labels = [x for x in line.labels if x.held]
        if line.labels and line.held != sum(x.quantity for x in held_labels):
            problems.append(f"{where}: holds {line.held}, its labels {held_labels}")
        if statuses.get(reservation_id) in LIVE_STATUSES:
            for hold in held_labels:
                holders[hold.label].append((reservation_id, hold.quantity))
    by_name = {label.label: label for label in labels}
    for name, found in holders.items():
        stored = by_name.get(name)
        if stored is None or stored.status is not LabelStatus.RESERVED or len(found) > 1:
            problems.append(f"label {name}: held by {found} but is {stored}")
        elif (stored.reservation_id, stored.quantity) != found[0]:
            problems.append(f"label {name}: {stored} but held as {found[0]}")
    for label in labels:
        if label.status is LabelStatus.RESERVED and label.label not in holders:
            problems.append(
                f"label {label.label}: RESERVED by {label.reservation_id}, no line holds it"
            )
    return problems


def check_table(
    client: DynamoDBClient, table_name: str, formula: Formula = DEFAULT_FORMULA
) -> DriftReport:
    return check(Store(client, table_name).scan(), formula)
