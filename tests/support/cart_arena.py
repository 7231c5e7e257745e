"""The arena of the lifecycle races on DynamoDB Local: every hold is of one cart.

Two services share a table with their own clocks: the API's a second before the holds
expire (so a confirm or an extend is still allowed when computed) and the sweeper's at the
expiry (so the same holds are due); ``CartArena.racers`` gives both, the sweeper's store
telling the test when it lists the due holds and when it begins writing their expiries.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest

import stream_function
from reservations.commands import ReserveRequest
from reservations.http.models import CreateReservationRequest
from reservations.records import Reservation
from reservations.service import ReservationService, SweepReport
from reservations.store import Store
from reservations.store.reservations import ReservationStore
from tests.support.arena import Arena

ROUNDS = range(8)
HOLDS = 4
EXPIRES_IN = 60
GRACE = 3600  # Settings.expiry_grace_seconds: TTL may delete an unswept hold after this
STOCK = 50
# API calls that wait for a moment of the sweep start up to this many seconds after it.
JITTER = 0.06
# Every hold of these races: two lines on two stock records.
CART = (("A", "WH1", 2), ("B", "WH2", 1))
RECORDS = [(sku, location) for sku, location, _ in CART]


def request(items: tuple[tuple[str, str, int], ...] = CART, **extra: Any) -> ReserveRequest:
    return CreateReservationRequest.model_validate(
        {
            "items": [{"sku": s, "location": loc, "quantity": q} for s, loc, q in items],
            **extra,
        }
    ).to_command()


def holds_everything(reservation: Reservation) -> bool:
    return all(
        x.held == x.quantity and not x.released and not x.consumed for x in reservation.lines
    )


def released_everything(reservation: Reservation) -> bool:
    return all(x.held == 0 and x.released == x.quantity for x in reservation.lines)


class Sweeping(ReservationStore):
    """Reservations as the sweeper reads and writes them, telling the test when it has
    listed the due holds and when it begins writing their expiries."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.client, store.name, store.stock, store.receipts, store.labels)
        self.listed = threading.Event()
        self.expiring = threading.Event()

    def due_ids(self, now: int, limit: int | None = None) -> list[str]:
        found = super().due_ids(now, limit)
        self.listed.set()
        return found

    def save_transition(self, before: Reservation, after: Reservation, **kwargs: Any) -> None:
        self.expiring.set()
        super().save_transition(before, after, **kwargs)


@dataclass
class Racers:
    api: ReservationService  # a second before the holds' expiry
    sweeper: ReservationService  # at their expiry, on the Sweeping store
    sweeping: Sweeping
    rng: random.Random

    def sweep(self) -> SweepReport:
        try:
            return self.sweeper.sweep()
        finally:  # no staggered call waits for a moment that will not come
            self.sweeping.listed.set()
            self.sweeping.expiring.set()

    def staggered(self, calls: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
        """Each call at one of three moments, dealt in turn and shuffled so that every
        round has each: with the race, before the sweep can have read its hold (the API
        call should win); up to JITTER after the sweep listed the due holds, while it reads
        and expires them (either may win); up to JITTER after the sweep began writing
        expiries (the sweep should win). Moments of the sweep, not fixed delays: how long
        a sweep takes depends on the machine's load."""
        moments = [None, self.sweeping.listed, self.sweeping.expiring]
        dealt = [moments[index % len(moments)] for index in range(len(calls))]
        self.rng.shuffle(dealt)
        return [self._at(moment, call) for moment, call in zip(dealt, calls, strict=True)]

    def _at(self, moment: threading.Event | None, call: Callable[[], Any]) -> Callable[[], Any]:
        delay = self.rng.uniform(0, JITTER)

        def run() -> Any:
            if moment is not None:
                assert moment.wait(timeout=30)
                time.sleep(delay)
            return call()

        return run


class CartArena(Arena):
    """The arena of these races: every hold is of CART, on stock records of STOCK."""

    def stock(self, on_hand: int = STOCK) -> None:
        for sku, location in RECORDS:
            self.service.set_on_hand(sku, location, on_hand)

    def hold(self, expires_in: int = EXPIRES_IN) -> str:
        return self.service.reserve(request(expiresInSeconds=expires_in), "web").reservation.id

    def holds(self, count: int, expires_in: int = EXPIRES_IN) -> list[str]:
        return [self.hold(expires_in) for _ in range(count)]

    def assert_reserved(self, holds: int, on_hand: int = STOCK) -> None:
        """Stock records show exactly ``holds`` of CART held, with available = onHand - reserved."""
        for sku, location, quantity in CART:
            reserved = holds * quantity
            assert self.level(sku, location) == (on_hand, reserved, on_hand - reserved), sku

    def racers(self) -> Racers:
        """The API and the sweeper, for holds placed now with the default expiry."""
        store = Store(self.client, self.table)
        sweeping = store.reservations = Sweeping(store)
        api = self.service_at(self.now + EXPIRES_IN - 1)
        sweeper = self.service_at(self.now + EXPIRES_IN, store)
        return Racers(api, sweeper, sweeping, self.rng)

    def wire_stream_function(self, monkeypatch: pytest.MonkeyPatch) -> ReservationService:
        """The stream function's handler, wired to this table (its clock is far in the
        future: the backstop's own time plays no part in what it gives back)."""
        backstop = self.service_at(2_000_000_000.0)
        monkeypatch.setattr(stream_function, "service", backstop)
        return backstop


Rounds = Callable[[int], AbstractContextManager[CartArena]]


def assert_both_won(wins: Counter[str], one: str, other: str) -> None:
    """Across the rounds each side won at least once: the race really went both ways."""
    assert wins[one] > 0 and wins[other] > 0, f"one side never won: {dict(wins)}"
