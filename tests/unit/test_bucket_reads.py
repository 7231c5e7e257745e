"""Reading a sharded record's buckets as one consistent BatchGetItem (docs/architecture.md,
"Sharded stock"), against a client that leaves keys unprocessed as DynamoDB may: every
key is asked for again, consistently, until all are read; a read that never finishes says
try again."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reservations.errors import Contention
from reservations.store import bucket_reads
from reservations.store.bucket_reads import BucketReads
from reservations.store.keys import PK, shard_key, stock_key

TABLE = "t"


def bucket_item(bucket: int, available: int) -> dict[str, Any]:
    key = shard_key("A", "WH1", bucket)
    item = {**key, "available": {"N": str(available)}, "reserved": {"N": "0"}}
    if bucket == 0:
        item |= {"shards": {"N": "3"}, "bucketsEver": {"N": "3"}}
    return item


class Unprocessed:
    """A client that answers each BatchGetItem with the next count of ``rounds`` keys (none
    once they run out) and leaves the rest unprocessed."""

    def __init__(self, rounds: list[int]) -> None:
        self.rounds = rounds
        self.items = {
            item[PK]["S"]: item for item in (bucket_item(b, a) for b, a in enumerate((1, 2, 3)))
        }
        self.asked: list[dict[str, Any]] = []
        self.refusals: list[str] = []  # the next TransactGetItems fail with these codes
        self.first_read: dict[str, Any] | None = None  # what the record's own read finds
        self.read_at_once: list[int] = []  # the key counts of each TransactGetItems

    def transact_get_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        if self.refusals:
            code = self.refusals.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "TransactGetItems")
        keys = [get["Get"]["Key"] for get in TransactItems]
        self.read_at_once.append(len(keys))
        found = [self.items.get(key[PK]["S"]) for key in keys]
        return {"Responses": [{"Item": item} if item else {} for item in found]}

    def get_item(self, **request: Any) -> dict[str, Any]:
        assert request["Key"] == stock_key("A", "WH1")
        if self.first_read is not None:
            return self.first_read
        return {"Item": self.items[request["Key"][PK]["S"]]}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        wanted = RequestItems[TABLE]
        self.asked.append(wanted)
        count = self.rounds.pop(0) if self.rounds else 0
        now, later = wanted["Keys"][:count], wanted["Keys"][count:]
        answer: dict[str, Any] = {"Responses": {}}
        if now:
            answer["Responses"][TABLE] = [self.items[key[PK]["S"]] for key in now]
        if later:
            answer["UnprocessedKeys"] = {TABLE: {"Keys": later, "ConsistentRead": True}}
        return answer


def test_unprocessed_keys_are_asked_for_again_until_every_bucket_is_read() -> None:
    client = Unprocessed([0, 2, 1])
    seen = BucketReads(client, TABLE).snapshot("A", "WH1", exact=False)  # type: ignore[arg-type]
    assert [bucket.available for bucket in seen.buckets] == [1, 2, 3]
    assert [len(asked["Keys"]) for asked in client.asked] == [3, 3, 1]
    assert all(asked["ConsistentRead"] is True for asked in client.asked)


def test_a_read_that_never_finishes_says_try_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bucket_reads, "SNAPSHOT_PAUSE", 0)
    client = Unprocessed([])
    with pytest.raises(Contention, match="kept changing"):
        BucketReads(client, TABLE).snapshot("A", "WH1", exact=False)  # type: ignore[arg-type]
    rounds = bucket_reads.SNAPSHOT_ATTEMPTS * bucket_reads.UNPROCESSED_ROUNDS
    assert len(client.asked) == rounds


def test_a_snapshot_cancelled_by_a_transaction_in_flight_is_taken_again() -> None:
    client = Unprocessed([])
    client.refusals = ["TransactionCanceledException"]
    seen = BucketReads(client, TABLE).snapshot("A", "WH1")  # type: ignore[arg-type]
    assert [bucket.available for bucket in seen.buckets] == [1, 2, 3]
    assert client.refusals == [] and client.asked == []  # exact by default: no BatchGetItem


def test_a_snapshot_refused_for_another_reason_is_raised() -> None:
    client = Unprocessed([])
    client.refusals = ["ValidationException"]
    with pytest.raises(ClientError):
        BucketReads(client, TABLE).snapshot("A", "WH1")  # type: ignore[arg-type]


def test_buckets_added_since_the_record_was_read_are_read_too() -> None:
    client = Unprocessed([])
    stale = {**bucket_item(0, 1), "bucketsEver": {"N": "2"}}  # read before a reshard to 3
    client.first_read = {"Item": stale}
    seen = BucketReads(client, TABLE).snapshot("A", "WH1")  # type: ignore[arg-type]
    assert [bucket.available for bucket in seen.buckets] == [1, 2, 3]
    assert client.read_at_once == [2, 3]


def test_a_missing_record_is_one_key_read() -> None:
    client = Unprocessed([])
    client.first_read = {}
    client.items.clear()
    seen = BucketReads(client, TABLE).snapshot("A", "WH1")  # type: ignore[arg-type]
    assert not seen.buckets[0].exists and len(seen.buckets) == 1
    assert client.read_at_once == [1]


def test_a_snapshot_cancelled_each_time_pauses_longer_then_says_try_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return 0

    monkeypatch.setattr("reservations.store.bucket_reads.random.uniform", uniform)
    client = Unprocessed([])
    client.refusals = ["TransactionCanceledException"] * bucket_reads.SNAPSHOT_ATTEMPTS
    with pytest.raises(Contention):
        BucketReads(client, TABLE).snapshot("A", "WH1")  # type: ignore[arg-type]
    pause = bucket_reads.SNAPSHOT_PAUSE
    assert drawn == [(0, pause * 2**a) for a in range(bucket_reads.SNAPSHOT_ATTEMPTS)]
