"""Why a hold's transaction was refused, in the terms its callers act on."""

from __future__ import annotations

from ..errors import LabelsRequired, ShortItem
from ..records import Line, Reservation
from .items import available_of, reserved_of
from .keys import AttributeMap


class ReservationExists(Exception):
    def __init__(self, existing: Reservation) -> None:
        super().__init__(existing.id)
        self.existing = existing


class StockShort(Exception):
    def __init__(
        self,
        items: list[ShortItem],
        held: dict[tuple[str, str], int],
        found: dict[tuple[str, str], AttributeMap] | None = None,
    ) -> None:
        super().__init__(f"{len(items)} short item(s)")
        self.items = items
        # Short (sku, location)s on which something was reserved, and how much, when the
        # transaction was refused: only there can an expired-but-unswept hold be in the way.
        self.held = held
        # The item each short line was refused by (a stock record, or one of its buckets).
        self.found = found or {}


class ReservationChanged(Exception):
    """The reservation is no longer in the state the write was computed from."""


class CountersDisagree(Exception):
    """A stock record holds less than a hold's lines say they hold: the data drifted (the
    drift check tells where). Refused, so it never drifts further."""


class RecordBeingPurged(Exception):
    """TTL has deleted part of this reservation's items; it can no longer change."""


def stock_short(failed: list[tuple[Line, AttributeMap | None]]) -> StockShort:
    """The refused lines (each with the quantity it tried to take) and their records as the
    refusal found them."""
    return StockShort(
        [
            ShortItem(line.sku, line.location, line.quantity, available_of(old))
            for line, old in failed
        ],
        held={
            (line.sku, line.location): reserved_of(old)
            for line, old in failed
            if reserved_of(old) > 0
        },
        found={(line.sku, line.location): old for line, old in failed if old},
    )


def raise_if_serialized(failed: list[tuple[Line, AttributeMap | None]]) -> None:
    """Lines without labels refused by a serialized stock record: labels are required."""
    serialized = [
        (line.sku, line.location)
        for line, old in failed
        if not line.labels and old is not None and "serialized" in old
    ]
    if serialized:
        raise LabelsRequired(serialized)
