"""The buckets of a sharded stock record (moto; docs/architecture.md, "Sharded stock"): a
reshard spreads available evenly and gathers it back, lines hold on their own bucket and
settle there, and the drift check sums every bucket."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reservations.errors import StockSerialized
from reservations.records import Line, Reservation, Status
from reservations.store import StockShort, Store
from reservations.store.keys import shard_key, stock_key
from reservations.store.shards import MAX_SHARDS
from reservations.store.transact import TransactionCancelled
from tests.support.invariants import check_invariants

NOW = 1_800_000_000


def stocked(client: Any, table: str, on_hand: int = 10) -> Store:
    store = Store(client, table)
    store.stock.set_on_hand("A", "WH1", on_hand, NOW)
    return store


def hold(store: Store, quantity: int, bucket: int, rid: str = "r1") -> Reservation:
    line = Line("A", "WH1", quantity, held=quantity, bucket=bucket)
    reservation = Reservation(
        id=rid,
        fingerprint=rid,
        status=Status.ACTIVE,
        channel="web",
        lines=(line,),
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + 600,
        version=1,
    )
    store.reservations.create(reservation, token=f"t-{rid}", oversell_limit=0)
    return reservation


def test_a_reshard_spreads_available_evenly_over_its_buckets(
    moto_client: Any, moto_table: str
) -> None:
    store = stocked(moto_client, moto_table)
    store.shards.reshard("A", "WH1", 4, NOW)
    seen = store.shards.snapshot("A", "WH1")
    assert seen.shards == 4
    assert [b.available for b in seen.buckets] == [3, 3, 2, 2]
    assert seen.available == 10 and seen.reserved == 0
    record = moto_client.get_item(TableName=moto_table, Key=stock_key("A", "WH1"))["Item"]
    assert record["shards"]["N"] == "4" and record["bucketsEver"]["N"] == "4"
    bucket = moto_client.get_item(TableName=moto_table, Key=shard_key("A", "WH1", 3))["Item"]
    assert bucket["entity"]["S"] == "shard" and bucket["PK"] != record["PK"]
    check_invariants(moto_client, moto_table)


def test_a_line_holds_on_its_bucket_and_releases_there(moto_client: Any, moto_table: str) -> None:
    store = stocked(moto_client, moto_table)
    store.shards.reshard("A", "WH1", 4, NOW)
    placed = hold(store, 2, bucket=2)
    seen = store.shards.snapshot("A", "WH1")
    assert (seen.buckets[2].available, seen.buckets[2].reserved) == (0, 2)
    assert seen.buckets[0].reserved == 0
    check_invariants(moto_client, moto_table)
    before = store.reservations.get(placed.id)
    assert before is not None and before.lines[0].bucket == 2
    line = replace(before.lines[0], held=1, released=1)
    after = replace(before, lines=(line,), version=2, updated_at=NOW + 1)
    store.reservations.save_transition(before, after, token="t-release")
    seen = store.shards.snapshot("A", "WH1")
    assert (seen.buckets[2].available, seen.buckets[2].reserved) == (1, 1)
    check_invariants(moto_client, moto_table)


def test_goods_shipped_from_a_bucket_leave_the_records_on_hand(
    moto_client: Any, moto_table: str
) -> None:
    store = stocked(moto_client, moto_table)
    store.shards.reshard("A", "WH1", 2, NOW)
    before = store.reservations.get(hold(store, 3, bucket=1).id)
    assert before is not None
    shipped = replace(before.lines[0], held=0, consumed=3)
    after = replace(before, status=Status.FULFILLED, lines=(shipped,), version=2)
    store.reservations.save_transition(before, after, token="t-ship")
    level = store.stock.get_level("A", "WH1")
    assert level is not None and level.on_hand == 7
    seen = store.shards.snapshot("A", "WH1")
    assert seen.available == 7 and seen.reserved == 0
    check_invariants(moto_client, moto_table)


def test_a_bucket_without_enough_refuses_the_line(moto_client: Any, moto_table: str) -> None:
    store = stocked(moto_client, moto_table)
    store.shards.reshard("A", "WH1", 4, NOW)
    with pytest.raises(StockShort) as refused:
        hold(store, 3, bucket=3)  # bucket 3 has 2
    assert [item.available for item in refused.value.items] == [2]
    check_invariants(moto_client, moto_table)


def test_lowering_the_count_gathers_available_and_retires_the_rest(
    moto_client: Any, moto_table: str
) -> None:
    store = stocked(moto_client, moto_table)
    store.shards.reshard("A", "WH1", 4, NOW)
    hold(store, 2, bucket=3)
    store.shards.reshard("A", "WH1", 1, NOW)
    seen = store.shards.snapshot("A", "WH1")
    assert seen.shards == 1
    assert [b.available for b in seen.buckets] == [8, 0, 0, 0]
    # Retired, not closed: placement sends no line there, and a line that holds there
    # may still grow there once units are moved in; only debt closes buckets.
    assert not any(b.closed for b in seen.buckets)
    assert seen.buckets[3].reserved == 2  # its hold stays where it was taken
    with pytest.raises(StockShort):
        hold(store, 1, bucket=2, rid="r2")  # a retired bucket has nothing
    check_invariants(moto_client, moto_table)


def test_a_move_that_would_reopen_buckets_beside_a_debt_is_refused(
    moto_client: Any, moto_table: str
) -> None:
    store = stocked(moto_client, moto_table)  # 10 units
    store.shards.reshard("A", "WH1", 4, NOW)
    seen = store.shards.snapshot("A", "WH1")
    assert store.shards.gather("A", "WH1", 20, NOW) is False  # 10 < 20: everything closes
    closed = store.shards.snapshot("A", "WH1")
    assert all(b.closed for b in closed.buckets) and closed.buckets[0].available == 10
    # A writer takes 14: below zero, allowed since the buckets are closed.
    moto_client.update_item(
        TableName=moto_table,
        Key=stock_key("A", "WH1"),
        UpdateExpression="SET available = available - :taken",
        ExpressionAttributeValues={":taken": {"N": "14"}},
    )
    # A release gives 2 back to bucket 1, closed as it is.
    moto_client.update_item(
        TableName=moto_table,
        Key=shard_key("A", "WH1", 1),
        UpdateExpression="SET available = available + :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    # A move planned from the earlier (open) view, bucket 1 giving its 2 to the record,
    # would leave bucket 1 open beside a record still in debt: refused.
    was = [b.available for b in seen.buckets]
    with pytest.raises(TransactionCancelled):
        store.shards._move(seen, [was[0] + 2, was[1] - 2, *was[2:]], 4, NOW, reshard=False)
    after = store.shards.snapshot("A", "WH1")
    assert after.buckets[0].available == -4 and all(b.closed for b in after.buckets)


def test_the_count_is_one_to_the_cap(moto_client: Any, moto_table: str) -> None:
    store = stocked(moto_client, moto_table)
    for wrong in (0, MAX_SHARDS + 1):
        with pytest.raises(ValueError, match="shards must be 1 to 64"):
            store.shards.reshard("A", "WH1", wrong, NOW)
    store.shards.reshard("A", "WH1", MAX_SHARDS, NOW)
    assert store.shards.snapshot("A", "WH1").available == 10
    check_invariants(moto_client, moto_table)


def test_serialized_stock_is_not_sharded(moto_client: Any, moto_table: str) -> None:
    store = stocked(moto_client, moto_table)
    moto_client.update_item(
        TableName=moto_table,
        Key=stock_key("A", "WH1"),
        UpdateExpression="SET serialized = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    with pytest.raises(StockSerialized):
        store.shards.reshard("A", "WH1", 2, NOW)


def test_the_drift_check_sees_a_bucket_out_of_step(moto_client: Any, moto_table: str) -> None:
    store = stocked(moto_client, moto_table)
    store.shards.reshard("A", "WH1", 2, NOW)
    moto_client.update_item(
        TableName=moto_table,
        Key=shard_key("A", "WH1", 1),
        UpdateExpression="SET reserved = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    with pytest.raises(AssertionError, match="bucket 1: reserved 1 but live lines hold 0"):
        check_invariants(moto_client, moto_table)
