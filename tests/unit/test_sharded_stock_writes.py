"""Stock writes on a sharded record (moto; docs/architecture.md, "Sharded stock"): a count
moves available by a delta, never to onHand - reserved (reserved is spread over the
buckets); what it takes comes out of the record itself, after units are gathered into it;
and a count below what is held leaves the record in debt with every bucket closed."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.erp import ErpService
from reservations.errors import Contention, InsufficientStock
from reservations.service import ReservationService
from reservations.store import CountersDisagree, Store
from reservations.store.keys import n, shard_key
from reservations.store.retry import RetryPolicy
from reservations.store.shards import ShardStore
from tests.conftest import make_erp_service, make_service
from tests.support.erp import adjust, offset, stock_set
from tests.support.invariants import check_invariants
from tests.support.sharding import SHARDED_AT as NOW
from tests.support.sharding import busy_snapshots, reserve, stamps


@pytest.fixture
def service(moto_client: Any, moto_table: str) -> ReservationService:
    return make_service(moto_client, moto_table, ManualClock(NOW), RetryPolicy(base_delay=0))


@pytest.fixture
def erp(moto_client: Any, moto_table: str) -> ErpService:
    return make_erp_service(moto_client, moto_table, ManualClock(NOW), RetryPolicy(base_delay=0))


def test_a_higher_count_adds_to_the_total(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "r1", 2)
    level = service.set_on_hand("A", "WH1", 12)
    assert (level.on_hand, level.reserved, level.available, level.shards) == (12, 2, 10, 4)
    seen = sharded.shards.snapshot("A", "WH1")
    # The 4 units it added are spread: the buckets hold 10 between them, evenly.
    assert seen.available == 10 and sorted(b.available for b in seen.buckets) == [2, 2, 3, 3]
    check_invariants(moto_client, moto_table)


def test_units_an_erp_adjustment_adds_are_spread(
    sharded: Store, service: ReservationService, erp: ErpService
) -> None:
    erp._stock.get_level("A", "WH1")  # the ERP's environment has seen it sharded
    erp.apply(adjust("more", 8))
    seen = sharded.shards.snapshot("A", "WH1")
    assert [b.available for b in seen.buckets] == [4, 4, 4, 4]


def test_a_lower_count_takes_units_gathered_from_the_buckets(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    level = service.set_on_hand("A", "WH1", 3)  # takes 5; the record has 2
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)
    seen = sharded.shards.snapshot("A", "WH1")
    assert seen.buckets[0].available >= 0 and not any(b.closed for b in seen.buckets)
    check_invariants(moto_client, moto_table)
    reserve(service, "r1", 3)
    check_invariants(moto_client, moto_table)


def test_a_count_below_what_is_held_closes_every_bucket_until_it_is_paid(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    for number in range(6):
        reserve(service, f"r{number}", 1)
    level = service.set_on_hand("A", "WH1", 3)
    assert (level.reserved, level.available) == (6, -3)
    seen = sharded.shards.snapshot("A", "WH1")
    assert seen.buckets[0].available == -3 and all(b.closed for b in seen.buckets[1:])
    check_invariants(moto_client, moto_table)  # invariant 4: debt only with buckets closed
    with pytest.raises(InsufficientStock):
        reserve(service, "more", 1)
    for number in range(6):  # released into their buckets, closed as they are
        service.cancel(f"r{number}", "web")
    check_invariants(moto_client, moto_table)
    reserve(service, "after", 3)  # the debt is paid: a move folds the buckets back
    assert sharded.shards.snapshot("A", "WH1").available == 0
    check_invariants(moto_client, moto_table)


def test_erp_messages_on_a_sharded_record(
    sharded: Store, erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "r1", 2)
    erp.apply(adjust("adj-1", -5))  # the record has 2 of the 6 available
    assert service.stock_level("A", "WH1").available == 1
    check_invariants(moto_client, moto_table)
    erp.apply(stock_set(10, sequence=1))
    level = service.stock_level("A", "WH1")
    assert (level.on_hand, level.reserved, level.available) == (10, 2, 8)
    check_invariants(moto_client, moto_table)
    erp.apply(adjust("adj-2", -9))  # 1 below what is held: debt, buckets closed
    assert service.stock_level("A", "WH1").available == -1
    check_invariants(moto_client, moto_table)


def test_units_added_are_spread_while_snapshots_at_one_instant_are_refused(
    sharded: Store, erp: ErpService, moto_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp._stock.get_level("A", "WH1")
    monkeypatch.setattr(moto_client, "transact_get_items", busy_snapshots)
    erp.apply(adjust("more", 8))
    monkeypatch.undo()
    assert [b.available for b in sharded.shards.snapshot("A", "WH1").buckets] == [4, 4, 4, 4]


def test_a_committed_write_stands_when_its_spread_cannot_read_the_buckets(
    sharded: Store, erp: ErpService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def contended(*_: Any, **__: Any) -> None:
        raise Contention("the buckets kept changing")

    erp._stock.get_level("A", "WH1")
    monkeypatch.setattr(ShardStore, "snapshot", contended)
    erp.apply(adjust("more", 8))  # answers: the adjustment is in
    monkeypatch.undo()
    seen = sharded.shards.snapshot("A", "WH1")
    assert (seen.available, [b.available for b in seen.buckets]) == (16, [10, 2, 2, 2])


def test_a_reshard_in_debt_keeps_the_record_and_every_bucket_closed(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    for number in range(6):
        reserve(service, f"r{number}", 1)
    service.set_on_hand("A", "WH1", 3)
    sharded.shards.reshard("A", "WH1", 2, NOW)
    seen = sharded.shards.snapshot("A", "WH1")
    assert seen.buckets[0].available == -3 and all(b.closed for b in seen.buckets)
    check_invariants(moto_client, moto_table)


def test_a_settlement_stamps_the_bucket_it_returns_units_to(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    for number in range(4):  # 2 of each bucket's 2: one hold on each
        reserve(service, f"r{number}", 2)
    later = make_service(moto_client, moto_table, ManualClock(NOW + 60), RetryPolicy(base_delay=0))
    for number in range(4):
        later.cancel(f"r{number}", "web")
    assert stamps(moto_client, moto_table) == [str(NOW + 60)] * 4
    assert [b.available for b in sharded.shards.snapshot("A", "WH1").buckets] == [2, 2, 2, 2]
    check_invariants(moto_client, moto_table)


def test_a_bucket_holding_less_than_its_line_is_refused_as_drift(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    for number in range(4):  # one hold on each bucket
        reserve(service, f"r{number}", 2)
    holds = [sharded.reservations.get(f"r{number}") for number in range(4)]
    held = next(h for h in holds if h is not None and h.lines[0].bucket)
    moto_client.update_item(  # drift: the line still holds 2, its bucket none
        TableName=moto_table,
        Key=shard_key("A", "WH1", held.lines[0].bucket),
        UpdateExpression="SET reserved = :zero",
        ExpressionAttributeValues={":zero": n(0)},
    )
    with pytest.raises(CountersDisagree):
        service.cancel(held.id, "web")


def test_goods_shipped_from_a_bucket_leave_the_record_one_version_on(
    sharded: Store, service: ReservationService, erp: ErpService
) -> None:
    for number in range(4):  # one hold on each bucket
        reserve(service, f"r{number}", 2)
    holds = [sharded.reservations.get(f"r{number}") for number in range(4)]
    held = next(h for h in holds if h is not None and h.lines[0].bucket)
    before = service.stock_level("A", "WH1")
    erp.apply(offset("shipped", 2, reservation_id=held.id))
    after = service.stock_level("A", "WH1")
    assert (after.on_hand, after.reserved, after.available) == (6, 6, 0)
    assert after.version == before.version + 1
