"""The events one item change tells: pure functions of the item before and after.

A header's version announces one reservation event, named by the step that wrote it
(``lastChange``); a stock record announces ``stock.changed`` when a measure moved and
``stock.low`` / ``stock.negative`` when available crossed below the record's threshold or
zero (a sharded record's, from its totals: events/sharded_totals.py); a dead-letter
notice announces ``erp.message.deadLettered``; a label announces ``label.changed`` when its
stock or its status moved. Each event's id comes from the stream record's eventID, so a
redelivered record gives the same ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..clock import iso
from ..records import Change as Step
from ..records import Label, Reservation, Status, StockLevel
from ..store.changes import Change, ItemChange
from ..store.notices import DeadLetterNotice

SOURCE = "reservations"
# Fixed forever: ids already published must come out the same for a redelivered record.
NAMESPACE = uuid.UUID("5b1c7a8e-2f4d-4c1e-9a57-3d0f6e2b9c41")

RESERVATION_TYPES = tuple(f"reservation.{step.value}" for step in Step)
STOCK_CHANGED, STOCK_LOW, STOCK_NEGATIVE = "stock.changed", "stock.low", "stock.negative"
DEAD_LETTERED = "erp.message.deadLettered"
LABEL_CHANGED = "label.changed"
DETAIL_TYPES = (
    *RESERVATION_TYPES,
    STOCK_CHANGED,
    STOCK_LOW,
    STOCK_NEGATIVE,
    DEAD_LETTERED,
    LABEL_CHANGED,
)


@dataclass(frozen=True, slots=True)
class Event:
    detail_type: str
    detail: dict[str, Any]
    time: int  # epoch seconds
    # The reservation whose lines the detail still needs (read by the relay), if any.
    lines_of: str | None = None
    # The sharded stock record whose totals the detail still needs (read by the relay).
    totals_of: tuple[str, str] | None = None

    @property
    def id(self) -> str:
        return str(self.detail["eventId"])


def event_id(stream_event_id: str, detail_type: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{stream_event_id}/{detail_type}"))


def derive(change: Change) -> list[Event]:
    found = change.new if change.new is not None else change.old
    if isinstance(found, Reservation):
        return _reservation(change)  # type: ignore[arg-type]
    if isinstance(found, StockLevel):
        return _stock(change)  # type: ignore[arg-type]
    if isinstance(found, DeadLetterNotice):
        return _dead_letter(change)  # type: ignore[arg-type]
    if isinstance(found, Label):
        return _label(change)  # type: ignore[arg-type]
    return []


# --- reservations -------------------------------------------------------------------------


def _reservation(change: ItemChange[Reservation]) -> list[Event]:
    old, new = change.old, change.new
    if new is None:
        # TTL deleted a header no sweep had reached: the hold expired all the same (the
        # stream function gives its stock back). An ended hold's deletion tells nothing.
        if old is None or not change.by_ttl or old.status is not Status.ACTIVE:
            return []
        detail = _header_detail(old, change, Status.EXPIRED, old.status, old.updated_at)
        return [_event(change, f"reservation.{Step.EXPIRED.value}", detail, old.id, purged=True)]
    if old is not None and new.version <= old.version:
        return []  # no step of its life (nothing but versioned steps writes a header)
    previous = None if old is None else old.status
    detail = _header_detail(new, change, new.status, previous, new.updated_at)
    step = Step.CREATED if old is None else new.change
    return [_event(change, f"reservation.{step.value}", detail, new.id)]


def _header_detail(
    header: Reservation,
    change: ItemChange[Reservation],
    status: Status,
    previous: Status | None,
    updated_at: int,
) -> dict[str, Any]:
    # As the API shows it: an expiry only while the hold can still expire, or did.
    expires = status in (Status.ACTIVE, Status.EXPIRED)
    return {
        "reservationId": header.id,
        "version": header.version,
        "status": status.value,
        "previousStatus": None if previous is None else previous.value,
        "channel": header.channel,
        "orderId": header.order_id,
        "expiresAt": iso(header.expires_at) if expires else None,
        "occurredAt": iso(change.at or updated_at),
    }


def _event(
    change: ItemChange[Any],
    detail_type: str,
    detail: dict[str, Any],
    lines_of: str | None = None,
    totals_of: tuple[str, str] | None = None,
    **flags: bool,
) -> Event:
    when = change.at or _updated_at(change)
    full = {"eventId": event_id(change.event_id, detail_type), **detail, **flags}
    return Event(detail_type, full, when, lines_of, totals_of)


def _updated_at(change: ItemChange[Any]) -> int:
    found = change.new if change.new is not None else change.old
    return int(getattr(found, "updated_at", 0) or getattr(found, "at", 0))


# --- stock --------------------------------------------------------------------------------


def _is_low(level: StockLevel | None) -> bool:
    threshold = None if level is None else level.low_stock_threshold
    return level is not None and threshold is not None and level.available < threshold


def stock_detail(new: StockLevel, old: StockLevel | None, at: int) -> dict[str, Any]:
    """A stock event's detail; ``previous`` is null for a new record, and for a sharded
    one, whose totals before the change no image shows."""
    return {
        "sku": new.sku,
        "location": new.location,
        "onHand": new.on_hand,
        "reserved": new.reserved,
        "available": new.available,
        "supply": new.supply,
        "measures": {"onHand": new.on_hand, **new.measures},
        "version": new.version,
        "lowStockThreshold": new.low_stock_threshold,
        "shards": new.shards,
        "previous": None
        if old is None or new.bucketed
        else {"onHand": old.on_hand, "reserved": old.reserved, "available": old.available},
        "occurredAt": iso(at or new.updated_at),
    }


def _stock(change: ItemChange[StockLevel]) -> list[Event]:
    old, new = change.old, change.new
    if new is None:
        return []  # stock records are never deleted
    detail = stock_detail(new, old, change.at)
    found = []
    moved = old is None or (old.on_hand, old.measures, old.shards) != (
        new.on_hand,
        new.measures,
        new.shards,
    )
    if new.bucketed:
        # Its totals are over buckets: the relay reads them, and tells its crossings of
        # the threshold and of zero from them (events/sharded_totals.py).
        totals_of = (new.sku, new.location)
        return [_event(change, STOCK_CHANGED, detail, totals_of=totals_of)] if moved else []
    if moved:  # a measure, not a hold: holds are told by their own events
        found.append(STOCK_CHANGED)
    if _is_low(new) and not _is_low(old):
        found.append(STOCK_LOW)
    if new.available < 0 and (old is None or old.available >= 0):
        found.append(STOCK_NEGATIVE)
    return [_event(change, detail_type, detail) for detail_type in found]


# --- ERP dead letters ---------------------------------------------------------------------


def _dead_letter(change: ItemChange[DeadLetterNotice]) -> list[Event]:
    notice = change.new
    if notice is None or change.old is not None:
        return []  # a notice is written once; only its insert tells
    detail = {
        "messageId": notice.message_id,
        "messageGroupId": notice.group_id,
        "messageType": notice.type,
        "sku": notice.sku,
        "location": notice.location,
        "reason": notice.reason,
        "deadLetteredAt": iso(notice.at),
    }
    return [_event(change, DEAD_LETTERED, detail)]


# --- labels -------------------------------------------------------------------------------


def _label_state(label: Label | None) -> tuple[object, ...] | None:
    if label is None:
        return None
    return (label.sku, label.location, label.bin, label.quantity, label.status)


def _label(change: ItemChange[Label]) -> list[Event]:
    old, new = change.old, change.new
    if _label_state(old) == _label_state(new):
        return []  # nothing a subscriber tracks moved (a tombstone written again)
    shown = new if new is not None else old
    assert shown is not None
    detail = {
        "label": shown.label,
        "sku": shown.sku,
        "location": shown.location,
        "bin": shown.bin,
        "quantity": 0 if new is None else new.quantity,
        "status": None if new is None else new.status.value,
        "previousStatus": None if old is None else old.status.value,
        "reservationId": None if new is None else new.reservation_id,
        "orderId": None if new is None else new.order_id,
        "removed": new is None,
        "occurredAt": iso(change.at or shown.updated_at),
    }
    return [_event(change, LABEL_CHANGED, detail)]
