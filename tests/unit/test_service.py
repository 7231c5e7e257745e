from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.errors import IdempotencyConflict, InsufficientStock, InvalidRequest, NotFound
from reservations.http.models import CreateReservationRequest
from reservations.records import Status
from reservations.service import ReservationService
from reservations.store.keys import reservation_key


def request(*items: tuple[str, int], **extra: Any) -> ReserveRequest:
    return CreateReservationRequest.model_validate(
        {"items": [{"sku": s, "location": "WH1", "quantity": q} for s, q in items], **extra}
    ).to_command()


def test_expiry_defaults_to_fifteen_minutes(
    service: ReservationService, clock: ManualClock
) -> None:
    service.set_on_hand("A", "WH1", 5)
    reservation = service.reserve(request(("A", 1)), "default").reservation
    assert reservation.expires_at - reservation.created_at == 15 * 60
    assert reservation.created_at == int(clock.now())


def test_expiry_beyond_the_maximum_is_refused(service: ReservationService) -> None:
    service.set_on_hand("A", "WH1", 5)
    # The domain's own guard, whatever the transport validated before.
    too_long = ReserveRequest((ReserveLine("A", "WH1", 1),), expires_in_seconds=31 * 24 * 3600)
    with pytest.raises(InvalidRequest) as refused:
        service.reserve(too_long, "default")
    assert refused.value.field == "body.expiresInSeconds"
    assert service.inventory("A").reserved == 0


