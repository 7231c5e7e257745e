"""Faults real DynamoDB produces and DynamoDB Local never does, injected with botocore hooks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from reservations.commands import ReserveRequest
from reservations.errors import Contention
from reservations.http.models import CreateReservationRequest
from reservations.records import Status
from tests.support.arena import Arena

EVENT = "dynamodb.TransactWriteItems"
RECORD = ("HOT", "WH1")  # the one stock record of these tests


def request(quantity: int, **extra: Any) -> ReserveRequest:
    sku, location = RECORD
    return CreateReservationRequest.model_validate(
        {"items": [{"sku": sku, "location": location, "quantity": quantity}], **extra}
    ).to_command()


class Faults:
    """Counts TransactWriteItems calls and sends the first few to a fault."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[dict[str, Any]] = []
        self.conflicts = 0
        self.lost_responses = 0

    def before(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(params)
        if self.conflicts:
            self.conflicts -= 1
            reasons = [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                for _ in params["TransactItems"]
            ]
            raise ClientError(
                {
                    "Error": {
                        "Code": "TransactionCanceledException",
                        "Message": "Transaction cancelled",
                    },
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )

    def after(self, **_: Any) -> None:
        # The engine committed; the caller never hears about it.
        if self.lost_responses:
            self.lost_responses -= 1
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1")


@pytest.fixture
def arena(arena: Arena) -> Arena:
    """Every test here starts with 10 on its one record."""
    arena.service.set_on_hand(*RECORD, 10)
    return arena


@pytest.fixture
def faults(arena: Arena) -> Iterator[Faults]:
    injected = Faults(arena.client)
    events = arena.client.meta.events
    events.register(f"before-parameter-build.{EVENT}", injected.before)
    events.register(f"after-call.{EVENT}", injected.after)
    yield injected
    events.unregister(f"before-parameter-build.{EVENT}", injected.before)
    events.unregister(f"after-call.{EVENT}", injected.after)


def test_reserve_retries_conflicts_and_holds_once(arena: Arena, faults: Faults) -> None:
    faults.conflicts = 3
    result = arena.service.reserve(request(2), "default")
    assert result.created
    assert len(faults.calls) == 4
    # A conflicted transaction was never applied, so each retry uses a fresh token.
    assert len({call["ClientRequestToken"] for call in faults.calls}) == 4
    assert arena.level(*RECORD) == (10, 2, 8)
    arena.check_invariants()


def test_reserve_gives_up_after_bounded_conflicts_and_holds_nothing(
    arena: Arena, faults: Faults
) -> None:
    faults.conflicts = 1000
    with pytest.raises(Contention):
        arena.service.reserve(request(2), "default")
    assert len(faults.calls) == 8  # the fast_retries policy's bound
    assert arena.level(*RECORD) == (10, 0, 10)
    arena.check_invariants()


def test_reserve_committed_but_response_lost_is_not_held_twice(
    arena: Arena, faults: Faults
) -> None:
    faults.lost_responses = 1
    result = arena.service.reserve(request(3), "default")
    # The retry recognises its own committed write: still "created", held exactly once.
    assert result.created
    assert len(faults.calls) == 2
    assert faults.calls[0]["ClientRequestToken"] == faults.calls[1]["ClientRequestToken"]
    assert arena.level(*RECORD) == (10, 3, 7)
    arena.check_invariants()


def test_lost_response_of_an_idempotent_id_replays_without_a_second_hold(
    arena: Arena, faults: Faults
) -> None:
    faults.lost_responses = 2
    first = arena.service.reserve(request(3, id="checkout-1"), "default")
    replay = arena.service.reserve(request(3, id="checkout-1"), "default")
    assert first.created
    assert not replay.created
    assert arena.level(*RECORD) == (10, 3, 7)
    arena.check_invariants()


def test_cancel_committed_but_response_lost_releases_once(arena: Arena, faults: Faults) -> None:
    reservation = arena.service.reserve(request(4), "default").reservation
    faults.lost_responses = 1
    cancelled = arena.service.cancel(reservation.id)
    assert cancelled.status is Status.CANCELLED
    assert arena.level(*RECORD) == (10, 0, 10)
    arena.check_invariants()


def test_cancel_retries_conflicts(arena: Arena, faults: Faults) -> None:
    reservation = arena.service.reserve(request(4), "default").reservation
    faults.conflicts = 2
    assert arena.service.cancel(reservation.id).status is Status.CANCELLED
    assert arena.level(*RECORD) == (10, 0, 10)
    arena.check_invariants()
