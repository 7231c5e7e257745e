"""Measure writes on a sharded record by each of their doors (moto; docs/architecture.md,
"Sharded stock"): what a write adds is spread over the buckets and stamped with the write's
time; a write worth nothing moves no bucket; a refused adjustment gathers units and tries
again under a new token; and allocation reads the buckets' sums without a transaction."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.errors import Contention
from reservations.idempotency import Remember
from reservations.records import Receipt, StockLevel
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.idempotency import StoredResponse
from reservations.store.keys import stock_key
from reservations.store.retry import RetryPolicy
from reservations.store.shards import ShardStore
from reservations.supply import measure_names, parse
from tests.conftest import make_erp_service, make_service
from tests.support.engine_hooks import requests_seen
from tests.support.erp import stock_set
from tests.support.invariants import check_invariants
from tests.support.sharding import SHARDED_AT, busy_snapshots, reserve, stamps

LATER = SHARDED_AT + 60  # the writes under test, after the record was sharded
MEASURES = measure_names(["damaged"])
FORMULA = parse("onHand - safetyStock", MEASURES)  # damaged is worth nothing


@pytest.fixture
def service(moto_client: Any, moto_table: str) -> ReservationService:
    return make_service(moto_client, moto_table, ManualClock(SHARDED_AT), RetryPolicy(base_delay=0))


def buckets(store: Store) -> list[int]:
    return [bucket.available for bucket in store.shards.snapshot("A", "WH1").buckets]


def adjust(store: Store, delta: int, measure: str = "onHand", token: str = "t0") -> None:
    receipt = Receipt("adjust", f"{measure}{delta}", "fingerprint")
    store.stock.adjust_on_hand(receipt, "A", "WH1", delta, LATER, token=token, measure=measure)


def test_a_count_under_an_idempotency_key_spreads_what_it_adds(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    service = make_service(moto_client, moto_table, ManualClock(LATER), RetryPolicy(base_delay=0))
    keys = sharded.idempotency
    claim = keys.claim("web", "count-1", "fingerprint", LATER)
    remember: Remember[StockLevel] = Remember(claim, lambda _: StoredResponse(200, "{}"), keys)
    service.set_measures("A", "WH1", {"onHand": 12}, remember=remember)
    assert remember.written and buckets(sharded) == [3, 3, 3, 3]
    assert stamps(moto_client, moto_table) == [str(LATER)] * 4
    check_invariants(moto_client, moto_table)


def test_an_adjustment_spreads_even_one_unit_stamped_with_its_time(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.get_level("A", "WH1")  # this environment has seen it sharded
    adjust(store, 3)
    assert buckets(sharded) == [3, 3, 3, 2]
    adjust(store, 1)  # the record holds 4 of 12: one goes to the last bucket
    assert buckets(sharded) == [3, 3, 3, 3]
    assert stamps(moto_client, moto_table) == [str(LATER)] * 4
    check_invariants(moto_client, moto_table)


def test_an_adjustment_worth_nothing_moves_no_bucket(
    sharded: Store, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    reserve(service, "r1", 2)  # taken from one bucket: the buckets are uneven now
    store = Store(moto_client, moto_table, formula=FORMULA)
    store.stock.get_level("A", "WH1")
    before = buckets(sharded)
    with requests_seen(moto_client) as seen:
        adjust(store, 5, measure="damaged")
    assert [operation for operation, _ in seen] == ["TransactWriteItems"]
    assert buckets(sharded) == before
    check_invariants(moto_client, moto_table, FORMULA)


def test_an_adjustment_refused_for_want_of_units_retries_with_a_new_token(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    with requests_seen(moto_client) as seen:
        adjust(store, -5, token="first")  # the record has 2: units are gathered into it
    tokens = [params.get("ClientRequestToken") for op, params in seen if op == "TransactWriteItems"]
    # A token is bound to its first request's parameters: the retry differs, so its own.
    assert tokens[0] == "first" and tokens[-1] not in (None, "first")
    assert sum(buckets(sharded)) == 3
    assert str(LATER) in stamps(moto_client, moto_table)[1:]  # the gather's givers
    assert set(stamps(moto_client, moto_table)) <= {str(SHARDED_AT), str(LATER)}
    check_invariants(moto_client, moto_table)


def test_an_adjustment_that_never_finds_its_units_gathered_is_contention(
    sharded: Store, moto_client: Any, moto_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ShardStore, "gather", lambda *_: True)  # reserves outrun every move
    with pytest.raises(Contention) as busy:
        adjust(Store(moto_client, moto_table), -5)
    assert str(busy.value) == "stock 'A' at 'WH1' kept changing; try again"


@pytest.mark.parametrize(("count", "available"), [(4, -2), (5, -1)])
def test_a_refused_count_that_takes_nothing_gathers_nothing(
    count: int,
    available: int,
    sharded: Store,
    service: ReservationService,
    moto_client: Any,
    moto_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for number in range(6):
        reserve(service, f"r{number}", 1)
    service.set_on_hand("A", "WH1", 3)  # in debt: the record is at -3, every bucket closed
    stale = Store(moto_client, moto_table)
    stale.stock.get_level("A", "WH1")  # it knows onHand 3
    service.set_on_hand("A", "WH1", 4)  # another environment moves it
    gathered: list[int] = []
    monkeypatch.setattr(ShardStore, "gather", lambda _, *args: gathered.append(args[2]))
    level = stale.stock.set_on_hand("A", "WH1", count, LATER)  # refused once, then a delta
    assert (level.on_hand, level.available, gathered) == (count, available, [])


def test_allocation_reads_the_sums_of_the_buckets_while_transactions_hold_them(
    sharded: Store, service: ReservationService, moto_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reserve(service, "r1", 3)
    monkeypatch.setattr(moto_client, "transact_get_items", busy_snapshots)
    counts = sharded.stock.get_counts([("A", "WH1")])
    assert counts == {("A", "WH1"): (5, 3)}


def test_an_erp_count_spreads_what_it_adds_and_gathers_what_it_takes(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    retry = RetryPolicy(base_delay=0)
    erp = make_erp_service(moto_client, moto_table, ManualClock(LATER), retry)
    erp.apply(stock_set(12, sequence=1))  # a first sight of it: refused whole, then a delta
    assert buckets(sharded) == [3, 3, 3, 3]
    assert stamps(moto_client, moto_table) == [str(LATER)] * 4
    erp = make_erp_service(moto_client, moto_table, ManualClock(LATER + 1), retry)
    erp.apply(stock_set(2, sequence=2))  # takes 10; the record has 3
    assert sum(buckets(sharded)) == 2 and min(buckets(sharded)) >= 0
    assert str(LATER + 1) in stamps(moto_client, moto_table)[1:]  # the gather's givers
    assert set(stamps(moto_client, moto_table)) <= {str(LATER), str(LATER + 1)}
    check_invariants(moto_client, moto_table)


def test_a_count_that_takes_one_unit_the_record_lacks_gathers_it(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    adjust(Store(moto_client, moto_table), -2)  # the record's own 2 are taken
    assert buckets(sharded) == [0, 2, 2, 2]
    store = Store(moto_client, moto_table)
    store.stock.get_level("A", "WH1")
    level = store.stock.set_on_hand("A", "WH1", 5, LATER)
    assert (level.on_hand, level.available, sum(buckets(sharded))) == (5, 5, 5)
    check_invariants(moto_client, moto_table)


def test_a_refused_count_whose_record_has_what_it_takes_gathers_nothing(
    sharded: Store, moto_client: Any, moto_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = Store(moto_client, moto_table)
    stale.stock.get_level("A", "WH1")  # it knows onHand 8
    adjust(Store(moto_client, moto_table), -1)  # the record has 1 left of its own
    gathered: list[int] = []
    monkeypatch.setattr(ShardStore, "gather", lambda _, *args: gathered.append(args[2]))
    level = stale.stock.set_on_hand("A", "WH1", 6, LATER)  # refused once: takes 1 of 1
    assert (level.on_hand, level.available, gathered) == (6, 6, [])


def test_a_write_that_spreads_reads_the_buckets_once_and_outside_a_transaction(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.get_level("A", "WH1")
    with requests_seen(moto_client) as seen:
        level = store.stock.set_on_hand("A", "WH1", 12, LATER)
    # The count, one consistent read of the record and its buckets, the spread's move: the
    # total it answers and the spread share that read, which no transaction can cancel.
    operations = ["UpdateItem", "GetItem", "BatchGetItem", "TransactWriteItems"]
    assert [operation for operation, _ in seen] == operations
    assert (level.available, buckets(sharded)) == (12, [3, 3, 3, 3])


def test_a_total_shows_the_bucket_count_its_sums_were_read_with(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    key = stock_key("A", "WH1")
    before = moto_client.get_item(TableName=moto_table, Key=key, ConsistentRead=True)["Item"]
    sharded.shards.reshard("A", "WH1", 2, LATER)  # between the write and its total
    level = sharded.stock.totalled(before)
    assert (level.available, level.shards) == (8, 2)
