"""One batch of the table's stream through to the bus and the movement ledger, as the
events function runs it.

Records are read in order. The events of every record up to the first one that could not
be read are published; the answer names the first record whose events did not all get
out, and Lambda delivers the batch again from there (partial batch response). Records
after it are published again then, with the same ids. The changes of stock records'
measures go to the movement ledger first, under keys that make a redelivery overwrite
itself (docs/architecture.md, "Supply measures").
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..records import Movement, StockLevel
from ..store.changes import changed_at, read_change, sharded_record_of
from ..store.keys import Entity
from ..store.movement_items import movements_between
from ..store.movements import BATCH_WRITE_LIMIT, MovementStore
from ..store.snapshots import LineSnapshots, LinesSnapshot
from .bus import EventBus
from .derive import Event, derive
from .sharded_totals import Key, ShardedTotals


@dataclass(slots=True)
class RelayReport:
    published: list[Event] = field(default_factory=list)
    # Sequence number of the first record to deliver again; None: the whole batch is out.
    retry_from: str | None = None
    error: str | None = None


def _items(snapshot: LinesSnapshot) -> list[dict[str, Any]]:
    return [
        {
            "sku": line.sku,
            "location": line.location,
            "quantity": line.quantity,
            "held": line.held,
            "released": line.released,
            "consumed": line.consumed,
            "offset": line.offset,
        }
        for line in snapshot.lines
    ]


class EventRelay:
    def __init__(
        self,
        snapshots: LineSnapshots,
        bus: EventBus,
        movements: MovementStore | None = None,
        totals: ShardedTotals | None = None,
    ) -> None:
        self._snapshots = snapshots
        self._bus = bus
        self._movements = movements
        self._totals = totals

    def relay(self, records: Sequence[Mapping[str, Any]]) -> RelayReport:
        report = RelayReport()
        pending: list[tuple[int, Event]] = []
        read: dict[str, LinesSnapshot] = {}
        failed_at: int | None = None
        moved: list[tuple[int, Movement]] = []
        batch = _Totals()
        for index, record in enumerate(records):
            try:
                moved += [(index, movement) for movement in _movements(record)]
                change = read_change(record)
                events = [] if change is None else derive(change)
                events = [self._with_totals(self._with_lines(e, read), batch) for e in events]
                pending += [(index, event) for event in events]
                batch.touch(sharded_record_of(record), index, record)
            except Exception as error:  # an unreadable record, a failed read: retry from it
                failed_at, report.error = index, f"{type(error).__name__}: {error}"
                break
        for key, (first, last, record) in batch.touched.items():
            try:
                pending += [(last, event) for event in self._crossings(key, record, batch)]
            except Exception as error:  # told from the first record that moved it, again
                failed_at = first if failed_at is None else min(failed_at, first)
                report.error = f"{type(error).__name__}: {error}"
        if self._movements is not None:
            unwritten = self._record(moved, report)
            if unwritten is not None:
                failed_at = unwritten if failed_at is None else min(failed_at, unwritten)
        failed = set(self._bus.put([event for _, event in pending]))
        for position, (index, event) in enumerate(pending):
            if position in failed:
                failed_at = index if failed_at is None else min(failed_at, index)
            else:
                report.published.append(event)
                if id(event) in batch.crossings:
                    self._told(event)
        if failed_at is not None:
            report.retry_from = str(records[failed_at]["dynamodb"]["SequenceNumber"])
        return report

    def _crossings(self, key: Key, record: Mapping[str, Any], batch: _Totals) -> list[Event]:
        if self._totals is None:
            return []
        found = self._totals.crossings(key, str(record["eventID"]), changed_at(record))
        batch.crossings.update(id(event) for event in found)
        return found

    def _told(self, event: Event) -> None:
        assert self._totals is not None
        # Not recorded as told: the next change of the record tells it again, same id.
        with contextlib.suppress(Exception):
            self._totals.told(event)

    def _with_totals(self, event: Event, batch: _Totals) -> Event:
        """A sharded record's event with its totals as they are now."""
        if event.totals_of is None or self._totals is None:
            return event
        level = batch.level(event.totals_of, self._totals)
        if level is None:
            return replace(event, totals_of=None)
        detail = {
            **event.detail,
            "reserved": level.reserved,
            "available": level.available,
            "supply": level.supply,
        }
        return replace(event, detail=detail, totals_of=None)

    def _record(self, moved: list[tuple[int, Movement]], report: RelayReport) -> int | None:
        """Write the batch's movements; the index of the first record whose movements did
        not all get written, or None."""
        assert self._movements is not None
        for start in range(0, len(moved), BATCH_WRITE_LIMIT):
            chunk = moved[start : start + BATCH_WRITE_LIMIT]
            try:
                self._movements.record([movement for _, movement in chunk])
            except Exception as error:  # throttled, or unwritten: this record comes again
                report.error = f"{type(error).__name__}: {error}"
                return chunk[0][0]
        return None

    def _with_lines(self, event: Event, read: dict[str, LinesSnapshot]) -> Event:
        """The reservation's lines as they are now; ``itemsVersion`` says which version that
        is (a later one than the event's when the hold changed again since)."""
        if event.lines_of is None:
            return event
        if event.lines_of not in read:
            read[event.lines_of] = self._snapshots.read(event.lines_of)
        snapshot = read[event.lines_of]
        detail = {**event.detail, "items": _items(snapshot), "itemsVersion": snapshot.version}
        return replace(event, detail=detail, lines_of=None)


@dataclass(slots=True)
class _Totals:
    """One batch's sharded records: the records that touched each, and its total, read
    once."""

    # key -> (index of the first record that touched it, of the last, the last record)
    touched: dict[Key, tuple[int, int, Mapping[str, Any]]] = field(default_factory=dict)
    levels: dict[Key, StockLevel | None] = field(default_factory=dict)
    crossings: set[int] = field(default_factory=set)  # id() of the crossing events

    def touch(self, key: Key | None, index: int, record: Mapping[str, Any]) -> None:
        if key is not None:
            first = self.touched[key][0] if key in self.touched else index
            self.touched[key] = (first, index, record)

    def level(self, key: Key, totals: ShardedTotals) -> StockLevel | None:
        if key not in self.levels:
            self.levels[key] = totals.level(key)
        return self.levels[key]


def _movements(record: Mapping[str, Any]) -> list[Movement]:
    """What a stream record of a stock record's change moved (none for other items)."""
    images = record.get("dynamodb", {})
    new = images.get("NewImage")
    if not new or new.get("entity", {}).get("S") != Entity.STOCK:
        return []
    return movements_between(images.get("OldImage"), new)
