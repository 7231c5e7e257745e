"""One table on DynamoDB Local and what the race tests use on it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from reservations.clock import ManualClock
from reservations.config import Settings
from reservations.drift import DriftReport
from reservations.records import Reservation
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from tests.conftest import fresh_table
from tests.support.invariants import check_invariants
from tests.support.stream_events import item_keys, line_keys, ttl_delete


@dataclass
class Arena:
    """A table with its client, the retry policy, and a service on the test's clock (which
    the test may advance). ``rng``, seeded by the ``round`` of a race, is where the test
    draws its random choices from."""

    client: Any
    table: str
    clock: ManualClock
    retry: RetryPolicy
    round: int = 0
    service: ReservationService = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.service = self._service(self.clock, Store(self.client, self.table))
        self.rng = random.Random(self.round)

    @contextmanager
    def new_round(self, round_: int) -> Iterator[Self]:
        """An arena like this one for one round of a race: a new table (deleted once the
        round passes), a clock at this one's time, ``rng`` seeded by ``round_``. A failure
        says which round it was."""
        for table in fresh_table(self.client):
            try:
                yield type(self)(self.client, table, ManualClock(self.now), self.retry, round_)
            except BaseException as error:
                error.add_note(f"in round {round_} of the race")
                raise

    @property
    def now(self) -> float:
        return self.clock.now()

    def service_at(self, now: float, store: Store | None = None) -> ReservationService:
        """Another service on this table, with a clock of its own stopped at ``now`` (and on
        ``store``, a test double, if given)."""
        return self._service(ManualClock(now), store or Store(self.client, self.table))

    def _service(self, clock: ManualClock, store: Store) -> ReservationService:
        return ReservationService(store, clock, Settings(table_name=self.table), self.retry)

    def get(self, reservation_id: str) -> Reservation:
        return self.service.get(reservation_id)

    def level(self, sku: str, location: str) -> tuple[int, int, int]:
        """(onHand, reserved, available) of a stock record."""
        found = next(x for x in self.service.inventory(sku).locations if x.location == location)
        return found.on_hand, found.reserved, found.available

    def check_invariants(self) -> DriftReport:
        return check_invariants(self.client, self.table)

    # --- TTL, as DynamoDB deletes expired items --------------------------------------------

    def item_keys(self, reservation_id: str) -> list[dict[str, Any]]:
        return item_keys(self.client, self.table, reservation_id)

    def line_keys(self, reservation_id: str) -> list[dict[str, Any]]:
        return line_keys(self.client, self.table, reservation_id)

    def ttl_delete(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """Delete one item as TTL would: its stream record, or None if it was gone."""
        return ttl_delete(self.client, self.table, key)
