"""Cart updates racing reserves for the last units on DynamoDB Local, plainly and through the
contention-faithful proxy: no oversell, and ``reserved`` stays what the live holds hold (the
drift check)."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from reservations.commands import CartChange, CartLine, ReserveLine, ReserveRequest
from reservations.errors import InsufficientStock
from reservations.records import Reservation
from reservations.service import ReservationService
from tests.support.invariants import check_invariants
from tests.support.race import persist, race

STOCK = {"A": 12, "B": 6}
CARTS = 8  # holds whose carts change
NEWCOMERS = 16  # reserves racing them


def level(service: ReservationService, sku: str) -> tuple[int, int, int]:
    found = service.inventory(sku).locations[0]
    return found.on_hand, found.reserved, found.available


def newcomer(number: int) -> ReserveRequest:
    return ReserveRequest((ReserveLine("A", "WH1", 1),), id=f"newcomer-{number}")


@pytest.mark.parametrize("seed", [1, 2])
def test_cart_updates_and_reserves_on_the_last_units_never_oversell(
    racing: ReservationService, local_client: Any, local_table: str, seed: int
) -> None:
    service = racing
    rng = random.Random(seed)
    for sku, on_hand in STOCK.items():
        service.set_on_hand(sku, "WH1", on_hand)
    ids = [
        service.reserve(ReserveRequest((ReserveLine("A", "WH1", 1),)), "web").reservation.id
        for _ in range(CARTS)
    ]
    before = {rid: service.get(rid) for rid in ids}
    # Each cart wants more of A and some of B: together far more than there is.
    changes = {
        rid: CartChange(
            (CartLine("A", "WH1", rng.randint(1, 4)), CartLine("B", "WH1", rng.randint(0, 2) or 1))
        )
        for rid in ids
    }
    # A client retries a 503 (CONTENTION): a cart's change and a newcomer's reserve, under
    # its own id, are each safe to repeat.
    tasks: list[Callable[[], object]] = [
        partial(persist, partial(service.change_items, rid, changes[rid]), rid) for rid in ids
    ]
    tasks += [
        partial(persist, partial(service.reserve, newcomer(number), "web"), number)
        for number in range(NEWCOMERS)
    ]
    rng.shuffle(tasks)

    outcomes = race(*tasks)

    unexpected = [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, InsufficientStock)
    ]
    assert unexpected == []
    for rid in ids:
        now = service.get(rid)
        asked = {(x.sku, x.location): x.quantity for x in changes[rid].lines}
        if all(line.held == asked.get((line.sku, line.location), 0) for line in now.lines):
            continue  # it followed its cart, all of it
        assert now.lines == before[rid].lines, f"{rid} changed only in part: {now.lines}"
    report = check_invariants(local_client, local_table)
    for sku, on_hand in STOCK.items():
        held = report.held.get((sku, "WH1"), 0)
        assert held <= on_hand, f"{sku} oversold: {held} held of {on_hand}"
        assert level(service, sku) == (on_hand, held, on_hand - held)
    changed = [o for o in outcomes if isinstance(o, Reservation)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert changed and refused, "the race ran without contention"
