"""Reservations: a header and its hold lines in one partition, written with the stock they
move in one transaction (docs/architecture.md, "Table design" and "Invariants")."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..records import Cause, Change, HeldLine, Line, Receipt, Reservation, Status
from .idempotency import raise_if_key_taken
from .items import (
    LINE_NAMES,
    header_item,
    held_line_from_item,
    line_count,
    line_from_item,
    line_item,
    line_state,
    reservation_from_item,
)
from .keys import (
    EXPIRY_INDEX,
    EXPIRY_SHARDS,
    LINE_PREFIX,
    PK,
    RESERVATION_SK,
    SK,
    SKU_HOLDS_INDEX,
    TTL_ATTRIBUTE,
    AttributeMap,
    Entity,
    entity_of,
    expiry_shard,
    expiry_shard_name,
    hold_sort_prefix,
    line_key,
    n,
    reservation_id_of,
    reservation_key,
    reservation_pk,
    s,
)
from .labels import LabelsRefused, LabelStore
from .pages import query_all
from .receipts import ReceiptLedger, raise_if_receipt_exists
from .refusals import (
    CountersDisagree,
    RecordBeingPurged,
    ReservationChanged,
    ReservationExists,
    raise_if_serialized,
    stock_short,
)
from .stock import StockStore
from .transact import TransactionCancelled, conflict_or, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def _expression(present: AttributeMap, absent: list[str], names: dict[str, str]) -> str:
    """``SET`` every present attribute (by its placeholder where it has one) and ``REMOVE``
    every absent one."""
    placeholder = {name: key for key, name in names.items()}
    sets = ", ".join(f"{placeholder.get(name, name)} = :{name}" for name in present)
    return f"SET {sets}" + (f" REMOVE {', '.join(absent)}" if absent else "")


class ReservationStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        stock: StockStore,
        ledger: ReceiptLedger,
        labels: LabelStore,
    ) -> None:
        self._client = client
        self._name = table_name
        self._stock = stock
        self._ledger = ledger
        self._labels = labels

    # --- reads ----------------------------------------------------------------------------

    def get(self, reservation_id: str) -> Reservation | None:
        """The header and its lines in one strongly consistent Query of their partition."""
        items = list(
            query_all(
                self._client,
                TableName=self._name,
                KeyConditionExpression=f"{PK} = :pk",
                ExpressionAttributeValues={":pk": reservation_pk(reservation_id)},
                ConsistentRead=True,
            )
        )
        header = next((i for i in items if i[SK]["S"] == RESERVATION_SK), None)
        if header is None:
            return None
        lines = [line_from_item(i) for i in items if i[SK]["S"].startswith(LINE_PREFIX)]
        reservation = reservation_from_item(header, lines)
        if len(lines) != line_count(header, len(lines)):
            # TTL is deleting this record item by item; the stream function settles it.
            raise RecordBeingPurged(reservation_id)
        return reservation

    def holds_on_sku(self, sku: str, location: str | None = None) -> list[HeldLine]:
        """Lines still holding stock of a sku, from the sparse per-sku index (eventually
        consistent: a hold placed a moment ago may be missing)."""
        condition = "holdSku = :sku"
        values: AttributeMap = {":sku": s(sku)}
        if location is not None:
            condition += " AND begins_with(holdSort, :location)"
            values[":location"] = s(hold_sort_prefix(location))
        return [
            held_line_from_item(item)
            for item in query_all(
                self._client,
                TableName=self._name,
                IndexName=SKU_HOLDS_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        ]

    def due_ids(self, now: int, limit: int | None = None) -> list[str]:
        """ACTIVE reservations whose expiry has passed, from the sparse expiry index."""
        found: list[str] = []
        for shard in range(EXPIRY_SHARDS):
            for item in query_all(
                self._client,
                TableName=self._name,
                IndexName=EXPIRY_INDEX,
                KeyConditionExpression="expiryShard = :shard AND expiresAt <= :now",
                ExpressionAttributeValues={":shard": s(expiry_shard_name(shard)), ":now": n(now)},
            ):
                found.append(reservation_id_of(item[PK]["S"]))
                if limit is not None and len(found) >= limit:
                    return found
        return found

    # --- writes ---------------------------------------------------------------------------

    def create(
        self,
        reservation: Reservation,
        *,
        token: str,
        oversell_limit: int,
        remembered: dict[str, Any] | None = None,
    ) -> None:
        """Write the reservation and hold every line, all or nothing, in one transaction.

        Raises ReservationExists (the id is taken: the existing header is attached),
        StockShort (every line lacking stock, or whose oversell would take available below
        ``-oversell_limit``, with its current availability) or WriteConflict (a concurrent
        transaction won; retrying is safe). ``remembered``, an
        idempotency key's answer, is written in the same transaction (KeyCompleted if this
        request's own earlier attempt already wrote it).
        """
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": header_item(reservation),
                    "ConditionExpression": f"attribute_not_exists({PK})",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        # Stock updates come right after the header so cancellation reasons map to lines.
        items += [
            self._stock.hold_item(line, reservation.created_at, oversell_limit)
            for line in reservation.lines
        ]
        items += [
            {"Put": {"TableName": self._name, "Item": line_item(reservation, line)}}
            for line in reservation.lines
        ]
        labels = [(hold, line) for line in reservation.lines for hold in line.labels]
        labels_at = len(items)
        items += [self._labels.reserve_item(hold, line, reservation) for hold, line in labels]
        if remembered is not None:
            items.append(remembered)
        try:
            transact(self._client, items, token)
        except TransactionCancelled as cancelled:
            if remembered is not None:
                raise_if_key_taken(cancelled.reasons[-1])
            head = cancelled.reasons[0]
            if head.condition_failed and head.item:
                raise ReservationExists(reservation_from_item(head.item)) from None
            refused = [
                (hold.label, hold.quantity, reason.item)
                for (hold, _), reason in zip(labels, cancelled.reasons[labels_at:], strict=False)
                if reason.condition_failed
            ]
            if refused:  # they explain a short stock record too: its count was theirs
                raise LabelsRefused(refused) from None
            line_reasons = cancelled.reasons[1 : 1 + len(reservation.lines)]
            failed = [
                (line, reason.item)
                for line, reason in zip(reservation.lines, line_reasons, strict=True)
                if reason.condition_failed
            ]
            if failed:
                raise_if_serialized(failed)
                raise stock_short(failed) from None
            raise conflict_or(cancelled) from None

    def save_transition(
        self,
        before: Reservation,
        after: Reservation,
        *,
        token: str,
        receipt: Receipt | None = None,
        remembered: dict[str, Any] | None = None,
        oversell_limit: int = 0,
    ) -> None:
        """Persist one lifecycle step (see :mod:`reservations.lifecycle`) in one transaction.

        The header is conditioned on the version ``before`` was read at, so of two writers
        that read the same state only one succeeds (the other gets ReservationChanged).
        Every line item is conditioned on existing, so a line TTL already deleted is never
        recreated; its stock is then settled by the stream function instead. Stock records
        move by exactly what each line released or consumed; a line that grew (a cart
        update) takes more under the guard of a reserve (StockShort when it cannot).

        With a ``receipt`` (an ERP offset), the receipt is written in the same transaction;
        AlreadyApplied when it exists, whatever else happened meanwhile. So is
        ``remembered``, an idempotency key's answer (KeyCompleted, as for ``create``).
        """
        now = after.updated_at
        items = [self._header_update(before, after)]
        header_changed = (before.status, before.expires_at, before.purge_at) != (
            after.status,
            after.expires_at,
            after.purge_at,
        )
        existing = {(line.sku, line.location): line for line in before.lines}
        growth: dict[int, Line] = {}  # transaction item index -> what it takes more
        for new in after.lines:
            old = existing.get((new.sku, new.location))
            grown = new.taken - (0 if old is None else old.taken)
            released = new.released - (0 if old is None else old.released)
            consumed = new.consumed - (0 if old is None else old.consumed)
            if grown:
                if released or consumed:  # a transaction touches a stock record once
                    raise ValueError(f"{new} would grow and settle in one step")
                # More from the line's own bucket, whatever this environment knows of it (on
                # the record, an allowOversell line within its bound where unsharded).
                placed = new.placed or bool(new.bucket) or not new.allow_oversell
                taking = replace(new, quantity=grown, placed=placed)
                growth[len(items)] = taking
                items.append(self._stock.hold_item(taking, now, oversell_limit))
            elif released or consumed:
                items += self._stock.settle_items(
                    new.sku, new.location, released, consumed, now, _cause(after), new.bucket
                )
            if old is None:
                items.append(self._line_put(after, new))
            elif old != new or header_changed:
                items.append(self._line_update(after, new))
            if old is not None and old.labels != new.labels:
                items += [
                    self._labels.settle_item(hold, after.id, now)
                    for was, hold in zip(old.labels, new.labels, strict=True)
                    if was.held and not hold.held
                ]
        if receipt is not None:
            items.append(self._ledger.put_item(receipt, now))
        if remembered is not None:
            items.append(remembered)
        try:
            transact(self._client, items, token)
        except TransactionCancelled as cancelled:
            if remembered is not None:
                raise_if_key_taken(cancelled.reasons[-1])
            if receipt is not None:
                raise_if_receipt_exists(cancelled.reasons[-1 if remembered is None else -2])
            if cancelled.reasons[0].condition_failed:
                raise ReservationChanged(after.id) from None
            short = [
                (line, cancelled.reasons[index].item)
                for index, line in growth.items()
                if cancelled.reasons[index].condition_failed
            ]
            if short:
                raise_if_serialized(short)
                raise stock_short(short) from None
            refused = [reason for reason in cancelled.reasons if reason.condition_failed]
            stock_refused = [
                r for r in refused if entity_of(r.item or {}) in (Entity.STOCK, Entity.SHARD)
            ]
            if stock_refused and len(stock_refused) == len(refused):
                # Only when nothing else moved: a line TTL deleted and the stream settled
                # also fails its stock's condition, and that is a change, not drift.
                raise CountersDisagree(after.id) from None
            if cancelled.any_condition_failed:
                raise ReservationChanged(after.id) from None
            raise conflict_or(cancelled) from None

    def _header_update(self, before: Reservation, after: Reservation) -> dict[str, Any]:
        present: AttributeMap = {
            "status": s(after.status.value),
            "version": n(after.version),
            "updatedAt": n(after.updated_at),
            "expiresAt": n(after.expires_at),
            "lastChange": s(after.change),
        }
        if len(after.lines) != len(before.lines):
            present["lineCount"] = n(len(after.lines))
        if after.order_id is not None and after.order_id != before.order_id:
            present["orderId"] = s(after.order_id)
        absent: list[str] = []
        if after.status is Status.ACTIVE:
            present["expiryShard"] = s(expiry_shard(after.id))
        else:
            absent.append("expiryShard")
        if after.purge_at is None:
            absent.append(TTL_ATTRIBUTE)
        else:
            present[TTL_ATTRIBUTE] = n(after.purge_at)
        names = {"#status": "status"}
        return {
            "Update": {
                "TableName": self._name,
                "Key": reservation_key(after.id),
                "UpdateExpression": _expression(present, absent, names),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {
                    **{f":{name}": value for name, value in present.items()},
                    ":expected": n(before.version),
                },
            }
        }

    def _line_put(self, reservation: Reservation, line: Line) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._name,
                "Item": line_item(reservation, line),
                "ConditionExpression": f"attribute_not_exists({PK})",
            }
        }

    def _line_update(self, reservation: Reservation, line: Line) -> dict[str, Any]:
        present, absent = line_state(reservation, line)
        return {
            "Update": {
                "TableName": self._name,
                "Key": line_key(reservation.id, line.sku, line.location),
                "UpdateExpression": _expression(present, absent, LINE_NAMES),
                "ConditionExpression": f"attribute_exists({PK})",
                "ExpressionAttributeNames": LINE_NAMES,
                "ExpressionAttributeValues": {f":{k}": v for k, v in present.items()},
            }
        }


def _cause(after: Reservation) -> Cause:
    """Whose shipment a consumed quantity is: the ERP's for an offset, else the hold's
    channel's; the ledger names the hold."""
    source = "erp" if after.change is Change.OFFSET else after.channel
    return Cause(source, after.change.value, after.id)
