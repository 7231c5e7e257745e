"""Moves between the buckets of a sharded record, refused and retried (moto;
docs/architecture.md, "Sharded stock"): a refused move is planned again after a jittered
pause that doubles, anything but a failed condition, a conflict or throttling is raised, a
move writes only the buckets it changes, and a spread never fails the write before it.

A starts as 8 units over 4 buckets, 2 in each (tests/support/sharding.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reservations.errors import Contention, StockSerialized
from reservations.store import Store
from reservations.store import shards as shards_module
from reservations.store.bucket_reads import Bucket, Snapshot
from reservations.store.idempotency import KeyInUse
from reservations.store.keys import shard_key, stock_key
from reservations.store.transact import TransactionCancelled, WriteConflict
from tests.support.sharding import SHARDED_AT as NOW

LATER = NOW + 60


@dataclass
class Moves:
    """The engine's transactions, as sent: the first ``refuse`` are refused before the
    engine sees them, cancelled for that reason (or, a code ending in Exception, failed
    with it), and the rest pass."""

    refuse: list[str] = field(default_factory=list)
    sent: list[list[dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def moves(moto_client: Any, monkeypatch: pytest.MonkeyPatch) -> Moves:
    real = moto_client.transact_write_items
    seen = Moves()

    def transact_write_items(**request: Any) -> Any:
        seen.sent.append(request["TransactItems"])
        if seen.refuse:
            code = seen.refuse.pop(0)
            response: Any = {"Error": {"Code": code, "Message": code}}
            if not code.endswith("Exception"):
                response["Error"]["Code"] = "TransactionCanceledException"
                response["CancellationReasons"] = [{"Code": code} for _ in request["TransactItems"]]
            raise ClientError(response, "TransactWriteItems")
        return real(**request)

    monkeypatch.setattr(moto_client, "transact_write_items", transact_write_items)
    return seen


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[float, float]]]:
    """Each pause's bounds: a pause is drawn as its longest and not slept."""
    drawn: list[tuple[float, float]] = []
    slept: list[float] = []

    class Random:
        @staticmethod
        def uniform(low: float, high: float) -> float:
            drawn.append((low, high))
            return high

    class Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)

    monkeypatch.setattr(shards_module, "random", Random)
    monkeypatch.setattr(shards_module, "time", Time)
    yield drawn
    assert slept == [high for _, high in drawn]


def availables(store: Store) -> list[int]:
    return [bucket.available for bucket in store.shards.snapshot("A", "WH1").buckets]


def land_on_record(client: Any, table: str, units: int) -> None:
    """What a stock write that adds does first: the units land on the record alone."""
    client.update_item(
        TableName=table,
        Key=stock_key("A", "WH1"),
        UpdateExpression="SET available = available + :units, onHand = onHand + :units",
        ExpressionAttributeValues={":units": {"N": str(units)}},
    )


@pytest.mark.parametrize(
    "code", ["TransactionConflict", "ConditionalCheckFailed", "ThrottlingError"]
)
def test_a_refused_move_is_planned_again_after_a_pause_that_doubles(
    sharded: Store, moves: Moves, pauses: list[tuple[float, float]], code: str
) -> None:
    moves.refuse = [code, code]
    seen = sharded.shards.make_room("A", "WH1", 5, NOW)
    assert max(bucket.available for bucket in seen.buckets) >= 5
    assert max(availables(sharded)) >= 5 and sum(availables(sharded)) == 8
    assert pauses == [(0, 0.002), (0, 0.004)]
    assert len(moves.sent[-1]) == 3  # two buckets give, one takes; the fourth is left out


def test_a_move_refused_for_another_reason_is_raised(sharded: Store, moves: Moves) -> None:
    moves.refuse = ["ValidationError"]
    with pytest.raises(TransactionCancelled):
        sharded.shards.make_room("A", "WH1", 5, NOW)
    assert availables(sharded) == [2, 2, 2, 2]


@pytest.mark.parametrize("move", ["gather", "make_room"])
def test_a_move_refused_until_its_attempts_run_out_says_try_again(
    sharded: Store, moves: Moves, pauses: list[tuple[float, float]], move: str
) -> None:
    moves.refuse = ["TransactionConflict"] * shards_module.ATTEMPTS
    with pytest.raises(Contention, match="kept changing"):
        getattr(sharded.shards, move)("A", "WH1", 5, NOW)
    assert len(pauses) == shards_module.ATTEMPTS


