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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..records import Movement
from ..store.changes import read_change
from ..store.keys import Entity
from ..store.movement_items import movements_between
from ..store.movements import BATCH_WRITE_LIMIT, MovementStore
from ..store.snapshots import LineSnapshots, LinesSnapshot
from .bus import EventBus
from .derive import Event, derive


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
        self, snapshots: LineSnapshots, bus: EventBus, movements: MovementStore | None = None
    ) -> None:
        self._snapshots = snapshots
        self._bus = bus
        self._movements = movements

    def relay(self, records: Sequence[Mapping[str, Any]]) -> RelayReport:
        report = RelayReport()
        pending: list[tuple[int, Event]] = []
        read: dict[str, LinesSnapshot] = {}
        failed_at: int | None = None
        moved: list[tuple[int, Movement]] = []
        for index, record in enumerate(records):
            try:
                moved += [(index, movement) for movement in _movements(record)]
                change = read_change(record)
                events = [] if change is None else derive(change)
                pending += [(index, self._with_lines(event, read)) for event in events]
            except Exception as error:  # an unreadable record, a failed read: retry from it
                failed_at, report.error = index, f"{type(error).__name__}: {error}"
                break
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
        if failed_at is not None:
            report.retry_from = str(records[failed_at]["dynamodb"]["SequenceNumber"])
        return report

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


def _movements(record: Mapping[str, Any]) -> list[Movement]:
    """What a stream record of a stock record's change moved (none for other items)."""
    images = record.get("dynamodb", {})
    new = images.get("NewImage")
    if not new or new.get("entity", {}).get("S") != Entity.STOCK:
        return []
    return movements_between(images.get("OldImage"), new)
