"""Writes of a stock record's measures (docs/architecture.md, "Supply measures"): each
moves ``available`` by what the supply formula says the change is worth, in one update.

DynamoDB allows one ``+`` or ``-`` per SET clause and no arithmetic in conditions, so an
absolute value moves ``available`` by a delta computed here from the measure's earlier
value, and the write is conditioned on that value: a concurrent writer of the same
measure makes it fail (its old image comes back) and it is computed again, so no update
is lost. The earlier values are what this environment last saw of the record: one
request when they are right, two when not. Under the default formula (supply is onHand)
an absolute onHand needs no earlier value: ``available = :onHand - reserved``.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..commands import SetThreshold
from ..errors import Contention
from ..records import SERVICE, Cause, Receipt, StockLevel
from ..supply import ON_HAND, Formula
from .idempotency import raise_if_key_taken
from .items import LOW_STOCK, measures_of, stock_level_from_item
from .keys import PK, n, stock_key
from .receipts import ReceiptLedger
from .shards import ShardStore
from .stock_conditions import (
    COUNTED,
    SHARDED_TAKES,
    StaleSequence,
    VersionMismatch,
    Versions,
    at_version,
    refuse_serialized,
    sequence_attribute,
    serialized_refusal,
    version_condition,
)
from .stock_expressions import IDENTITY_SET, NEXT_VERSION, add_cause, identity, move_measure
from .transact import TransactionCancelled, conflict_or, error_code, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ATTEMPTS = 4  # writes of one measure racing this one, each making it compute again
KNOWN_RECORDS = 4096  # records whose measures an environment remembers


class MeasureWrites:
    """The writes of :class:`~.stock.StockStore` that set or move measures."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, ledger: ReceiptLedger, formula: Formula
    ) -> None:
        self._client = client
        self._name = table_name
        self._ledger = ledger
        self.formula = formula
        self.shards = ShardStore(client, table_name)
        self._known: OrderedDict[tuple[str, str], dict[str, int]] = OrderedDict()
        # Records seen sharded (docs/architecture.md, "Sharded stock"): their available is
        # spread over buckets, so a write moves it by a delta, never to onHand - reserved.
        self._sharded: set[tuple[str, str]] = set()

    def set_on_hand(
        self,
        sku: str,
        location: str,
        on_hand: int,
        now: int,
        *,
        expected_version: Versions | None = None,
        threshold: SetThreshold | None = None,
        cause: Cause = SERVICE,
    ) -> StockLevel:
        return self.set_measures(
            sku,
            location,
            {ON_HAND: on_hand},
            now,
            expected_version=expected_version,
            threshold=threshold,
            cause=cause,
        )

    def set_measures(
        self,
        sku: str,
        location: str,
        values: Mapping[str, int],
        now: int,
        *,
        expected_version: Versions | None = None,
        threshold: SetThreshold | None = None,
        cause: Cause = SERVICE,
    ) -> StockLevel:
        """Absolute measures; holds are kept. With ``expected_version`` (a compare-and-set,
        0 for a record that must not exist yet) VersionMismatch carries the record as it is
        when it moved."""
        known = self._known.get((sku, location), {})
        for _ in range(ATTEMPTS):
            update = self._set(sku, location, values, known, now, threshold, cause)
            if expected_version is not None:
                condition, versions = version_condition(expected_version)
                update["ConditionExpression"] += f" AND ({condition})"
                update["ExpressionAttributeValues"] |= versions
            old = self._update(update, sku, location, now)
            if isinstance(old, StockLevel):
                return old
            level = stock_level_from_item(old) if old else None
            if expected_version is not None and not at_version(level, expected_version):
                raise VersionMismatch(level)
            known = self._remember(old)  # another writer moved a measure since: again
            self._gather_for(old, known, values, now)
        raise Contention(f"stock {sku!r} at {location!r} kept changing; try again")

    def set_on_hand_with(
        self,
        before: StockLevel | None,
        after: StockLevel,
        remembered: dict[str, Any],
        *,
        token: str,
        threshold: SetThreshold | None = None,
        values: Mapping[str, int] | None = None,
        cause: Cause = SERVICE,
    ) -> None:
        """``values`` (default: ``after``'s onHand), written only if the record is still
        ``before`` (its version and what it holds), in one transaction with an idempotency
        key's answer. Raises VersionMismatch (read again), KeyCompleted or KeyInUse."""
        wanted = {ON_HAND: after.on_hand} if values is None else values
        known = {} if before is None else {ON_HAND: before.on_hand, **before.measures}
        update = self._set(
            after.sku, after.location, wanted, known, after.updated_at, threshold, cause
        )
        del update["ReturnValues"]
        condition, versions = version_condition(0 if before is None else before.version)
        update["ConditionExpression"] += f" AND ({condition})"
        update["ExpressionAttributeValues"] |= versions
        if before is None:
            update["ConditionExpression"] += f" AND attribute_not_exists({PK})"
        elif self._absolute(after.sku, after.location, wanted):
            # available is written as onHand - reserved: only right for the reserved read.
            update["ConditionExpression"] += " AND reserved = :reserved"
            update["ExpressionAttributeValues"][":reserved"] = n(before.reserved)
        try:
            transact(self._client, [{"Update": update}, remembered], token)
        except TransactionCancelled as cancelled:
            raise_if_key_taken(cancelled.reasons[-1])
            if cancelled.reasons[0].condition_failed:
                old = cancelled.reasons[0].item or {}
                refuse_serialized(old, after.sku, after.location)
                # Read again, and write again: as a delta if the record is sharded, after
                # units are gathered into it if it had too few.
                self._gather_for(old, self._remember(old), wanted, after.updated_at)
                raise VersionMismatch(None) from None
            raise conflict_or(cancelled) from None
        self._spread_known(after.sku, after.location, after.updated_at)

    def set_on_hand_in_sequence(
        self,
        sku: str,
        location: str,
        value: int,
        sequence: int,
        now: int,
        *,
        measure: str = ON_HAND,
        cause: Cause = SERVICE,
    ) -> StockLevel:
        """The ERP's absolute ``measure`` as of its ``sequence``: applied only when newer
        than the last one applied to that measure, so a late or replayed snapshot never
        rolls it back, and never touches another measure.

        Raises StaleSequence (with the sequence in place) otherwise.
        """
        known = self._known.get((sku, location), {})
        for _ in range(ATTEMPTS):
            update = self._set(
                sku,
                location,
                {measure: value},
                known,
                now,
                None,
                cause,
                (measure, sequence),
            )
            old = self._update(update, sku, location, now)
            if isinstance(old, StockLevel):
                return old
            applied = int(old.get(sequence_attribute(measure), {}).get("N", 0))
            if applied >= sequence:
                raise StaleSequence(applied)
            known = self._remember(old)
            self._gather_for(old, known, {measure: value}, now)
        raise Contention(f"stock {sku!r} at {location!r} kept changing; try again")

    def adjust_on_hand(
        self,
        receipt: Receipt,
        sku: str,
        location: str,
        delta: int,
        now: int,
        *,
        token: str,
        measure: str = ON_HAND,
        cause: Cause = SERVICE,
    ) -> None:
        """A relative change of a measure and its receipt, in one transaction: a relative
        change needs no earlier value. Raises AlreadyApplied when the receipt exists (the
        change is not made again)."""
        worth = delta * self.formula.coefficient(measure)
        for _ in range(ATTEMPTS):
            # A never-stocked record starts at zero: a receipt of goods creates it.
            update = move_measure(
                self._name, sku, location, delta, now, measure, self.formula.coefficient(measure)
            )
            update["ConditionExpression"] = COUNTED
            if worth < 0:
                update["ConditionExpression"] += f" AND ({SHARDED_TAKES})"
                update["ExpressionAttributeNames"]["#closed"] = "closed"
                update["ExpressionAttributeValues"][":gives"] = n(-worth)
            add_cause(update, cause)
            try:
                self._ledger.transact_with([{"Update": update}], receipt, now, token)
                if worth > 0:
                    self._spread_known(sku, location, now)
                return
            except TransactionCancelled as cancelled:
                if not cancelled.reasons[0].condition_failed:
                    raise
                old = cancelled.reasons[0].item or {}
                if "bucketsEver" not in old:
                    raise serialized_refusal(sku, location) from None
                self.shards.gather(sku, location, -worth, now)
                # Certainly not applied, and the next attempt differs: a token is bound to
                # its first request's parameters for ten minutes.
                token = uuid.uuid4().hex
        raise Contention(f"stock {sku!r} at {location!r} kept changing; try again")

    # --- the update -------------------------------------------------------------------------

    def _set(
        self,
        sku: str,
        location: str,
        values: Mapping[str, int],
        known: Mapping[str, int],
        now: int,
        threshold: SetThreshold | None,
        cause: Cause,
        sequence: tuple[str, int] | None = None,
    ) -> dict[str, Any]:
        """The update of ``values``; with a ``sequence`` (measure, number) it also records
        the ERP's sequence of that measure and is refused unless it is newer."""
        sets = ["reserved = if_not_exists(reserved, :zero)", NEXT_VERSION, IDENTITY_SET]
        names = {"#location": "location"}
        attributes = {**identity(sku, location, now)}
        conditions = [COUNTED]
        if sequence is not None:
            sets.append("#sequence = :sequence")
            conditions.append("(attribute_not_exists(#sequence) OR #sequence < :sequence)")
            names["#sequence"] = sequence_attribute(sequence[0])
            attributes[":sequence"] = n(sequence[1])
        if self._absolute(sku, location, values):
            sets.insert(0, "onHand = :m0, available = :m0 - if_not_exists(reserved, :zero)")
            attributes[":m0"] = n(values[ON_HAND])
            conditions.append("attribute_not_exists(bucketsEver)")  # else: a delta
        else:
            for index, (measure, value) in enumerate(sorted(values.items())):
                names[f"#m{index}"] = measure
                attributes[f":m{index}"] = n(value)
                sets.insert(0, f"#m{index} = :m{index}")
                if measure in known:
                    attributes[f":was{index}"] = n(known[measure])
                    conditions.append(f"#m{index} = :was{index}")
                else:
                    conditions.append(f"attribute_not_exists(#m{index})")
            if ON_HAND not in values:  # every record has an onHand, zero until written
                sets.append("onHand = if_not_exists(onHand, :zero)")
            delta = self.formula.delta(known, values)
            attributes[":delta"] = n(delta)
            sets.append("available = if_not_exists(available, :zero) + :delta")
            if delta < 0:
                conditions.append(f"({SHARDED_TAKES})")
                names["#closed"] = "closed"
                attributes[":gives"] = n(-delta)
        expression = f"SET {', '.join(sets)}"
        if threshold is not None and threshold.value is not None:
            expression += f", {LOW_STOCK} = :threshold"
            attributes[":threshold"] = n(threshold.value)
        elif threshold is not None:
            expression += f" REMOVE {LOW_STOCK}"
        update = {
            "TableName": self._name,
            "Key": stock_key(sku, location),
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attributes,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        add_cause(update, cause)
        return update

    def _absolute(self, sku: str, location: str, values: Mapping[str, int]) -> bool:
        """Under the default formula an onHand alone sets available outright, except on a
        sharded record, whose reserved is spread over its buckets."""
        sharded = (sku, location) in self._sharded
        return self.formula.is_default and set(values) == {ON_HAND} and not sharded

    def _gather_for(
        self, old: Mapping[str, Any], known: Mapping[str, int], values: Mapping[str, int], now: int
    ) -> None:
        """After a refusal: when the record is sharded and has too little available for what
        the write takes from it, gather units from its buckets into it; when even all of
        them are too few, its buckets close, and the write may leave it in debt."""
        if "bucketsEver" not in old:
            return
        gives = -self.formula.delta(known, values)
        if gives > 0 and int(old.get("available", {}).get("N", 0)) < gives:
            self.shards.gather(old["sku"]["S"], old["location"]["S"], gives, now)

    def _update(
        self, update: dict[str, Any], sku: str, location: str, now: int
    ) -> StockLevel | Mapping[str, Any]:
        """The record as the update wrote it, or as the refused update found it (empty: no
        record). A refusal because the stock is labels raises."""
        try:
            return self._written(self._client.update_item(**update)["Attributes"], now)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = self._old(error, sku, location)
        refuse_serialized(old, sku, location)
        return old

    def _old(self, error: ClientError, sku: str, location: str) -> Mapping[str, Any]:
        """The record a refused write found: from the refusal, or read where an engine
        leaves it out (DynamoDB Local before 2.0 does)."""
        old: Mapping[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
        if old is None:
            old = self._client.get_item(
                TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True
            ).get("Item")
        return old or {}

    def _spread_known(self, sku: str, location: str, now: int) -> None:
        """After a write that put units into a record this environment knows is sharded."""
        if (sku, location) in self._sharded:
            self.shards.spread(sku, location, now)

    def _written(self, item: Mapping[str, Any], spread_at: int | None = None) -> StockLevel:
        self._remember(item)
        return self.totalled(item, spread_at)

    def totalled(self, item: Mapping[str, Any], spread_at: int | None = None) -> StockLevel:
        """The record's level; a sharded record's available and reserved summed over its
        buckets, as consistent reads that no transaction refuses saw them. ``spread_at``: a
        write just put units into the record, to be spread over the buckets now."""
        level = stock_level_from_item(item)
        if "bucketsEver" not in item:
            return level
        seen = self.shards.snapshot(level.sku, level.location, exact=False)  # shown only
        if spread_at is not None:
            self.shards.spread(level.sku, level.location, spread_at, seen)
        return replace(level, available=seen.available, reserved=seen.reserved, shards=seen.shards)

    def _remember(self, item: Mapping[str, Any]) -> dict[str, int]:
        """The record's measures as this environment saw them last (a bounded LRU)."""
        if not item:
            return {}
        key = (item["sku"]["S"], item["location"]["S"])
        (self._sharded.add if "bucketsEver" in item else self._sharded.discard)(key)
        self._known[key] = measures = measures_of(item)
        self._known.move_to_end(key)
        if len(self._known) > KNOWN_RECORDS:
            self._known.popitem(last=False)
        return measures