def test_a_gather_is_retried_and_moves_only_the_buckets_it_changes(
    sharded: Store, moves: Moves, pauses: list[tuple[float, float]]
) -> None:
    moves.refuse = ["TransactionConflict"]
    assert sharded.shards.gather("A", "WH1", 4, LATER) is True
    assert availables(sharded) == [4, 0, 2, 2]
    assert len(moves.sent[-1]) == 2  # the record and the one bucket that gave


def test_a_gather_of_exactly_the_total_opens_every_bucket(sharded: Store, moves: Moves) -> None:
    assert sharded.shards.gather("A", "WH1", 8, NOW) is True
    seen = sharded.shards.snapshot("A", "WH1")
    assert availables(sharded) == [8, 0, 0, 0] and not any(b.closed for b in seen.buckets)


def test_a_gather_the_record_already_covers_moves_nothing(sharded: Store, moves: Moves) -> None:
    assert sharded.shards.gather("A", "WH1", 2, NOW) is True
    assert moves.sent == []


def test_a_gather_beyond_the_total_closes_the_buckets_it_has(
    sharded: Store, moves: Moves, moto_client: Any, moto_table: str
) -> None:
    assert sharded.shards.gather("A", "WH1", 9, NOW) is False
    seen = sharded.shards.snapshot("A", "WH1")
    assert availables(sharded) == [8, 0, 0, 0] and all(b.closed for b in seen.buckets)
    beyond = shard_key("A", "WH1", 4)
    assert "Item" not in moto_client.get_item(TableName=moto_table, Key=beyond)


def test_a_spread_moves_only_the_buckets_it_changes(
    sharded: Store, moves: Moves, moto_client: Any, moto_table: str
) -> None:
    land_on_record(moto_client, moto_table, 2)
    sharded.shards.spread("A", "WH1", LATER)
    assert availables(sharded) == [3, 3, 2, 2]
    [move] = moves.sent
    assert len(move) == 2  # the record and the bucket it gave to


@pytest.mark.parametrize(
    "seen",
    [
        # In debt: nothing to spread, whatever a stale view shows of the buckets.
        Snapshot("A", "WH1", 4, (Bucket(-3, closed=True), Bucket(3), Bucket(), Bucket())),
        # Gathered back into the record: one active bucket, nothing to spread over.
        Snapshot("A", "WH1", 1, (Bucket(5), Bucket(3), Bucket(), Bucket())),
    ],
)
def test_nothing_to_spread_is_no_move(sharded: Store, moves: Moves, seen: Snapshot) -> None:
    sharded.shards.spread("A", "WH1", LATER, seen)
    assert moves.sent == []


def test_two_buckets_are_spread(moto_client: Any, moto_table: str, moves: Moves) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 8, NOW)
    store.shards.reshard("A", "WH1", 2, NOW)
    land_on_record(moto_client, moto_table, 2)
    store.shards.spread("A", "WH1", LATER)
    assert availables(store) == [5, 5]


def test_a_single_unit_is_spread(moto_client: Any, moto_table: str, moves: Moves) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 1, NOW)
    store.shards.reshard("A", "WH1", 4, NOW)  # the unit in the record
    store.shards.make_room("A", "WH1", 1, NOW, target=2)  # and now in bucket 2
    assert availables(store) == [0, 0, 1, 0]
    store.shards.spread("A", "WH1", LATER)
    assert availables(store) == [1, 0, 0, 0]


@pytest.mark.parametrize("code", ["TransactionConflict", "ProvisionedThroughputExceededException"])
def test_a_refused_spread_is_given_up(
    sharded: Store, moves: Moves, moto_client: Any, moto_table: str, code: str
) -> None:
    land_on_record(moto_client, moto_table, 2)
    moves.refuse = [code]
    sharded.shards.spread("A", "WH1", LATER)  # no exception: the write before it stands
    assert availables(sharded) == [4, 2, 2, 2]


def test_a_gather_fills_the_record_even_when_another_bucket_has_enough(sharded: Store) -> None:
    sharded.shards.make_room("A", "WH1", 4, NOW, target=2)
    assert availables(sharded) == [0, 2, 4, 2]
    assert sharded.shards.gather("A", "WH1", 3, NOW) is True
    assert availables(sharded) == [3, 2, 1, 2]  # the write takes them from the record