def test_record_carries_the_ttl_attribute_a_grace_period_after_expiry(
    service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    service.set_on_hand("A", "WH1", 5)
    reservation = service.reserve(request(("A", 1), expiresInSeconds=60), "default").reservation
    item = moto_client.get_item(TableName=moto_table, Key=reservation_key(reservation.id))["Item"]
    # Stock comes back through the sweeper; TTL may delete an unswept hold only after a
    # grace period (the stream function then settles it).
    assert int(item["purgeAt"]["N"]) == reservation.expires_at + 3600
    assert item["version"]["N"] == "1"
    assert item["fingerprint"]["S"] == reservation.fingerprint


def test_insufficient_stock_lists_every_short_line(service: ReservationService) -> None:
    service.set_on_hand("A", "WH1", 1)
    with pytest.raises(InsufficientStock) as short:
        service.reserve(request(("A", 2), ("B", 1)), "default")
    assert [(i.sku, i.requested, i.available) for i in short.value.items] == [
        ("A", 2, 1),
        ("B", 1, 0),
    ]


def test_idempotency_is_by_id_and_fingerprint(service: ReservationService) -> None:
    service.set_on_hand("A", "WH1", 5)
    first = service.reserve(request(("A", 1), id="c1"), "default")
    again = service.reserve(request(("A", 1), id="c1"), "default")
    assert first.created and not again.created
    assert again.reservation == first.reservation
    with pytest.raises(IdempotencyConflict):
        service.reserve(request(("A", 2), id="c1"), "default")
    with pytest.raises(IdempotencyConflict):
        service.reserve(request(("A", 1), id="c1"), "call-centre")


def test_fingerprint_ignores_nothing_that_changes_meaning() -> None:
    base = request(("A", 1), id="c1").fingerprint("x")
    assert base == request(("A", 1), id="c1").fingerprint("x")
    assert base != request(("A", 1), id="c1").fingerprint("y")
    assert base != request(("A", 1), id="c1", orderId="o1").fingerprint("x")
    assert base != request(("A", 1), id="c1", expiresInSeconds=60).fingerprint("x")
    assert base != request(("A", 1), ("B", 1), id="c1").fingerprint("x")
    assert base != request(("A", 2), id="c1").fingerprint("x")


def test_fingerprint_is_the_one_holds_were_stored_with() -> None:
    """Holds placed before the service took domain requests, or before the fields of
    issue 14, keep replaying: a request that does not use those fields has the canonical
    JSON of the API body as it was then (written out here), with the channel."""
    body = {
        "id": "c1",
        "orderId": "o1",
        "items": [{"sku": "A", "location": "WH1", "quantity": 2, "allowOversell": True}],
        "expiresInSeconds": 60,
    }
    model = CreateReservationRequest.model_validate(body)
    canonical = json.dumps({"channel": "x", **body}, sort_keys=True, separators=(",", ":"))
    assert model.to_command().fingerprint("x") == hashlib.sha256(canonical.encode()).hexdigest()
    # Sending a new field at its default is the same request.
    same = CreateReservationRequest.model_validate({**body, "allowSplit": False})
    assert same.to_command().fingerprint("x") == model.to_command().fingerprint("x")


def test_fingerprint_covers_the_fields_of_allocation_as_sent() -> None:
    ship = {"address": {"country": "FR", "postalCode": "75001"}, "name": "Camille"}
    body = {"id": "c1", "items": [{"sku": "A", "quantity": 1}], "shipTo": ship}
    base = CreateReservationRequest.model_validate(body).to_command().fingerprint("x")

    def variant(**changes: Any) -> str:
        model = CreateReservationRequest.model_validate({**body, **changes})
        return model.to_command().fingerprint("x")

    # What is not stored does not make another request: a name, a street.
    assert variant(shipTo={**ship, "name": "Dominique"}) == base
    assert variant(shipTo={"address": {**ship["address"], "line1": "1 rue"}}) == base
    assert variant(shipTo={"address": {"country": "BE", "postalCode": "75001"}}) != base
    assert variant(shipTo={"address": {"country": "FR", "postalCode": "75002"}}) != base
    assert variant(shipTo={"address": {**ship["address"], "state": "IDF"}}) != base
    assert variant(allowSplit=True) != base
    assert variant(shippingChoice={"amount": 4.95}) != base
    assert variant(shipTo=None, pickupAt="SHOP") != base
    assert variant(items=[{"sku": "A", "site": "S1", "quantity": 1}]) != base


def test_cancel_unknown(service: ReservationService) -> None:
    with pytest.raises(NotFound):
        service.cancel("missing")


def test_cancel_is_idempotent(service: ReservationService, clock: ManualClock) -> None:
    service.set_on_hand("A", "WH1", 5)
    reservation = service.reserve(request(("A", 2)), "default").reservation
    clock.advance(10)
    cancelled = service.cancel(reservation.id)
    assert cancelled.status is Status.CANCELLED
    assert cancelled.version == 2
    assert service.cancel(reservation.id) == service.get(reservation.id)
    level = service.inventory("A").locations[0]
    assert (level.reserved, level.available) == (0, 5)


def test_inventory_of_unknown_sku(service: ReservationService) -> None:
    with pytest.raises(NotFound):
        service.inventory("NOPE")


def test_sweep_takes_batches_until_nothing_is_due_or_time_is_up(
    moto_client: Any, moto_table: str, clock: ManualClock
) -> None:
    from reservations.config import Settings
    from reservations.store import Store

    settings = Settings(table_name=moto_table, sweep_batch_limit=3, sweep_concurrency=1)
    sweeper = ReservationService(Store(moto_client, moto_table), clock, settings)
    sweeper.set_on_hand("A", "WH1", 20)
    for _ in range(7):
        sweeper.reserve(request(("A", 1), expiresInSeconds=60), "default")
    clock.advance(61)
    # Out of time from the start: still one batch, so every run makes progress.
    hurried = sweeper.sweep(out_of_time=lambda: True)
    assert (hurried.due, len(hurried.expired)) == (3, 3)
    rest = sweeper.sweep()
    assert (rest.due, len(rest.expired), rest.skipped) == (4, 4, 0)
    assert sweeper.inventory("A").reserved == 0


def test_a_refusal_behind_live_holds_does_not_try_again(
    service: ReservationService, moto_client: Any, clock: ManualClock
) -> None:
    service.set_on_hand("A", "WH1", 3)
    service.reserve(request(("A", 3)), "web")  # live: every unit is rightly held
    sent: list[str] = []
    moto_client.meta.events.register(
        "before-send.dynamodb", lambda event_name, **_: sent.append(event_name.rsplit(".")[-1])
    )
    with pytest.raises(InsufficientStock):
        service.reserve(request(("A", 1)), "web")
    assert sent == ["TransactWriteItems", "Query"]  # the refusal, the look for due holds
    sent.clear()
    clock.advance(16 * 60)  # now the hold is due: it is expired and the reserve goes through
    service.reserve(request(("A", 1)), "web")
    assert sent.count("TransactWriteItems") == 3  # refused, the expiry, the retry
