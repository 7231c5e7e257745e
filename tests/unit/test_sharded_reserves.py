"""Reserves on a sharded stock record through the service (moto; docs/architecture.md,
"Sharded stock"): lines spread over the buckets, a short bucket sends a line to another,
units are moved into one bucket when none has enough, and a line is refused only when the
total is short, with the total as its availability."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reservations.clock import ManualClock
from reservations.commands import CartChange, CartLine, ReserveLine, ReserveRequest
from reservations.errors import InsufficientStock
from reservations.records import Line
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.keys import shard_key
from reservations.store.retry import RetryPolicy
from reservations.store.transact import WriteConflict
from tests.conftest import make_service
from tests.support.invariants import check_invariants
from tests.support.sharding import SHARDED_AT as NOW
from tests.support.sharding import reserve


@pytest.fixture
def service(moto_client: Any, moto_table: str) -> ReservationService:
    return make_service(moto_client, moto_table, ManualClock(NOW), RetryPolicy(base_delay=0))


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


def test_a_conflict_on_a_bucket_sends_the_next_attempt_to_another(
    sharded: Store, service: ReservationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    reserve(service, "learn", 3)  # refused by the record (2): the buckets are known now
    store = service._store  # the service's own store, to watch its writes
    create = store.reservations.create
    buckets: list[int] = []

    def busy_once(reservation: Any, **kwargs: Any) -> None:
        buckets.append(reservation.lines[0].bucket)
        if len(buckets) == 1:
            raise WriteConflict("TransactionConflict")
        create(reservation, **kwargs)

    monkeypatch.setattr(store.reservations, "create", busy_once)
    reserve(service, "r1", 1)
    assert buckets[1] != buckets[0]  # the busy bucket is not tried again at once
    held = service.get("r1").lines[0]
    assert held.bucket == buckets[-1] and held.held == 1


def test_an_environment_stays_on_its_bucket_until_it_conflicts(
    moto_client: Any, moto_table: str, service: ReservationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 400, NOW)
    store.shards.reshard("A", "WH1", 16, NOW)  # 25 units in each bucket
    with pytest.raises(InsufficientStock):  # the buckets are known after this
        reserve(service, "learn", 401)
    mine = service._store
    create = mine.reservations.create
    buckets: list[int] = []

    def conflict_on_the_fifth(reservation: Any, **kwargs: Any) -> None:
        buckets.append(reservation.lines[0].bucket)
        if len(buckets) == 5:
            raise WriteConflict("TransactionConflict")
        create(reservation, **kwargs)

    monkeypatch.setattr(mine.reservations, "create", conflict_on_the_fifth)
    for number in range(8):
        reserve(service, f"r{number}", 1)
    # Four lines on one bucket (a fresh draw each would repeat one with odds 1 in 4,096),
    # then a conflict moves the environment to another, where it stays.
    assert len(set(buckets[:5])) == 1, buckets
    assert buckets[5] != buckets[4] and len(set(buckets[5:])) == 1, buckets


def test_an_oversell_line_on_a_sharded_record_takes_only_what_is_there(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    line = ReserveLine("A", "WH1", 5, allow_oversell=True)
    service.reserve(ReserveRequest((line,), id="o1"), "web")  # no bucket has 5: a move
    with pytest.raises(InsufficientStock) as refused:
        service.reserve(ReserveRequest((ReserveLine("A", "WH1", 4, True),), id="o2"), "web")
    assert [i.available for i in refused.value.items] == [3]
    seen = sharded.shards.snapshot("A", "WH1")
    assert seen.buckets[0].available >= 0 and seen.available == 3
    check_invariants(moto_client, moto_table)


def test_a_line_that_grows_takes_more_from_its_own_bucket(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "learn", 3)  # refused by the record (2), then placed: buckets known
    reserve(service, "cart", 1)
    bucket = service.get("cart").lines[0].bucket
    service.change_items("cart", CartChange((CartLine("A", "WH1", 4),)), "web")
    line = service.get("cart").lines[0]
    assert (line.bucket, line.held) == (bucket, 4)
    assert sharded.shards.snapshot("A", "WH1").buckets[bucket].reserved == 4
    check_invariants(moto_client, moto_table)


def test_a_conflict_on_a_record_not_known_sharded_reads_it_once(
    sharded: Store, service: ReservationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = service._store  # the service's own store, to watch its writes
    create = store.reservations.create
    placed: list[tuple[int, bool]] = []

    def busy_once(reservation: Any, **kwargs: Any) -> None:
        line = reservation.lines[0]
        placed.append((line.bucket, line.placed))
        if len(placed) == 1:
            raise WriteConflict("TransactionConflict")  # no old image: nothing learnt
        create(reservation, **kwargs)

    monkeypatch.setattr(store.reservations, "create", busy_once)
    reserve(service, "r1", 1)
    assert placed[0] == (0, False)  # first contact: the record, not known to be sharded
    assert placed[1][1] and len(placed) == 2  # read after the conflict: placed on a bucket


def test_conflicts_on_an_unsharded_record_read_it_once_in_a_while(
    moto_client: Any, moto_table: str, service: ReservationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(moto_client, moto_table).stock.set_on_hand("B", "WH1", 10, NOW)
    store = service._store
    now = [100.0]
    monkeypatch.setattr(store.placement, "_clock", lambda: now[0])
    peeks: list[str] = []
    peek = store.shards.peek

    def counted_peek(sku: str, location: str) -> Any:
        peeks.append(sku)
        return peek(sku, location)

    monkeypatch.setattr(store.shards, "peek", counted_peek)
    create = store.reservations.create
    calls: list[int] = []

    def busy_every_other(reservation: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) % 2:
            raise WriteConflict("TransactionConflict")
        create(reservation, **kwargs)

    monkeypatch.setattr(store.reservations, "create", busy_every_other)

    def hold(rid: str) -> None:
        service.reserve(ReserveRequest((ReserveLine("B", "WH1", 1),), id=rid), "web")

    for number in range(3):
        hold(f"b{number}")
    assert (len(calls), peeks) == (6, ["B"])  # three conflicts, one read: it is unsharded
    now[0] += 6  # past the while: a conflict may mean it was sharded since
    hold("b3")
    assert peeks == ["B", "B"]


def test_a_refusal_lists_a_sharded_line_short_beside_another(
    sharded: Store, service: ReservationService
) -> None:
    lines = (ReserveLine("A", "WH1", 9), ReserveLine("C", "WH2", 1))  # 8 in all; no C
    with pytest.raises(InsufficientStock) as refused:
        service.reserve(ReserveRequest(lines, id="r1"), "web")
    found = [(i.sku, i.requested, i.available) for i in refused.value.items]
    assert found == [("A", 9, 8), ("C", 1, 0)]


def test_a_line_on_a_retired_bucket_still_grows(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "learn", 3)  # refused by the record (2), then placed: buckets known
    bucket = service.get("learn").lines[0].bucket
    sharded.shards.reshard("A", "WH1", 1, NOW)  # every bucket but the record retires
    grown = CartChange((CartLine("A", "WH1", 5),))
    service.change_items("learn", grown, "web")
    line = service.get("learn").lines[0]
    assert (line.bucket, line.held) == (bucket, 5)  # more from where it holds
    check_invariants(moto_client, moto_table)


def test_a_cart_update_adds_lines_on_a_sharded_record(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    sharded.stock.set_on_hand("B", "WH1", 5, NOW)
    service.reserve(ReserveRequest((ReserveLine("B", "WH1", 1),), id="c1"), "web")
    cart = (
        CartLine("B", "WH1", 1),
        CartLine("A", "WH1", 5),
    )
    service.change_items("c1", CartChange(cart), "web")  # no bucket has 5: a move first
    oversell = (CartLine("B", "WH1", 1), CartLine("A", "WH1", 8, allow_oversell=True))
    service.change_items("c1", CartChange(oversell), "web")  # all 8, and not one more
    grown = (CartLine("B", "WH1", 1), CartLine("A", "WH1", 9, allow_oversell=True))
    with pytest.raises(InsufficientStock):
        service.change_items("c1", CartChange(grown), "web")
    assert sharded.shards.snapshot("A", "WH1").available == 0
    check_invariants(moto_client, moto_table)


def test_a_closed_bucket_takes_no_line_whatever_it_holds(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    moto_client.update_item(  # as a count below what is held leaves it, units and all
        TableName=moto_table,
        Key=shard_key("A", "WH1", 2),
        UpdateExpression="SET #closed = :closed",
        ExpressionAttributeNames={"#closed": "closed"},
        ExpressionAttributeValues={":closed": {"BOOL": True}},
    )
    line = Line("A", "WH1", 1, held=1, bucket=2)
    with pytest.raises(ClientError) as refused:
        moto_client.transact_write_items(TransactItems=[sharded.stock.hold_item(line, NOW, 0)])
    [reason] = refused.value.response["CancellationReasons"]
    assert reason["Code"] == "ConditionalCheckFailed"
    assert sharded.shards.snapshot("A", "WH1").buckets[2].available == 2
