"""Serialized labels: items of their own, and the stock records they make up
(docs/architecture.md, "Serialized labels"). A label write moves its stock record's onHand
in the same transaction; a hold takes and gives back labels in its own transactions, with
the items this module builds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..records import SERVICE, Cause, Label, LabelHold, LabelStatus, Line, Reservation
from .idempotency import raise_if_key_taken
from .keys import (
    PK,
    SKU_LABELS_INDEX,
    TTL_ATTRIBUTE,
    AttributeMap,
    Entity,
    label_key,
    n,
    s,
)
from .label_items import is_removed, label_from_item, label_item
from .stock_expressions import add_cause, move_on_hand
from .transact import TransactionCancelled, conflict_or, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Quantities this execution environment learned, so a reserve can name them in its one
# transaction; an unknown label is guessed a single unit (a serial number).
_KNOWN_QUANTITIES = 10_000


class LabelsRefused(Exception):
    """A reserve's labels whose condition failed, each with its item as it was (None: no such
    label), in the order the line named them."""

    def __init__(self, refused: list[tuple[str, int, AttributeMap | None]]) -> None:
        super().__init__(f"{len(refused)} label(s) refused")
        self.refused = refused


class LabelChanged(Exception):
    """The label (or its stock record's kind) moved since it was read: read it again."""


class CountedStock(Exception):
    """The (sku, location) holds counted stock: a label cannot be written there."""


class LabelStore:
    def __init__(self, client: DynamoDBClient, table_name: str, tombstone_seconds: int) -> None:
        self._client = client
        self._name = table_name
        self._tombstone_seconds = tombstone_seconds
        self._quantities: dict[str, int] = {}

    # --- what this environment knows of label quantities -------------------------------

    def guess(self, label: str) -> int:
        return self._quantities.get(label, 1)

    def learn(self, label: str, quantity: int) -> None:
        if len(self._quantities) >= _KNOWN_QUANTITIES and label not in self._quantities:
            self._quantities.pop(next(iter(self._quantities)))
        self._quantities[label] = quantity

    def _seen(self, label: Label) -> Label:
        self.learn(label.label, label.quantity)
        return label

    # --- reads ----------------------------------------------------------------------------

    def get_item(self, label: str) -> Mapping[str, Any] | None:
        """The label's item as stored, a tombstone too (strongly consistent)."""
        return self._client.get_item(
            TableName=self._name, Key=label_key(label), ConsistentRead=True
        ).get("Item")

    def get(self, label: str) -> Label | None:
        item = self.get_item(label)
        return None if item is None or is_removed(item) else self._seen(label_from_item(item))

    def page(
        self,
        sku: str,
        location: str | None,
        status: LabelStatus | None,
        limit: int,
        start: Mapping[str, Any] | None,
    ) -> tuple[list[Label], Mapping[str, Any] | None]:
        """One Query of SkuLabelsIndex: a sku's labels by location and number, and where the
        next page starts (None: no more)."""
        condition = "labelSku = :sku"
        values: AttributeMap = {":sku": s(sku)}
        if location is not None:
            condition += " AND begins_with(labelSort, :location)"
            values[":location"] = s(f"{location}#")
        query: dict[str, Any] = {
            "TableName": self._name,
            "IndexName": SKU_LABELS_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if status is not None:
            query["FilterExpression"] = "#status = :status"
            query["ExpressionAttributeNames"] = {"#status": "status"}
            values[":status"] = s(status.value)
        if start is not None:
            query["ExclusiveStartKey"] = start
        page = self._client.query(**query)
        labels = [self._seen(label_from_item(item)) for item in page.get("Items", [])]
        return labels, page.get("LastEvaluatedKey")

    # --- a label written (PUT /labels, the ERP) ---------------------------------------

    def write(
        self,
        before: Mapping[str, Any] | None,
        after: Label | None,
        now: int,
        *,
        token: str,
        remembered: dict[str, Any] | None = None,
        sequence: int | None = None,
        name: str | None = None,
        cause: Cause = SERVICE,
    ) -> None:
        """The label as ``after`` (None: removed, a tombstone of label ``name`` that keeps
        ``sequence``, the ERP's), written only if its item is still ``before``; every stock
        record it leaves or joins moves by what it counts there. Raises LabelChanged,
        CountedStock, KeyCompleted or KeyInUse."""
        old = None if before is None or is_removed(before) else label_from_item(before)
        version = 0 if before is None else int(before["version"]["N"])
        items: list[dict[str, Any]] = [self._label_put(before, after, version, now, sequence, name)]
        deltas: dict[tuple[str, str], int] = {}
        if old is not None:
            deltas[(old.sku, old.location)] = -old.in_stock
        if after is not None:
            key = (after.sku, after.location)
            deltas[key] = deltas.get(key, 0) + after.in_stock
        if old is not None:
            # A label that stays where it was with its quantity (a new bin) moves no stock.
            deltas = {key: delta for key, delta in deltas.items() if delta}
        stock_at = len(items)
        items += [
            self._stock_item(sku, loc, delta, now, cause) for (sku, loc), delta in deltas.items()
        ]
        if remembered is not None:
            items.append(remembered)
        try:
            transact(self._client, items, token)
        except TransactionCancelled as cancelled:
            if remembered is not None:
                raise_if_key_taken(cancelled.reasons[-1])
            if cancelled.reasons[0].condition_failed:
                raise LabelChanged(str(after or old)) from None
            for reason in cancelled.reasons[stock_at : stock_at + len(deltas)]:
                if reason.condition_failed:
                    counted = reason.item and "serialized" not in reason.item
                    raise (CountedStock() if counted else LabelChanged()) from None
            raise conflict_or(cancelled) from None
        if after is not None:
            self.learn(after.label, after.quantity)

    def _label_put(
        self,
        before: Mapping[str, Any] | None,
        after: Label | None,
        version: int,
        now: int,
        sequence: int | None,
        name: str | None,
    ) -> dict[str, Any]:
        if after is not None:
            item = label_item(after)
        else:
            assert before is not None or sequence is not None, "a tombstone keeps a sequence"
            name = name or before["label"]["S"]  # type: ignore[index]
            # A tombstone keeps the ERP's sequence, so a late upsert cannot bring it back.
            item = {
                **label_key(name),
                "entity": s(Entity.LABEL),
                "label": s(name),
                "removed": {"BOOL": True},
                "version": n(version + 1),
                "updatedAt": n(now),
                TTL_ATTRIBUTE: n(now + self._tombstone_seconds),
            }
            if sequence is not None:
                item["erpSequence"] = n(sequence)
            elif before is not None and "erpSequence" in before:
                item["erpSequence"] = before["erpSequence"]
        put: dict[str, Any] = {"TableName": self._name, "Item": item}
        if before is None:
            put["ConditionExpression"] = f"attribute_not_exists({PK})"
        else:
            put["ConditionExpression"] = "version = :version"
            put["ExpressionAttributeValues"] = {":version": before["version"]}
        return {"Put": put}

    def _stock_item(
        self, sku: str, location: str, delta: int, now: int, cause: Cause
    ) -> dict[str, Any]:
        """The stock record made of labels: onHand and available move together, and the
        record is marked serialized. A counted record may turn serialized only while it
        holds nothing; a label leaving takes only what is available (it was ACTIVE)."""
        condition = (
            "(serialized = :true OR attribute_not_exists(onHand) "
            "OR (onHand = :zero AND reserved = :zero))"
        )
        update = move_on_hand(self._name, sku, location, delta, now)
        update["UpdateExpression"] += ", serialized = :true"
        values = update["ExpressionAttributeValues"]
        values[":true"] = {"BOOL": True}
        if delta < 0:
            condition += " AND available >= :lost"
            values[":lost"] = n(-delta)
        update["ConditionExpression"] = condition
        add_cause(update, cause)
        return {"Update": update}

    # --- items of a hold's transactions ---------------------------------------------------

    def reserve_item(self, hold: LabelHold, line: Line, reservation: Reservation) -> dict[str, Any]:
        """Take a label whole for a line: it must be ACTIVE stock of the line's sku and
        location, of the quantity the line counted it at."""
        present: AttributeMap = {
            ":reserved": s(LabelStatus.RESERVED.value),
            ":rid": s(reservation.id),
            ":channel": s(reservation.channel),
            ":now": n(reservation.updated_at),
            ":one": n(1),
            ":active": s(LabelStatus.ACTIVE.value),
            ":sku": s(line.sku),
            ":location": s(line.location),
            ":quantity": n(hold.quantity),
        }
        update = (
            "SET #status = :reserved, reservationId = :rid, channel = :channel, "
            "updatedAt = :now, version = version + :one"
        )
        if reservation.order_id is not None:
            update += ", orderId = :order"
            present[":order"] = s(reservation.order_id)
        return {
            "Update": {
                "TableName": self._name,
                "Key": label_key(hold.label),
                "UpdateExpression": update,
                "ConditionExpression": (
                    "#status = :active AND sku = :sku AND #location = :location "
                    "AND quantity = :quantity AND attribute_not_exists(removed)"
                ),
                "ExpressionAttributeNames": {"#status": "status", "#location": "location"},
                "ExpressionAttributeValues": present,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def settle_item(self, hold: LabelHold, reservation_id: str, now: int) -> dict[str, Any]:
        """A label the hold lets go: what shipped leaves it, and it is ACTIVE again, or
        SHIPPED when nothing is left on it."""
        status = LabelStatus.SHIPPED if hold.shipped >= hold.quantity else LabelStatus.ACTIVE
        return {
            "Update": {
                "TableName": self._name,
                "Key": label_key(hold.label),
                "UpdateExpression": (
                    "SET #status = :status, quantity = quantity - :shipped, updatedAt = :now, "
                    "version = version + :one REMOVE reservationId, orderId, channel"
                ),
                "ConditionExpression": "#status = :reserved AND reservationId = :rid",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":status": s(status.value),
                    ":shipped": n(hold.shipped),
                    ":now": n(now),
                    ":one": n(1),
                    ":reserved": s(LabelStatus.RESERVED.value),
                    ":rid": s(reservation_id),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
