"""One batch of the table's stream through to the bus, as the events function runs it.

Records are read in order. The events of every record up to the first one that could not
be read are published; the answer names the first record whose events did not all get
out, and Lambda delivers the batch again from there (partial batch response). Records
after it are published again then, with the same ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..store.changes import read_change
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
    def __init__(self, snapshots: LineSnapshots, bus: EventBus) -> None:
        self._snapshots = snapshots
        self._bus = bus

    def relay(self, records: Sequence[Mapping[str, Any]]) -> RelayReport:
        report = RelayReport()
        pending: list[tuple[int, Event]] = []
        read: dict[str, LinesSnapshot] = {}
        failed_at: int | None = None
        for index, record in enumerate(records):
            try:
                change = read_change(record)
                events = [] if change is None else derive(change)
                pending += [(index, self._with_lines(event, read)) for event in events]
            except Exception as error:  # an unreadable record, a failed read: retry from it
                failed_at, report.error = index, f"{type(error).__name__}: {error}"
                break
        failed = set(self._bus.put([event for _, event in pending]))
        for position, (index, event) in enumerate(pending):
            if position in failed:
                failed_at = index if failed_at is None else min(failed_at, index)
            else:
                report.published.append(event)
        if failed_at is not None:
            report.retry_from = str(records[failed_at]["dynamodb"]["SequenceNumber"])
        return report

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
