"""Reserves that meet due holds on DynamoDB Local: what a due hold held is sold, once.

A reserve short only because of due holds expires them and succeeds, also when the sweeper
frees the stock first. Reserves racing for the stock of due holds run plainly and through
the contention-faithful proxy (``racing``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from reservations.errors import InsufficientStock
from reservations.records import Status
from reservations.service import ReservationService, SweepReport
from reservations.store import Store
from reservations.store.reservations import ReservationStore
from tests.support.cart_arena import CartArena, released_everything, request
from tests.support.race import persist, race

# --- reserves that meet due holds -------------------------------------------------------


def test_a_reserve_short_only_because_of_due_holds_succeeds(arena: CartArena) -> None:
    service = arena.service
    service.set_on_hand("A", "WH1", 4)
    service.set_on_hand("B", "WH1", 5)
    due = service.reserve(request((("A", "WH1", 3),), expiresInSeconds=60), "web").reservation
    confirmed = service.reserve(request((("A", "WH1", 1),)), "web").reservation
    service.confirm(confirmed.id)
    elsewhere = service.reserve(request((("B", "WH1", 2),), expiresInSeconds=30), "web").reservation
    arena.clock.advance(60)
    assert arena.level("A", "WH1") == (4, 4, 0)  # nothing swept yet

    result = service.reserve(request((("A", "WH1", 3),)), "web")

    assert result.created
    assert arena.get(due.id).status is Status.EXPIRED
    assert released_everything(arena.get(due.id))
    assert arena.get(confirmed.id).status is Status.CONFIRMED
    # Only holds on the short record are expired on the way; the sweeper gets the others.
    assert arena.get(elsewhere.id).status is Status.ACTIVE
    assert arena.level("A", "WH1") == (4, 4, 0)
    with pytest.raises(InsufficientStock) as short:
        service.reserve(request((("A", "WH1", 1),)), "web")
    assert [(i.sku, i.requested, i.available) for i in short.value.items] == [("A", 1, 0)]
    arena.check_invariants()


def reserves_meeting_due_holds(arena: CartArena, with_sweeper: bool) -> tuple[list[str], list[Any]]:
    """Five due holds of 2 on a record of 10 (nothing else free); eight carts of 2 race for
    them, with or without the sweeper: what the due holds held is all there is to sell."""
    service = arena.service
    service.set_on_hand("A", "WH1", 10)
    old = [
        service.reserve(request((("A", "WH1", 2),), expiresInSeconds=60), "web").reservation.id
        for _ in range(5)
    ]
    arena.clock.advance(60)
    # A client retries a 503 (CONTENTION, through the proxy) under its cart's own id.
    tasks: list[Callable[[], Any]] = [
        partial(
            persist, partial(service.reserve, request((("A", "WH1", 2),), id=f"c{n}"), "web"), n
        )
        for n in range(8)
    ]
    if with_sweeper:
        tasks.append(partial(persist, service.sweep, "the sweep"))
    outcomes = race(*tasks)
    if with_sweeper:
        assert isinstance(outcomes[8], SweepReport), outcomes[8]
    reserves = outcomes[:8]
    unexpected = [
        o for o in reserves if isinstance(o, Exception) and not isinstance(o, InsufficientStock)
    ]
    assert unexpected == []
    return old, reserves


@pytest.mark.parametrize("with_sweeper", [False, True], ids=["reserves", "reserves+sweeper"])
def test_concurrent_reserves_expire_each_due_hold_once(
    racing_arena: CartArena, with_sweeper: bool
) -> None:
    arena = racing_arena
    old, reserves = reserves_meeting_due_holds(arena, with_sweeper)

    for rid in old:
        stored = arena.get(rid)
        assert stored.status is Status.EXPIRED and released_everything(stored)
    granted = [o for o in reserves if not isinstance(o, Exception)]
    assert 1 <= len(granted) <= 5
    # What the expiries gave back once went to the granted carts, nothing more.
    assert arena.level("A", "WH1") == (10, 2 * len(granted), 10 - 2 * len(granted))
    arena.check_invariants()


@pytest.mark.parametrize("with_sweeper", [False, True], ids=["reserves", "reserves+sweeper"])
def test_concurrent_reserves_sell_all_the_stock_of_due_holds(
    racing_arena: CartArena, with_sweeper: bool
) -> None:
    """Whoever expires a due hold (the refused reserve, another one or the sweeper), a
    refused reserve tries again: all the due holds held is sold, none of it refused."""
    arena = racing_arena
    _, reserves = reserves_meeting_due_holds(arena, with_sweeper)

    granted = [o for o in reserves if not isinstance(o, Exception)]
    assert len(granted) == 5, f"{len(granted)} of 8 granted; stock {arena.level('A', 'WH1')}"
    assert arena.level("A", "WH1") == (10, 10, 0)
    arena.check_invariants()


class SweptMeanwhile(ReservationStore):
    """A sweep that finishes between a reserve's refusal and its look for due holds."""

    def __init__(self, store: Store, sweeper: ReservationService) -> None:
        super().__init__(store.client, store.name, store.stock, store.receipts, store.labels)
        self.sweeper = sweeper

    def holds_on_sku(self, sku: str, location: str | None = None) -> list[Any]:
        self.sweeper.sweep()
        return super().holds_on_sku(sku, location)


def test_a_reserve_refused_while_the_sweeper_frees_its_stock(arena: CartArena) -> None:
    """The sweeper expires the due hold between a reserve's refusal and its look for due
    holds, so the reserve finds none; it must still see that stock came back and try again
    (deterministic)."""
    service = arena.service
    service.set_on_hand("A", "WH1", 3)
    due = service.reserve(request((("A", "WH1", 3),), expiresInSeconds=60), "web").reservation
    arena.clock.advance(60)
    store = Store(arena.client, arena.table)
    store.reservations = SweptMeanwhile(store, service)
    api = arena.service_at(arena.now, store)

    outcome: Any
    try:
        outcome = api.reserve(request((("A", "WH1", 3),)), "web")
    except InsufficientStock as refused:
        outcome = refused

    assert arena.get(due.id).status is Status.EXPIRED
    arena.check_invariants()
    assert not isinstance(outcome, InsufficientStock), (
        f"refused with {arena.level('A', 'WH1')} (onHand, reserved, available) on the record"
    )
    assert arena.level("A", "WH1") == (3, 3, 0)
