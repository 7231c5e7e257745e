"""Reserves on a sharded stock record through the service (moto; docs/sharded-stock.md):
lines spread over the buckets, a short bucket sends a line to another, units are moved
into one bucket when none has enough, and a line is refused only when the total is short,
with the total as its availability."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.errors import InsufficientStock
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from tests.conftest import make_service
from tests.support.invariants import check_invariants

NOW = 1_800_000_000


@pytest.fixture
def sharded(moto_client: Any, moto_table: str) -> Store:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 8, NOW)
    store.shards.reshard("A", "WH1", 4, NOW)  # 2 units in each bucket
    return store


@pytest.fixture
def service(moto_client: Any, moto_table: str) -> ReservationService:
    return make_service(moto_client, moto_table, ManualClock(NOW), RetryPolicy(base_delay=0))


def reserve(service: ReservationService, rid: str, quantity: int) -> None:
    service.reserve(ReserveRequest((ReserveLine("A", "WH1", quantity),), id=rid), "web")


def test_every_unit_is_granted_over_the_buckets_and_no_more(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    for number in range(8):
        reserve(service, f"r{number}", 1)
    seen = sharded.shards.snapshot("A", "WH1")
    assert (seen.available, seen.reserved) == (0, 8)
    assert [b.reserved for b in seen.buckets] == [2, 2, 2, 2]
    with pytest.raises(InsufficientStock) as refused:
        reserve(service, "r8", 1)
    assert [(i.requested, i.available) for i in refused.value.items] == [(1, 0)]
    check_invariants(moto_client, moto_table)


def test_a_line_no_bucket_covers_is_granted_after_a_move(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "big", 5)
    seen = sharded.shards.snapshot("A", "WH1")
    assert (seen.available, seen.reserved) == (3, 5)
    assert sorted(b.reserved for b in seen.buckets) == [0, 0, 0, 5]
    check_invariants(moto_client, moto_table)


def test_a_line_over_the_total_is_refused_with_the_total(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "r1", 3)
    with pytest.raises(InsufficientStock) as refused:
        reserve(service, "r2", 6)
    assert [(i.requested, i.available) for i in refused.value.items] == [(6, 5)]
    assert sharded.shards.snapshot("A", "WH1").available == 5
    check_invariants(moto_client, moto_table)


def test_units_released_into_a_closed_bucket_are_reserved_again(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    for number in range(8):
        reserve(service, f"r{number}", 1)
    sharded.shards.reshard("A", "WH1", 1, NOW)  # buckets 1-3 close, holding their holds
    for number in range(8):
        service.cancel(f"r{number}", "web")
    seen = sharded.shards.snapshot("A", "WH1")
    assert seen.available == 8 and seen.buckets[0].available == 2  # 6 sit in closed buckets
    reserve(service, "all", 8)
    seen = sharded.shards.snapshot("A", "WH1")
    assert (seen.available, seen.reserved) == (0, 8)
    assert seen.buckets[0].reserved == 8
    check_invariants(moto_client, moto_table)
