"""Stock records: one per (sku, location), with ``available`` kept equal to supply minus
``reserved`` by every write (docs/architecture.md, "Invariants"); the writes of measures
are in :mod:`.measure_writes`."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import Contention
from ..records import SERVICE, Cause, Inventory, Line, StockLevel
from ..supply import DEFAULT_FORMULA, Formula
from .keys import LOCATION_PREFIX, PK, SK, n, s, shard_key, stock_key, stock_pk
from .measure_writes import MeasureWrites
from .pages import query_all
from .receipts import ReceiptLedger
from .stock_conditions import ANY_VERSION, COUNTED, StaleSequence, VersionMismatch, Versions
from .stock_expressions import IDENTITY_SET, add_cause, identity

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["ANY_VERSION", "COUNTED", "StaleSequence", "StockStore", "VersionMismatch", "Versions"]


UNSHARDED = "attribute_not_exists(shards)"


class StockCounts(NamedTuple):
    available: int
    reserved: int


BATCH_GET_LIMIT = 100  # keys per BatchGetItem, DynamoDB's limit
# Rounds for keys a BatchGetItem left unprocessed (throttling, or over 16 MB): each waits
# twice as long as the one before, from 20 ms.
UNPROCESSED_ROUNDS = 6


class StockStore(MeasureWrites):
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        ledger: ReceiptLedger,
        formula: Formula = DEFAULT_FORMULA,
    ) -> None:
        super().__init__(client, table_name, ledger, formula)

    # --- items of other transactions ------------------------------------------------------

    def hold_item(self, line: Line, now: int, oversell_limit: int) -> dict[str, Any]:
        """Reserve a line's quantity: the no-oversell guard is ``available >= :q``. The old
        record comes back with a refusal, so the caller can name the short line."""
        if line.allow_oversell and not line.placed:
            # The oversell bound: available - q >= -limit, with the subtraction done here
            # (conditions have no arithmetic). A missing record counts as 0 available, so
            # it may be created only by a line the bound admits on its own; it then shows
            # the debt.
            condition = "available >= :floor"
            if line.quantity <= oversell_limit:
                condition += " OR attribute_not_exists(available)"
            # A sharded record oversells nothing: its buckets would still take reserves
            # while it was in debt (docs/architecture.md, invariant 9). There the line takes
            # what the record has, or is refused and placed on a bucket like any other.
            condition = f"({condition}) AND {UNSHARDED} OR available >= :q"
            condition = f"attribute_not_exists(serialized) AND ({condition})"
            return {
                "Update": {
                    "TableName": self._name,
                    "Key": stock_key(line.sku, line.location),
                    "UpdateExpression": (
                        "SET reserved = if_not_exists(reserved, :zero) + :q, "
                        "available = if_not_exists(available, :zero) - :q, "
                        "onHand = if_not_exists(onHand, :zero), "
                        f"version = if_not_exists(version, :one), {IDENTITY_SET}"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#location": "location"},
                    "ExpressionAttributeValues": {
                        ":q": n(line.quantity),
                        ":floor": n(line.quantity - oversell_limit),
                        **identity(line.sku, line.location, now),
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        if line.bucket:
            # A closed bucket (its record is in debt, invariant 9) takes nothing.
            condition = "available >= :q AND attribute_not_exists(#closed)"
        else:
            # A missing record fails it too: unknown stock is short. Serialized stock is
            # taken by label only (the labels' own conditions guard those lines).
            condition = "available >= :q" + (
                "" if line.labels else " AND attribute_not_exists(serialized)"
            )
            if not line.placed:
                # Placed without knowing the record: a sharded one refuses it, and its old
                # image tells this environment the buckets (docs/architecture.md, "Sharded stock").
                condition += f" AND {UNSHARDED}"
        return {
            "Update": {
                "TableName": self._name,
                "Key": shard_key(line.sku, line.location, line.bucket),
                "UpdateExpression": (
                    "SET reserved = reserved + :q, available = available - :q, updatedAt = :now"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": {":q": n(line.quantity), ":now": n(now)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **({"ExpressionAttributeNames": {"#closed": "closed"}} if line.bucket else {}),
            }
        }

    def settle_items(
        self,
        sku: str,
        location: str,
        released: int,
        consumed: int,
        now: int,
        cause: Cause = SERVICE,
        bucket: int = 0,
    ) -> list[dict[str, Any]]:
        """The settlement of a line on ``bucket``: there its ``reserved`` drops and what is
        released becomes available again; what is consumed also leaves the record's onHand,
        a second item when the bucket is not the record itself (docs/architecture.md,
        "Sharded stock")."""
        if not bucket:
            return [self.settle_item(sku, location, released, consumed, now, cause)]
        items = [
            {
                "Update": {
                    "TableName": self._name,
                    "Key": shard_key(sku, location, bucket),
                    "UpdateExpression": (
                        "SET reserved = reserved - :settled, available = available + :released, "
                        "updatedAt = :now"
                    ),
                    "ConditionExpression": "reserved >= :settled",
                    "ExpressionAttributeValues": {
                        ":released": n(released),
                        ":settled": n(released + consumed),
                        ":now": n(now),
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        if consumed:  # the goods leave the record's onHand; its available does not move
            shipped = {
                "TableName": self._name,
                "Key": stock_key(sku, location),
                "UpdateExpression": (
                    "SET onHand = onHand - :consumed, updatedAt = :now, "
                    "version = if_not_exists(version, :zero) + :one"
                ),
                "ExpressionAttributeValues": {
                    ":consumed": n(consumed),
                    ":now": n(now),
                    ":zero": n(0),
                    ":one": n(1),
                },
            }
            add_cause(shipped, cause)
            items.append({"Update": shipped})
        return items

    def settle_item(
        self,
        sku: str,
        location: str,
        released: int,
        consumed: int,
        now: int,
        cause: Cause = SERVICE,
    ) -> dict[str, Any]:
        """Released stock becomes available again; consumed stock leaves onHand and reserved
        together, so ``available`` does not move when goods ship. Whatever a caller claims,
        ``reserved`` never drops below zero: a settlement the record cannot account for is
        refused with the transaction it is in. Shipped goods are a movement of onHand:
        ``cause`` says whose."""
        update = (
            "SET onHand = onHand - :consumed, reserved = reserved - :settled, "
            "available = available + :released, updatedAt = :now"
        )
        values = {
            ":consumed": n(consumed),
            ":released": n(released),
            ":settled": n(released + consumed),
            ":now": n(now),
        }
        if consumed:
            update += ", version = if_not_exists(version, :zero) + :one"
            values |= {":zero": n(0), ":one": n(1)}
        item = {
            "TableName": self._name,
            "Key": stock_key(sku, location),
            "UpdateExpression": update,
            "ConditionExpression": "reserved >= :settled",
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if consumed:
            add_cause(item, cause)
        return {"Update": item}

    # --- reads ----------------------------------------------------------------------------

    def get_inventory(self, sku: str) -> Inventory:
        levels = [
            self.totalled(item)
            for item in query_all(
                self._client,
                TableName=self._name,
                KeyConditionExpression=f"{PK} = :pk AND begins_with({SK}, :loc)",
                ExpressionAttributeValues={":pk": stock_pk(sku), ":loc": s(LOCATION_PREFIX)},
                ConsistentRead=True,
            )
        ]
        return Inventory(sku=sku, locations=levels)

    def get_counts(
        self, records: Iterable[tuple[str, str]], *, consistent: bool = True
    ) -> dict[tuple[str, str], StockCounts]:
        """What allocation reads of these (sku, location)s' stock records that exist: one
        BatchGetItem per 100, more only for keys DynamoDB leaves unprocessed (it says which,
        and they are asked again after a pause). Only the four attributes it needs are read:
        less for DynamoDB to send and for botocore to parse on a reserve's path."""
        wanted = list(dict.fromkeys(records))  # a batch refuses a key twice
        found: dict[tuple[str, str], StockCounts] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [stock_key(sku, loc) for sku, loc in wanted[start : start + BATCH_GET_LIMIT]]
            for round_ in range(UNPROCESSED_ROUNDS):
                response = self._client.batch_get_item(
                    RequestItems={
                        self._name: {
                            "Keys": keys,
                            "ConsistentRead": consistent,
                            "ProjectionExpression": (
                                "sku, #location, available, reserved, serialized, bucketsEver"
                            ),
                            "ExpressionAttributeNames": {"#location": "location"},
                        }
                    }
                )
                for item in response.get("Responses", {}).get(self._name, []):
                    # Serialized stock is reserved by label: nothing to allocate from.
                    available = 0 if "serialized" in item else int(item["available"]["N"])
                    counts = StockCounts(available, int(item["reserved"]["N"]))
                    if "bucketsEver" in item:  # a sharded record: the sum of its buckets
                        seen = self.shards.snapshot(
                            item["sku"]["S"], item["location"]["S"], exact=False
                        )
                        counts = StockCounts(seen.available, seen.reserved)
                    found[(item["sku"]["S"], item["location"]["S"])] = counts
                left = response.get("UnprocessedKeys", {}).get(self._name)
                if not left:
                    break
                keys = list(left["Keys"])
                time.sleep(0.02 * 2**round_)
            else:
                raise Contention("stock records could not be read in time; try again")
        return found

    def get_level(self, sku: str, location: str) -> StockLevel | None:
        item = self._client.get_item(
            TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return self._written(item)  # its measures are known now