def test_a_move_stamps_what_it_writes(sharded: Store, moto_client: Any, moto_table: str) -> None:
    assert sharded.shards.gather("A", "WH1", 4, LATER) is True
    record = moto_client.get_item(TableName=moto_table, Key=stock_key("A", "WH1"))["Item"]
    giver = moto_client.get_item(TableName=moto_table, Key=shard_key("A", "WH1", 1))["Item"]
    assert record["updatedAt"] == giver["updatedAt"] == {"N": str(LATER)}
    assert "updatedat" not in record


def test_a_move_out_of_debt_reopens_the_record_and_every_bucket(sharded: Store) -> None:
    assert sharded.shards.gather("A", "WH1", 9, NOW) is False  # all in the record, closed
    sharded.shards.make_room("A", "WH1", 2, NOW)  # 8 in the record: it opens them again
    seen = sharded.shards.snapshot("A", "WH1")
    assert availables(sharded) == [8, 0, 0, 0] and not any(b.closed for b in seen.buckets)


def test_a_reshard_of_nothing_available_leaves_every_bucket_open(
    moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 0, NOW)
    store.shards.reshard("A", "WH1", 4, NOW)
    seen = store.shards.snapshot("A", "WH1")
    assert len(seen.buckets) == 4 and not any(b.closed for b in seen.buckets)


def test_a_move_planned_on_a_stale_view_takes_no_bucket_below_zero(sharded: Store) -> None:
    stale = Snapshot("A", "WH1", 4, (Bucket(0), Bucket(8), Bucket(0), Bucket(0)))
    sharded.shards.spread("A", "WH1", LATER, stale)  # bucket 1 has 2, not 8: refused
    assert availables(sharded) == [2, 2, 2, 2]


def test_a_record_written_before_versions_can_be_sharded(moto_client: Any, moto_table: str) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 8, NOW)
    moto_client.update_item(
        TableName=moto_table, Key=stock_key("A", "WH1"), UpdateExpression="REMOVE version"
    )
    store.shards.reshard("A", "WH1", 4, NOW)
    assert availables(store) == [2, 2, 2, 2]


def test_a_reshard_refused_for_a_giver_looks_again(sharded: Store, moves: Moves) -> None:
    moves.refuse = ["ConditionalCheckFailed"]
    sharded.shards.reshard("A", "WH1", 2, NOW)
    assert availables(sharded) == [4, 4, 0, 0]


def test_a_reshard_that_conflicts_is_left_to_its_callers_retry(
    sharded: Store, moves: Moves
) -> None:
    moves.refuse = ["TransactionConflict"]
    with pytest.raises(WriteConflict):
        sharded.shards.reshard("A", "WH1", 2, NOW)


def test_a_reshard_outrun_until_its_attempts_run_out_says_try_again(
    sharded: Store, moves: Moves
) -> None:
    moves.refuse = ["ConditionalCheckFailed"] * shards_module.ATTEMPTS
    with pytest.raises(Contention, match="kept changing"):
        sharded.shards.reshard("A", "WH1", 2, NOW)


def test_a_reshard_whose_key_another_request_holds_says_so(
    sharded: Store, moto_client: Any, moto_table: str
) -> None:
    key = {"PK": {"S": "KEY#k"}, "SK": {"S": "KEY"}}
    moto_client.put_item(TableName=moto_table, Item={**key, "fingerprint": {"S": "f"}})
    claim = {"Put": {"TableName": moto_table, "Item": {**key, "fingerprint": {"S": "f"}}}}
    claim["Put"] |= {
        "ConditionExpression": "attribute_not_exists(PK)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    with pytest.raises(KeyInUse):
        sharded.shards.reshard("A", "WH1", 2, NOW, also=lambda _: [claim])
    assert availables(sharded) == [2, 2, 2, 2]


def test_labels_cannot_be_sharded(moto_client: Any, moto_table: str) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 8, NOW)
    moto_client.update_item(
        TableName=moto_table,
        Key=stock_key("A", "WH1"),
        UpdateExpression="SET serialized = :yes",
        ExpressionAttributeValues={":yes": {"BOOL": True}},
    )
    with pytest.raises(StockSerialized, match="its labels: it cannot be sharded"):
        store.shards.reshard("A", "WH1", 2, NOW)


def test_a_record_never_held_shows_nothing_reserved(moto_client: Any, moto_table: str) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 8, NOW)
    assert store.shards.reshard("A", "WH1", 4, NOW).reserved == 0
    assert store.shards.snapshot("A", "WH1").reserved == 0
    with pytest.raises(LookupError):
        store.shards.reshard("B", "WH1", 4, NOW)  # no record at all
