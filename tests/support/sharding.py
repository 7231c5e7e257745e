"""The sharded record the sharded-stock unit tests start from."""

from __future__ import annotations

from reservations.commands import ReserveLine, ReserveRequest
from reservations.service import ReservationService
from reservations.store import Store

SHARDED_AT = 1_800_000_000  # the clock of the tests that use it


def shard_a(store: Store) -> Store:
    """A at WH1: 8 units over 4 buckets, 2 in each (docs/architecture.md, "Sharded stock")."""
    store.stock.set_on_hand("A", "WH1", 8, SHARDED_AT)
    store.shards.reshard("A", "WH1", 4, SHARDED_AT)
    return store


def reserve(service: ReservationService, rid: str, quantity: int) -> None:
    """A hold of ``quantity`` of A at WH1."""
    service.reserve(ReserveRequest((ReserveLine("A", "WH1", quantity),), id=rid), "web")
