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

from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..commands import SetThreshold
from ..errors import Contention, StockSerialized
from ..records import SERVICE, Cause, Receipt, StockLevel
from ..supply import ON_HAND, Formula
from .idempotency import raise_if_key_taken
from .items import LOW_STOCK, measures_of, stock_level_from_item
from .keys import PK, n, stock_key
from .receipts import ReceiptLedger
from .stock_expressions import IDENTITY_SET, NEXT_VERSION, add_cause, identity, move_measure
from .transact import TransactionCancelled, conflict_or, error_code, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Counted writes (onHand) are refused where stock is made of labels (issue 16).
COUNTED = "attribute_not_exists(serialized)"
ANY_VERSION = -1  # If-Match: *, any record that exists
Versions = int | tuple[int, ...]  # one version, or any of several (an If-Match list)
ATTEMPTS = 4  # writes of one measure racing this one, each making it compute again
KNOWN_RECORDS = 4096  # records whose measures an environment remembers


class VersionMismatch(Exception):
    """A compare-and-set found the record at another version (``current``; None: no record)."""

    def __init__(self, current: StockLevel | None) -> None:
        super().__init__("the stock record moved")
        self.current = current


class StaleSequence(Exception):
    """A ``stock.set`` no newer than the last one applied to the record's measure."""

    def __init__(self, current: int) -> None:
        super().__init__(f"sequence {current} is already applied")
        self.current = current


def serialized_refusal(sku: str, location: str) -> StockSerialized:
    return StockSerialized(
        f"the stock of {sku!r} at {location!r} is its labels: "
        "write the labels (PUT /labels/{label}, label.upsert), not onHand"
    )


def _refuse_serialized(old: Mapping[str, Any] | None, sku: str, location: str) -> None:
    if old and "serialized" in old:
        raise serialized_refusal(sku, location)


def version_condition(expected: Versions) -> tuple[str, dict[str, Any]]:
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


def sequence_attribute(measure: str) -> str:
    """Where the ERP's last applied ``stock.set`` sequence of a measure is kept."""
    return "erpSequence" if measure == ON_HAND else f"erpSequence#{measure}"


class MeasureWrites:
    """The writes of :class:`~.stock.StockStore` that set or move measures."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, ledger: ReceiptLedger, formula: Formula
    ) -> None:
        self._client = client
        self._name = table_name
        self._ledger = ledger
        self.formula = formula
        self._known: OrderedDict[tuple[str, str], dict[str, int]] = OrderedDict()

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
            old = self._update(update, sku, location)
            if isinstance(old, StockLevel):
                return old
            level = stock_level_from_item(old) if old else None
            if expected_version is not None and not _at(level, expected_version):
                raise VersionMismatch(level)
            known = self._remember(old)  # another writer moved a measure since: again
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
                sku, location, {measure: value}, known, now, None, cause, (measure, sequence)
            )
            old = self._update(update, sku, location)
            if isinstance(old, StockLevel):
                return old
            applied = int(old.get(sequence_attribute(measure), {}).get("N", 0))
            if applied >= sequence:
                raise StaleSequence(applied)
            known = self._remember(old)
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
        # A never-stocked record starts at zero: a receipt of goods creates it.
        update = move_measure(
            self._name, sku, location, delta, now, measure, self.formula.coefficient(measure)
        )
        update["ConditionExpression"] = COUNTED
        add_cause(update, cause)
        try:
            self._ledger.transact_with([{"Update": update}], receipt, now, token)
        except TransactionCancelled as cancelled:
            if cancelled.reasons[0].condition_failed:
                raise serialized_refusal(sku, location) from None  # its only condition
            raise

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
        if self.formula.is_default and set(values) == {ON_HAND}:
            sets.insert(0, "onHand = :m0, available = :m0 - if_not_exists(reserved, :zero)")
            attributes[":m0"] = n(values[ON_HAND])
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
            attributes[":delta"] = n(self.formula.delta(known, values))
            sets.append("available = if_not_exists(available, :zero) + :delta")
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

    def _update(
        self, update: dict[str, Any], sku: str, location: str
    ) -> StockLevel | Mapping[str, Any]:
        """The record as the update wrote it, or as the refused update found it (empty: no
        record). A refusal because the stock is labels raises."""
        try:
            return self._written(self._client.update_item(**update)["Attributes"])
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = self._old(error, sku, location)
        _refuse_serialized(old, sku, location)
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

    def _written(self, item: Mapping[str, Any]) -> StockLevel:
        self._remember(item)
        return stock_level_from_item(item)

    def _remember(self, item: Mapping[str, Any]) -> dict[str, int]:
        """The record's measures as this environment saw them last (a bounded LRU)."""
        if not item:
            return {}
        key = (item["sku"]["S"], item["location"]["S"])
        self._known[key] = measures = measures_of(item)
        self._known.move_to_end(key)
        if len(self._known) > KNOWN_RECORDS:
            self._known.popitem(last=False)
        return measures


def _at(level: StockLevel | None, expected: Versions) -> bool:
    """Whether a compare-and-set would have found ``level`` at ``expected``."""
    wanted = (expected,) if isinstance(expected, int) else expected
    if ANY_VERSION in wanted:
        return level is not None
    return (0 if level is None else level.version) in wanted
