"""Stock records: one per (sku, location), with ``available`` kept equal to
``onHand - reserved`` by every write (docs/architecture.md, "Invariants")."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from ..commands import SetThreshold
from ..errors import Contention, StockSerialized
from ..records import Inventory, Line, Receipt, StockLevel
from .idempotency import raise_if_key_taken
from .items import LOW_STOCK, stock_level_from_item
from .keys import LOCATION_PREFIX, PK, SK, n, s, stock_key, stock_pk
from .pages import query_all
from .receipts import ReceiptLedger
from .stock_expressions import IDENTITY_SET, NEXT_VERSION, identity, move_on_hand
from .transact import TransactionCancelled, conflict_or, error_code, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class VersionMismatch(Exception):
    """A compare-and-set found the record at another version (``current``; None: no record)."""

    def __init__(self, current: StockLevel | None) -> None:
        super().__init__("the stock record moved")
        self.current = current


class StaleSequence(Exception):
    """A ``stock.set`` no newer than the last one applied to the record."""

    def __init__(self, current: int) -> None:
        super().__init__(f"sequence {current} is already applied")
        self.current = current


# Counted writes (onHand) are refused where stock is made of labels (issue 16).
COUNTED = "attribute_not_exists(serialized)"


def _serialized(sku: str, location: str) -> StockSerialized:
    return StockSerialized(
        f"the stock of {sku!r} at {location!r} is its labels: "
        "write the labels (PUT /labels/{label}, label.upsert), not onHand"
    )


def _refuse_serialized(old: Mapping[str, Any] | None, sku: str, location: str) -> None:
    if old and "serialized" in old:
        raise _serialized(sku, location)


ANY_VERSION = -1  # If-Match: *, any record that exists
Versions = int | tuple[int, ...]  # one version, or any of several (an If-Match list)


class StockCounts(NamedTuple):
    available: int
    reserved: int


BATCH_GET_LIMIT = 100  # keys per BatchGetItem, DynamoDB's limit
# Rounds for keys a BatchGetItem left unprocessed (throttling, or over 16 MB): each waits
# twice as long as the one before, from 20 ms.
UNPROCESSED_ROUNDS = 6


def _version_condition(expected: Versions) -> tuple[str, dict[str, Any]]:
    """The record is at ``expected`` (or any of them); 0 also matches a record not written
    yet (or written before records had a version); ANY_VERSION any record that exists."""
    wanted = (expected,) if isinstance(expected, int) else expected
    if ANY_VERSION in wanted:
        return f"attribute_exists({PK})", {}
    values = {f":v{index}": n(version) for index, version in enumerate(wanted)}
    condition = f"version IN ({', '.join(values)})"
    if 0 in wanted:
        condition = f"attribute_not_exists(version) OR {condition}"
    return condition, values


class StockStore:
    def __init__(self, client: DynamoDBClient, table_name: str, ledger: ReceiptLedger) -> None:
        self._client = client
        self._name = table_name
        self._ledger = ledger

    # --- items of other transactions ------------------------------------------------------

    def hold_item(self, line: Line, now: int, oversell_limit: int) -> dict[str, Any]:
        """Reserve a line's quantity: the no-oversell guard is ``available >= :q``. The old
        record comes back with a refusal, so the caller can name the short line."""
        if line.allow_oversell:
            # The oversell bound: available - q >= -limit, with the subtraction done here
            # (conditions have no arithmetic). A missing record counts as 0 available, so
            # it may be created only by a line the bound admits on its own; it then shows
            # the debt.
            condition = "available >= :floor"
            if line.quantity <= oversell_limit:
                condition += " OR attribute_not_exists(available)"
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
        return {
            "Update": {
                "TableName": self._name,
                "Key": stock_key(line.sku, line.location),
                "UpdateExpression": (
                    "SET reserved = reserved + :q, available = available - :q, updatedAt = :now"
                ),
                # A missing record fails it too: unknown stock is short. Serialized stock is
                # taken by label only (the labels' own conditions guard those lines).
                "ConditionExpression": "available >= :q"
                + ("" if line.labels else " AND attribute_not_exists(serialized)"),
                "ExpressionAttributeValues": {":q": n(line.quantity), ":now": n(now)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def settle_item(
        self, sku: str, location: str, released: int, consumed: int, now: int
    ) -> dict[str, Any]:
        """Released stock becomes available again; consumed stock leaves onHand and reserved
        together, so ``available`` does not move when goods ship. Whatever a caller claims,
        ``reserved`` never drops below zero: a settlement the record cannot account for is
        refused with the transaction it is in."""
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
        return {
            "Update": {
                "TableName": self._name,
                "Key": stock_key(sku, location),
                "UpdateExpression": update,
                "ConditionExpression": "reserved >= :settled",
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    # --- reads ----------------------------------------------------------------------------

    def get_inventory(self, sku: str) -> Inventory:
        levels = [
            stock_level_from_item(item)
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
                                "sku, #location, available, reserved, serialized"
                            ),
                            "ExpressionAttributeNames": {"#location": "location"},
                        }
                    }
                )
                for item in response.get("Responses", {}).get(self._name, []):
                    # Serialized stock is reserved by label: nothing to allocate from.
                    available = 0 if "serialized" in item else int(item["available"]["N"])
                    counts = StockCounts(available, int(item["reserved"]["N"]))
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
        return None if item is None else stock_level_from_item(item)

    # --- writes ---------------------------------------------------------------------------

    def set_on_hand(
        self,
        sku: str,
        location: str,
        on_hand: int,
        now: int,
        *,
        expected_version: Versions | None = None,
        threshold: SetThreshold | None = None,
    ) -> StockLevel:
        """Absolute physical stock. Holds are kept; ``available`` is computed in the write.
        With ``expected_version`` (a compare-and-set, 0 for a record that must not exist
        yet) VersionMismatch carries the record as it is when it moved."""
        update = self._set_on_hand(sku, location, on_hand, now, threshold)
        if expected_version is not None:
            condition, values = _version_condition(expected_version)
            update["ConditionExpression"] = f"({condition}) AND {COUNTED}"
            update["ExpressionAttributeValues"] |= values
        try:
            response = self._client.update_item(**update)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            _refuse_serialized(old, sku, location)
            raise VersionMismatch(stock_level_from_item(old) if old else None) from None
        return stock_level_from_item(response["Attributes"])

    def set_on_hand_with(
        self,
        before: StockLevel | None,
        after: StockLevel,
        remembered: dict[str, Any],
        *,
        token: str,
        threshold: SetThreshold | None = None,
    ) -> None:
        """``after``'s onHand, written only if the record is still ``before`` (its version
        and what it holds), in one transaction with an idempotency key's answer. Raises
        VersionMismatch (read again), KeyCompleted or KeyInUse."""
        update = self._set_on_hand(
            after.sku, after.location, after.on_hand, after.updated_at, threshold
        )
        del update["ReturnValues"]
        condition, values = _version_condition(0 if before is None else before.version)
        update["ConditionExpression"] = f"({condition}) AND {COUNTED}"
        update["ExpressionAttributeValues"] |= values
        if before is None:
            update["ConditionExpression"] += f" AND attribute_not_exists({PK})"
        else:
            update["ConditionExpression"] += " AND reserved = :reserved"
            update["ExpressionAttributeValues"][":reserved"] = n(before.reserved)
        try:
            transact(self._client, [{"Update": update}, remembered], token)
        except TransactionCancelled as cancelled:
            raise_if_key_taken(cancelled.reasons[-1])
            if cancelled.reasons[0].condition_failed:
                _refuse_serialized(cancelled.reasons[0].item, after.sku, after.location)
                raise VersionMismatch(None) from None
            raise conflict_or(cancelled) from None

    def set_on_hand_in_sequence(
        self, sku: str, location: str, on_hand: int, sequence: int, now: int
    ) -> StockLevel:
        """The ERP's absolute stock as of its ``sequence``: applied only when newer than the
        last one applied, so a late or replayed snapshot never rolls stock back.

        Raises StaleSequence (with the sequence in place) otherwise.
        """
        update = self._set_on_hand(sku, location, on_hand, now)
        update["UpdateExpression"] += ", erpSequence = :sequence"
        update["ConditionExpression"] = (
            f"(attribute_not_exists(erpSequence) OR erpSequence < :sequence) AND {COUNTED}"
        )
        update["ExpressionAttributeValues"][":sequence"] = n(sequence)
        try:
            response = self._client.update_item(**update)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            _refuse_serialized(old, sku, location)
            raise StaleSequence(int(old.get("erpSequence", {}).get("N", sequence))) from None
        return stock_level_from_item(response["Attributes"])

    def _set_on_hand(
        self,
        sku: str,
        location: str,
        on_hand: int,
        now: int,
        threshold: SetThreshold | None = None,
    ) -> dict[str, Any]:
        expression = (
            "SET onHand = :onHand, reserved = if_not_exists(reserved, :zero), "
            "available = :onHand - if_not_exists(reserved, :zero), "
            f"{NEXT_VERSION}, {IDENTITY_SET}"
        )
        values = {":onHand": n(on_hand), **identity(sku, location, now)}
        if threshold is not None and threshold.value is not None:
            expression += f", {LOW_STOCK} = :threshold"
            values[":threshold"] = n(threshold.value)
        elif threshold is not None:
            expression += f" REMOVE {LOW_STOCK}"
        return {
            "TableName": self._name,
            "Key": stock_key(sku, location),
            "UpdateExpression": expression,
            "ConditionExpression": COUNTED,
            "ExpressionAttributeNames": {"#location": "location"},
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def adjust_on_hand(
        self, receipt: Receipt, sku: str, location: str, delta: int, now: int, *, token: str
    ) -> None:
        """A relative change of physical stock and its receipt, in one transaction.

        Raises AlreadyApplied when the receipt exists (the change is not made again).
        """
        # A never-stocked record starts at zero: a receipt of goods creates it.
        adjust = {"Update": move_on_hand(self._name, sku, location, delta, now)}
        adjust["Update"]["ConditionExpression"] = COUNTED
        try:
            self._ledger.transact_with([adjust], receipt, now, token)
        except TransactionCancelled as cancelled:
            if cancelled.reasons[0].condition_failed:
                raise _serialized(sku, location) from None  # its only condition
            raise
