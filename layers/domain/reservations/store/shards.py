"""The buckets of a sharded stock record (docs/architecture.md, "Sharded stock"): moving
units between them without losing any (reading them: bucket_reads.py).

Bucket 0 is the stock record itself; buckets 1 .. N-1 are items of their own, each on its
own partition key. A move is one transaction: a bucket that gives is conditioned on still
having what it gives, so concurrent reserves can make a move fail but never make it
create or lose a unit.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from ..errors import Contention, StockSerialized
from .bucket_reads import Bucket, BucketReads, Snapshot
from .idempotency import raise_if_key_taken
from .keys import Entity, n, s, shard_key, stock_key
from .stock_alerts import alerts_item
from .stock_conditions import VersionMismatch
from .transact import TransactionCancelled, conflict_or, transact

MAX_SHARDS = 64  # the API's cap: a move of every bucket stays within 100 items
ATTEMPTS = 6  # moves outrun by reserves before the caller is told to try again
MOVE_PAUSE = 0.002  # seconds before a move's next plan, doubled per attempt, jittered


class ShardStore(BucketReads):
    def reshard(
        self,
        sku: str,
        location: str,
        shards: int,
        now: int,
        version: int | None = None,
        also: Callable[[Snapshot], Sequence[dict[str, Any]]] | None = None,
    ) -> Snapshot:
        """Spread the record's available evenly over ``shards`` buckets (1 gathers it back
        into the record), closing the buckets beyond them; holds on a closed bucket stay
        there until they settle. Returns the snapshot it moved from. ``version``: only
        while the record is at it (else VersionMismatch); ``also``: the items the same
        transaction writes besides, given the snapshot (an idempotency key's answer)."""
        if not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 1 to {MAX_SHARDS}")
        for _ in range(ATTEMPTS):
            seen = self.snapshot(sku, location)
            if seen.serialized:
                raise StockSerialized(
                    f"the stock of {sku!r} at {location!r} is its labels: it cannot be sharded"
                )
            if not seen.buckets[0].exists:
                raise LookupError(f"no stock record for {sku!r} at {location!r}")
            if version is not None and seen.version != version:
                raise VersionMismatch(None)
            if shards == 1 and len(seen.buckets) == 1:
                return seen  # never sharded: nothing to gather
            try:
                key_items = list(also(seen)) if also else []
                extra = [*key_items, *self._first_alerts(seen)]
                self._move(seen, seen.even(shards), shards, now, reshard=True, also=extra)
            except TransactionCancelled as cancelled:
                if key_items:  # the key's answer follows the move's items
                    raise_if_key_taken(cancelled.reasons[len(cancelled.reasons) - len(extra)])
                if cancelled.any_condition_failed:
                    continue  # a giver had less than seen: look again
                raise conflict_or(cancelled) from None
            return seen
        raise Contention(f"the buckets of {sku!r} at {location!r} kept changing; try again")

    def _first_alerts(self, seen: Snapshot) -> list[dict[str, Any]]:
        """A record sharded for the first time: the crossings its own events told already,
        so that its totals' events do not tell them again (events/sharded_totals.py)."""
        if len(seen.buckets) > 1:
            return []
        total = seen.available
        crossed = {"low": seen.threshold is not None and total < seen.threshold}
        crossed["negative"] = total < 0
        return [alerts_item(self._name, seen.sku, seen.location, crossed)]

    def make_room(
        self, sku: str, location: str, quantity: int, now: int, target: int | None = None
    ) -> Snapshot:
        """Move units so that one active bucket has ``quantity`` (folding closed buckets
        and any debt into the record first; ``target``: that bucket, where a line already
        holds), and return the buckets as they are then; or
        as they are, when their total does not cover it. The snapshot is serializable: a
        total short there was short at one instant."""
        for attempt in range(ATTEMPTS):
            seen = self.snapshot(sku, location)
            if seen.available < quantity:
                return seen
            wanted = _gathered(seen, quantity, target)
            if wanted is None:
                return seen  # a bucket has it already, and nothing needs folding
            try:
                self._move(seen, wanted, seen.shards, now, reshard=False)
            except TransactionCancelled as cancelled:
                _look_again(cancelled, attempt)
                continue
            return replace(
                seen,
                buckets=tuple(
                    replace(b, available=w) for b, w in zip(seen.buckets, wanted, strict=True)
                ),
            )
        raise Contention(f"the buckets of {sku!r} at {location!r} kept changing; try again")

    def gather(self, sku: str, location: str, need: int, now: int) -> bool:
        """Move units into the record until it has ``need`` available, for a stock write
        about to take them from it: True. When all the buckets together do not have them,
        move everything into the record and close every bucket, since the write will leave
        the record in debt and no bucket may take a reserve then (invariant 9): False."""
        for attempt in range(ATTEMPTS):
            seen = self.snapshot(sku, location)
            debt_ahead = seen.available < need
            if debt_ahead:
                wanted = [seen.available] + [0] * (len(seen.buckets) - 1)
            else:
                gathered = _gathered(seen, need, target=0)
                if gathered is None:
                    return True
                wanted = gathered
            try:
                self._move(seen, wanted, seen.shards, now, reshard=False, close=debt_ahead)
            except TransactionCancelled as cancelled:
                _look_again(cancelled, attempt)
                continue
            return not debt_ahead
        raise Contention(f"the buckets of {sku!r} at {location!r} kept changing; try again")

    def spread(self, sku: str, location: str, now: int, seen: Snapshot | None = None) -> None:
        """Even the buckets out after a stock write put units into the record (a write
        lands on the record alone). One conditioned move, given up when reserves outrun
        it: units left in the record are still found by the next line that needs them.
        The write has committed by then, so nothing here may fail it."""
        with contextlib.suppress(TransactionCancelled, ClientError, Contention):
            # Not exact: the move is conditioned on each giver, a view at one instant
            # adds nothing, and a TransactGetItems could be cancelled until Contention.
            seen = seen or self.snapshot(sku, location, exact=False)
            wanted = seen.even(seen.shards)
            if seen.shards <= 1 or seen.available <= 0:
                return
            if wanted == [bucket.available for bucket in seen.buckets]:
                return
            self._move(seen, wanted, seen.shards, now, reshard=False)

    def _move(
        self,
        seen: Snapshot,
        wanted: list[int],
        shards: int,
        now: int,
        *,
        reshard: bool,
        close: bool = False,
        also: Sequence[dict[str, Any]] = (),
    ) -> None:
        """One transaction: each bucket to its ``wanted`` available. A reshard also writes
        the count on the record; a move leaves out every bucket it does not change."""
        debt = close or wanted[0] < 0
        ever = len(wanted)
        items: list[dict[str, Any]] = []
        if reshard or wanted[0] != seen.buckets[0].available or debt != seen.buckets[0].closed:
            items.append(self._record_update(seen, wanted[0], shards, ever, now, reshard, debt))
        for bucket in range(1, ever):
            was = seen.buckets[bucket] if bucket < len(seen.buckets) else Bucket()
            delta = wanted[bucket] - was.available
            if reshard or delta or debt != was.closed:
                items.append(self._bucket_update(seen, bucket, delta, debt, now))
        if items:  # nothing to change is no transaction (DynamoDB refuses an empty one)
            transact(self._client, [*items, *also], uuid.uuid4().hex)

    def _record_update(
        self,
        seen: Snapshot,
        wanted: int,
        shards: int,
        ever: int,
        now: int,
        reshard: bool,
        debt: bool,
    ) -> dict[str, Any]:
        delta = wanted - seen.buckets[0].available
        update: dict[str, Any] = {
            "TableName": self._name,
            "Key": stock_key(seen.sku, seen.location),
            "UpdateExpression": "SET available = available + :delta, updatedAt = :now",
            "ConditionExpression": "attribute_exists(available)",
            "ExpressionAttributeNames": {"#closed": "closed"},
            "ExpressionAttributeValues": {":delta": n(delta), ":now": n(now)},
        }
        if debt:  # the buckets close with it: a write may now take the record below zero
            update["UpdateExpression"] += ", #closed = :closed"
            update["ExpressionAttributeValues"][":closed"] = {"BOOL": True}
        else:
            # Open buckets only beside a record that is not in debt, whatever moved it since.
            update["ConditionExpression"] += " AND available >= :floor"
            update["ExpressionAttributeValues"][":floor"] = n(-delta)
        if not reshard:
            return {"Update": _closing(update, debt)}
        # A reshard is conditioned on the version it saw, so If-Match holds to the commit.
        update["ExpressionAttributeNames"]["#version"] = "version"
        if seen.version:
            update["ConditionExpression"] += " AND #version = :version"
            update["ExpressionAttributeValues"][":version"] = n(seen.version)
        else:
            update["ConditionExpression"] += " AND attribute_not_exists(#version)"
        update["UpdateExpression"] += ", bucketsEver = :ever"
        update["ExpressionAttributeValues"][":ever"] = n(ever)
        if shards > 1:
            update["UpdateExpression"] += ", shards = :shards"
            update["ExpressionAttributeValues"][":shards"] = n(shards)
        else:
            update["UpdateExpression"] += " REMOVE shards"
        return {"Update": _closing(update, debt)}

    def _bucket_update(
        self, seen: Snapshot, bucket: int, delta: int, closed: bool, now: int
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._name,
            "Key": shard_key(seen.sku, seen.location, bucket),
            "UpdateExpression": (
                "SET available = if_not_exists(available, :zero) + :delta, "
                "reserved = if_not_exists(reserved, :zero), sku = :sku, #location = :location, "
                "#bucket = :bucket, entity = :entity, updatedAt = :now"
            ),
            "ExpressionAttributeNames": {
                "#location": "location",
                "#bucket": "bucket",
                "#closed": "closed",
            },
            "ExpressionAttributeValues": {
                ":delta": n(delta),
                ":zero": n(0),
                ":sku": s(seen.sku),
                ":location": s(seen.location),
                ":bucket": n(bucket),
                ":entity": s(Entity.SHARD),
                ":now": n(now),
            },
        }
        if delta < 0:
            update["ConditionExpression"] = "available >= :gives"
            update["ExpressionAttributeValues"][":gives"] = n(-delta)
        if closed:
            update["UpdateExpression"] += ", #closed = :closed"
            update["ExpressionAttributeValues"][":closed"] = {"BOOL": True}
        else:
            update["UpdateExpression"] += " REMOVE #closed"
        return {"Update": update}


def _look_again(cancelled: TransactionCancelled, attempt: int) -> None:
    """A move refused for a giver's stock or a conflict is planned again from a new
    snapshot, after a jittered pause (the caller is a reserve or a write with no retry
    of its own around the move); anything else is raised."""
    if not (cancelled.any_condition_failed or cancelled.conflicted or cancelled.throttled):
        raise cancelled
    time.sleep(random.uniform(0, MOVE_PAUSE * 2**attempt))


def _closing(update: dict[str, Any], debt: bool) -> dict[str, Any]:
    """The record's flag goes with its debt: set by the update above, or removed here."""
    if not debt:
        removal = " REMOVE #closed" if " REMOVE " not in update["UpdateExpression"] else ", #closed"
        update["UpdateExpression"] += removal
    return update


def _gathered(seen: Snapshot, quantity: int, target: int | None = None) -> list[int] | None:
    """Each bucket's available after folding closed buckets and debt into the record and
    filling ``target`` (default: the fullest active bucket) up to ``quantity`` from the
    next fullest; None when an open bucket (``target``, if named) has it and nothing needs
    folding. The total covers ``quantity``."""
    available = [bucket.available for bucket in seen.buckets]
    active = range(min(seen.shards, len(available)))
    stranded = [b for b in range(1, len(available)) if (seen.buckets[b].closed or b >= seen.shards)]
    ready = [
        b
        for b in (active if target is None else [target])
        if available[b] >= quantity and not seen.buckets[b].closed
    ]
    if ready and available[0] >= 0 and not any(available[b] for b in stranded):
        return None
    for bucket in stranded:
        available[0] += available[bucket]
        available[bucket] = 0
    donors = sorted((b for b in active if b), key=lambda b: -available[b])
    for bucket in donors:  # debt: the record takes from the open buckets first
        if available[0] >= 0:
            break
        gives = min(available[bucket], -available[0])
        available[bucket] -= gives
        available[0] += gives
    if target is None:
        target = max(active, key=lambda b: available[b])
    for bucket in sorted(active, key=lambda b: -available[b]):
        missing = quantity - available[target]
        if missing <= 0:
            break
        if bucket != target:
            gives = min(available[bucket], missing)
            available[bucket] -= gives
            available[target] += gives
    return available
