"""What a refused transition says about why it was refused (moto in-process): a stock
record holding less than a hold's lines is drift, but a line TTL deleted (and the stream
settled) under a write is a change that the next read sees, not drift."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.lifecycle import Retention, expire
from reservations.records import Reservation
from reservations.service import ReservationService
from reservations.store import CountersDisagree, ReservationChanged, Store
from reservations.store.keys import line_key, n, stock_key
from tests.unit.test_service import request

RETENTION = Retention(ended_seconds=5_000, expiry_grace_seconds=300)


@pytest.fixture
def store(moto_client: Any, moto_table: str) -> Store:
    return Store(moto_client, moto_table)


def due_hold(service: ReservationService, store: Store, clock: ManualClock) -> Reservation:
    service.set_on_hand("A", "WH1", 5)
    service.set_on_hand("B", "WH1", 5)
    rid = service.reserve(request(("A", 2), ("B", 1)), "default").reservation.id
    held = store.reservations.get(rid)
    assert held is not None
    clock.advance(held.expires_at - int(clock.now()))
    return held


def take_reserved(store: Store, sku: str, quantity: int) -> None:
    """What the stream function does for a deleted line: the record gives its units back."""
    store.client.update_item(
        TableName=store.name,
        Key=stock_key(sku, "WH1"),
        UpdateExpression="SET reserved = reserved - :q, available = available + :q",
        ExpressionAttributeValues={":q": n(quantity)},
    )


def test_a_record_holding_less_than_the_lines_is_refused_as_drift(
    service: ReservationService, store: Store, clock: ManualClock
) -> None:
    before = due_hold(service, store, clock)
    take_reserved(store, "A", 2)  # drift: the line still holds 2, the record none
    with pytest.raises(CountersDisagree):
        store.reservations.save_transition(
            before, expire(before, int(clock.now()), RETENTION), token="t1"
        )


def test_a_line_deleted_and_settled_under_the_write_is_a_change_not_drift(
    service: ReservationService, store: Store, clock: ManualClock
) -> None:
    before = due_hold(service, store, clock)
    store.client.delete_item(TableName=store.name, Key=line_key(before.id, "A", "WH1"))
    take_reserved(store, "A", 2)
    with pytest.raises(ReservationChanged):
        store.reservations.save_transition(
            before, expire(before, int(clock.now()), RETENTION), token="t2"
        )
    # The next read sees a hold being purged: the sweep leaves it to the stream.
    report = service.sweep()
    assert (report.due, report.expired, report.skipped) == (1, [], 1)
