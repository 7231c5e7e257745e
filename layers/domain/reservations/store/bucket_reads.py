"""Reading a sharded stock record's buckets (docs/architecture.md, "Sharded stock"): all of
them at one instant for a refusal, or by consistent reads no transaction cancels for totals
that are only shown."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import Contention
from .items import LOW_STOCK
from .keys import PK, Entity, entity_of, shard_key, stock_key
from .transact import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

UNPROCESSED_ROUNDS = 6  # rounds of a BatchGetItem's unprocessed keys
SNAPSHOT_ATTEMPTS = 10  # a TransactGetItems is cancelled while any bucket is in a transaction
SNAPSHOT_PAUSE = 0.002  # seconds, doubled per attempt, jittered


@dataclass(frozen=True, slots=True)
class Bucket:
    available: int = 0
    reserved: int = 0
    # A bucket: takes no reserve. The record: its buckets are closed because it is in debt
    # (invariant 9), so a write may take it below zero.
    closed: bool = False
    exists: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every bucket of one stock record as one serializable read saw them: index is the
    bucket, 0 the record itself."""

    sku: str
    location: str
    shards: int  # the active count: buckets 0 .. shards-1 take reserves
    buckets: tuple[Bucket, ...]  # every bucket that may exist, 0 .. bucketsEver-1
    serialized: bool = False
    version: int = 0  # the record's: If-Match on a reshard compares it
    threshold: int | None = None  # the record's lowStockThreshold

    @property
    def available(self) -> int:
        return sum(bucket.available for bucket in self.buckets)

    @property
    def reserved(self) -> int:
        return sum(bucket.reserved for bucket in self.buckets)

    def even(self, shards: int) -> list[int]:
        """Each bucket's share of the total available over ``shards`` active buckets (the
        rest get none). In debt, bucket 0 takes all of it (invariant 9)."""
        total = self.available
        count = max(shards, len(self.buckets))
        if total < 0:
            return [total] + [0] * (count - 1)
        share, extra = divmod(total, shards)
        return [share + (1 if b < extra else 0) if b < shards else 0 for b in range(count)]


class BucketReads:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._name = table_name

    def snapshot(self, sku: str, location: str, exact: bool = True) -> Snapshot:
        """One consistent read of the record, then one ``TransactGetItems`` of it and every
        bucket it ever had, so the buckets are seen at one instant: a sum of reads made one
        after another could miss units a move carried between them. Not ``exact``: one
        consistent ``BatchGetItem`` instead, which no transaction cancels; for totals that
        are shown, never for a refusal."""
        record = self._client.get_item(
            TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True
        ).get("Item")
        ever = int(record.get("bucketsEver", {}).get("N", 1)) if record else 1
        for attempt in range(SNAPSHOT_ATTEMPTS):
            keys = [shard_key(sku, location, bucket) for bucket in range(ever)]
            items = self._read_all(keys) if not exact else self._read_at_once(keys)
            if items is None:  # a transaction had one of them ongoing: read again
                time.sleep(random.uniform(0, SNAPSHOT_PAUSE * 2**attempt))
                continue
            seen = int((items[0] or {}).get("bucketsEver", {}).get("N", 1))
            if seen > ever:  # buckets were added since the first read
                ever = seen
                continue
            return snapshot_of(sku, location, items)
        raise Contention(f"the buckets of {sku!r} at {location!r} kept changing; try again")

    def _read_at_once(self, keys: list[dict[str, Any]]) -> list[dict[str, Any] | None] | None:
        try:
            answer = self._client.transact_get_items(
                TransactItems=[{"Get": {"TableName": self._name, "Key": k}} for k in keys]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            return None
        return [response.get("Item") for response in answer["Responses"]]

    def _read_all(self, keys: list[dict[str, Any]]) -> list[dict[str, Any] | None] | None:
        found: dict[str, dict[str, Any]] = {}
        wanted = {"Keys": keys, "ConsistentRead": True}
        for _ in range(UNPROCESSED_ROUNDS):
            request: Any = {self._name: wanted}  # botocore's TypedDicts, in one place
            answer = self._client.batch_get_item(RequestItems=request)
            found |= {item[PK]["S"]: item for item in answer["Responses"].get(self._name, [])}
            left = answer.get("UnprocessedKeys", {}).get(self._name)
            if not left:
                return [found.get(key[PK]["S"]) for key in keys]
            wanted = {"Keys": left["Keys"], "ConsistentRead": True}
        return None

    def peek(self, sku: str, location: str) -> dict[str, Any] | None:
        """What a placement needs of a stock record: one eventually consistent read."""
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._name,
            Key=stock_key(sku, location),
            ProjectionExpression="sku, #location, entity, available, shards, bucketsEver",
            ExpressionAttributeNames={"#location": "location"},
        ).get("Item")
        return item


def of_sharded_record(item: Mapping[str, Any]) -> bool:
    """Whether an item is a bucket, or a stock record that was ever sharded."""
    return "bucketsEver" in item or entity_of(item) is Entity.SHARD


def bucket_from_item(item: Mapping[str, Any]) -> Bucket:
    """A bucket item, or the stock record as bucket 0."""
    return Bucket(
        available=int(item.get("available", {}).get("N", 0)),
        reserved=int(item.get("reserved", {}).get("N", 0)),
        closed="closed" in item,
        exists=True,
    )


def snapshot_of(sku: str, location: str, items: list[dict[str, Any] | None]) -> Snapshot:
    record = items[0] or {}
    buckets = tuple(bucket_from_item(item) if item else Bucket() for item in items)
    return Snapshot(
        sku=sku,
        location=location,
        shards=int(record.get("shards", {}).get("N", 1)),
        buckets=buckets,
        serialized="serialized" in record,
        version=int(record.get("version", {}).get("N", 0)),
        threshold=int(record[LOW_STOCK]["N"]) if LOW_STOCK in record else None,
    )
