"""Every DynamoDB key, expression and transaction of the service lives here.

One table, two kinds of item:

- stock record  ``PK = SKU#<sku>``  ``SK = LOC#<location>``
  ``onHand`` (physical, owned by the ERP), ``reserved`` (sum of live holds),
  ``available`` (always ``onHand - reserved``), ``updatedAt``, and ``erpSequence``
  (the last ``stock.set`` applied).
- reservation   ``PK = RES#<id>``   ``SK = RES``
  status, channel, orderId, createdAt, expiresAt, fingerprint, version, purgeAt.
- hold line     ``PK = RES#<id>``   ``SK = LINE#<sku>#<location>``
  quantity, ``held`` (what it still holds), released, consumed, allowOversell, and copies
  of the reservation's status, expiresAt and channel.

- ERP receipt  ``PK = MSG#<kind>#<message id>``  ``SK = MSG`` (or ``PART#<reservation id>``)
  proof that an ``adjust`` or ``offset`` message took effect, written in the transaction
  of the effect; ``fingerprint`` of the message, ``applied`` quantity.

Two sparse indexes: ``ExpiryIndex`` (``expiryShard``, ``expiresAt``) holds exactly the
ACTIVE reservations, for the sweeper; ``SkuHoldsIndex`` (``holdSku``, ``holdSort`` =
``<location>#<id>``) holds exactly the lines still holding stock of a live reservation.

A reservation and its lines share a partition, so reading one is a single Query. Every
change of a reservation bumps the header's ``version`` and is conditioned on the version
it was computed from, so no two writers can both release the same held quantity.

Conditions have no arithmetic, so ``available`` is maintained in every write that moves
``onHand`` or ``reserved`` and the no-oversell guard is simply ``available >= :q``.
``purgeAt`` is the table's TTL attribute: epoch seconds after which DynamoDB may delete
the item. It is cleanup only; nothing here depends on TTL deletion happening.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .errors import ShortItem
from .records import Hold, Inventory, Line, Receipt, Reservation, Status, StockLevel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

AttributeMap = dict[str, Any]

PK = "PK"
SK = "SK"
TTL_ATTRIBUTE = "purgeAt"
RESERVATION_SK = "RES"
LINE_PREFIX = "LINE#"
RECEIPT_SK = "MSG"
RECEIPT_PART_PREFIX = "PART#"
CLAIMED = "claimed"  # a receipt's state while a message applied in steps is under way
EXPIRY_INDEX = "ExpiryIndex"
SKU_HOLDS_INDEX = "SkuHoldsIndex"
EXPIRY_SHARDS = 8
# Placeholders for line attributes; "status" and "consumed" are DynamoDB reserved words.
LINE_NAMES = {
    "#status": "status",
    "#held": "held",
    "#released": "released",
    "#consumed": "consumed",
    "#offset": "offset",
}


def stock_key(sku: str, location: str) -> AttributeMap:
    return {PK: {"S": f"SKU#{sku}"}, SK: {"S": f"LOC#{location}"}}


def reservation_pk(reservation_id: str) -> AttributeMap:
    return {"S": f"RES#{reservation_id}"}


def reservation_key(reservation_id: str) -> AttributeMap:
    return {PK: reservation_pk(reservation_id), SK: {"S": RESERVATION_SK}}


def line_key(reservation_id: str, sku: str, location: str) -> AttributeMap:
    return {PK: reservation_pk(reservation_id), SK: {"S": f"{LINE_PREFIX}{sku}#{location}"}}


def _n(value: int) -> AttributeMap:
    return {"N": str(value)}


def _s(value: str) -> AttributeMap:
    return {"S": value}


# --- outcomes of a cancelled transaction -------------------------------------------------


@dataclass(frozen=True, slots=True)
class CancellationReason:
    code: str
    item: AttributeMap | None


class TransactionCancelled(Exception):
    """DynamoDB refused the whole transaction; ``reasons`` align with the items sent."""

    def __init__(self, reasons: list[CancellationReason]) -> None:
        super().__init__(", ".join(reason.code for reason in reasons))
        self.reasons = reasons

    @property
    def conflicted(self) -> bool:
        return any(reason.code == "TransactionConflict" for reason in self.reasons)


class WriteConflict(Exception):
    """A concurrent writer won this round; retrying the same write is safe."""


class ReservationExists(Exception):
    def __init__(self, existing: Reservation) -> None:
        super().__init__(existing.id)
        self.existing = existing


class StockShort(Exception):
    def __init__(self, items: list[ShortItem], held: dict[tuple[str, str], int]) -> None:
        super().__init__(f"{len(items)} short item(s)")
        self.items = items
        # Short (sku, location)s on which something was reserved, and how much, when the
        # transaction was refused: only there can an expired-but-unswept hold be in the way.
        self.held = held


class ReservationChanged(Exception):
    """The reservation is no longer in the state the write was computed from."""


class AlreadyApplied(Exception):
    """The message's receipt exists: it took effect before (``existing`` tells how)."""

    def __init__(self, existing: Receipt) -> None:
        super().__init__(f"{existing.kind} {existing.message_id} already applied")
        self.existing = existing


class MessageInProgress(Exception):
    """Another delivery of the same message holds its claim: try again once it is done."""


class StaleSequence(Exception):
    """A ``stock.set`` no newer than the last one applied to the record."""

    def __init__(self, current: int) -> None:
        super().__init__(f"sequence {current} is already applied")
        self.current = current


class RecordBeingPurged(Exception):
    """TTL has deleted part of this reservation's items; it can no longer change."""


# --- (de)serialisation --------------------------------------------------------------------


def expiry_shard(reservation_id: str) -> str:
    """Spreads ACTIVE holds over a few index partitions, so expiring ones never share one."""
    return f"EXP#{zlib.crc32(reservation_id.encode()) % EXPIRY_SHARDS}"


def _line_is_indexed(reservation: Reservation, line: Line) -> bool:
    return reservation.is_live and line.held > 0


def _line_state(reservation: Reservation, line: Line) -> tuple[list[str], list[str], AttributeMap]:
    """SET and REMOVE clauses and values that make a line item match ``line``.

    The line carries copies of its reservation's status, expiry and channel so that the
    per-sku index answers "live holds on this sku" without reading the headers.
    """
    sets = [
        "#held = :held",
        "#released = :released",
        "#consumed = :consumed",
        "#offset = :offset",
        "#status = :status",
        "expiresAt = :expiresAt",
    ]
    removes: list[str] = []
    values: AttributeMap = {
        ":held": _n(line.held),
        ":released": _n(line.released),
        ":consumed": _n(line.consumed),
        ":offset": _n(line.offset),
        ":status": _s(reservation.status.value),
        ":expiresAt": _n(reservation.expires_at),
    }
    if _line_is_indexed(reservation, line):
        sets += ["holdSku = :holdSku", "holdSort = :holdSort"]
        values[":holdSku"] = _s(line.sku)
        values[":holdSort"] = _s(f"{line.location}#{reservation.id}")
    else:
        removes += ["holdSku", "holdSort"]
    if reservation.purge_at is None:
        removes.append(TTL_ATTRIBUTE)
    else:
        sets.append(f"{TTL_ATTRIBUTE} = :purgeAt")
        values[":purgeAt"] = _n(reservation.purge_at)
    return sets, removes, values


def _expression(sets: list[str], removes: list[str]) -> str:
    return "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")


def _line_item(reservation: Reservation, line: Line) -> AttributeMap:
    item: AttributeMap = {
        **line_key(reservation.id, line.sku, line.location),
        "entity": _s("hold"),
        "reservationId": _s(reservation.id),
        "channel": _s(reservation.channel),
        "sku": _s(line.sku),
        "location": _s(line.location),
        "quantity": _n(line.quantity),
        "allowOversell": {"BOOL": line.allow_oversell},
        "createdAt": _n(reservation.created_at),
    }
    sets, _, values = _line_state(reservation, line)
    for clause in sets:
        name, placeholder = (part.strip() for part in clause.split("="))
        item[name.lstrip("#")] = values[placeholder]
    return item


def line_from_item(item: Mapping[str, Any]) -> Line:
    return Line(
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        quantity=int(item["quantity"]["N"]),
        allow_oversell=item.get("allowOversell", {}).get("BOOL", False),
        held=int(item["held"]["N"]),
        released=int(item.get("released", {}).get("N", "0")),
        consumed=int(item.get("consumed", {}).get("N", "0")),
        offset=int(item.get("offset", {}).get("N", "0")),
    )


def reservation_from_item(item: Mapping[str, Any], lines: Iterable[Line] = ()) -> Reservation:
    """A reservation from its header item (and its line items, read alongside)."""
    return Reservation(
        id=item["id"]["S"],
        status=Status(item["status"]["S"]),
        channel=item["channel"]["S"],
        lines=tuple(lines),
        created_at=int(item["createdAt"]["N"]),
        expires_at=int(item["expiresAt"]["N"]),
        fingerprint=item["fingerprint"]["S"],
        version=int(item["version"]["N"]),
        order_id=item["orderId"]["S"] if "orderId" in item else None,
        request_token=item.get("requestToken", {}).get("S", ""),
        updated_at=int(item.get("updatedAt", {}).get("N", item["createdAt"]["N"])),
        purge_at=int(item[TTL_ATTRIBUTE]["N"]) if TTL_ATTRIBUTE in item else None,
    )


def stock_level_from_item(item: Mapping[str, Any]) -> StockLevel:
    return StockLevel(
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        on_hand=int(item["onHand"]["N"]),
        reserved=int(item["reserved"]["N"]),
        available=int(item["available"]["N"]),
        updated_at=int(item.get("updatedAt", {}).get("N", "0")),
    )


def receipt_pk(kind: str, message_id: str) -> AttributeMap:
    return _s(f"MSG#{kind}#{message_id}")


def receipt_key(receipt: Receipt) -> AttributeMap:
    sk = RECEIPT_SK if receipt.part is None else f"{RECEIPT_PART_PREFIX}{receipt.part}"
    return {PK: receipt_pk(receipt.kind, receipt.message_id), SK: _s(sk)}


def _receipt_item(receipt: Receipt, now: int, purge_at: int) -> AttributeMap:
    return {
        **receipt_key(receipt),
        "entity": _s("erp-receipt"),
        "kind": _s(receipt.kind),
        "messageId": _s(receipt.message_id),
        "fingerprint": _s(receipt.fingerprint),
        "applied": _n(receipt.applied),
        "appliedAt": _n(now),
        TTL_ATTRIBUTE: _n(purge_at),
    }


def receipt_is_claim(item: Mapping[str, Any]) -> bool:
    return bool(item.get("state", {}).get("S") == CLAIMED)


def receipt_from_item(item: Mapping[str, Any]) -> Receipt:
    sk = item[SK]["S"]
    return Receipt(
        kind=item["kind"]["S"],
        message_id=item["messageId"]["S"],
        fingerprint=item["fingerprint"]["S"],
        applied=int(item["applied"]["N"]),
        part=None if sk == RECEIPT_SK else sk.removeprefix(RECEIPT_PART_PREFIX),
    )


def hold_from_item(item: Mapping[str, Any]) -> Hold:
    return Hold(
        reservation_id=item["reservationId"]["S"],
        channel=item["channel"]["S"],
        status=Status(item["status"]["S"]),
        expires_at=int(item["expiresAt"]["N"]),
        line=line_from_item(item),
        created_at=int(item.get("createdAt", {}).get("N", "0")),
    )


def _available_from_item(item: Mapping[str, Any] | None) -> int:
    """Availability reported for a short line; an unknown sku or location has none."""
    if not item or "available" not in item:
        return 0
    return int(item["available"]["N"])


# --- the table ----------------------------------------------------------------------------


class ReservationTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.name = table_name

    def _query(self, **query: Any) -> Iterator[Mapping[str, Any]]:
        query["TableName"] = self.name
        while True:
            page = self._client.query(**query)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # reads

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        """The header and its lines in one strongly consistent Query of their partition."""
        items = list(
            self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": reservation_pk(reservation_id)},
                ConsistentRead=True,
            )
        )
        header = next((i for i in items if i[SK]["S"] == RESERVATION_SK), None)
        if header is None:
            return None
        lines = [line_from_item(i) for i in items if i[SK]["S"].startswith(LINE_PREFIX)]
        reservation = reservation_from_item(header, lines)
        if len(lines) != int(header.get("lineCount", {}).get("N", len(lines))):
            # TTL is deleting this record item by item; the stream function settles it.
            raise RecordBeingPurged(reservation_id)
        return reservation

    def get_inventory(self, sku: str) -> Inventory:
        levels = [
            stock_level_from_item(item)
            for item in self._query(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :loc)",
                ExpressionAttributeValues={":pk": _s(f"SKU#{sku}"), ":loc": _s("LOC#")},
                ConsistentRead=True,
            )
        ]
        return Inventory(sku=sku, locations=levels)

    def holds_on_sku(self, sku: str, location: str | None = None) -> list[Hold]:
        """Lines still holding stock of a sku, from the sparse per-sku index (eventually
        consistent: a hold placed a moment ago may be missing)."""
        condition = "holdSku = :sku"
        values: AttributeMap = {":sku": _s(sku)}
        if location is not None:
            condition += " AND begins_with(holdSort, :location)"
            values[":location"] = _s(f"{location}#")
        return [
            hold_from_item(item)
            for item in self._query(
                IndexName=SKU_HOLDS_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        ]

    def due_reservation_ids(self, now: int, limit: int | None = None) -> list[str]:
        """ACTIVE reservations whose expiry has passed, from the sparse expiry index."""
        found: list[str] = []
        for shard in range(EXPIRY_SHARDS):
            for item in self._query(
                IndexName=EXPIRY_INDEX,
                KeyConditionExpression="expiryShard = :shard AND expiresAt <= :now",
                ExpressionAttributeValues={":shard": _s(f"EXP#{shard}"), ":now": _n(now)},
            ):
                found.append(item[PK]["S"].removeprefix("RES#"))
                if limit is not None and len(found) >= limit:
                    return found
        return found

    # writes

    def set_on_hand(self, sku: str, location: str, on_hand: int, now: int) -> StockLevel:
        """Absolute physical stock. Holds are kept; ``available`` is computed in the write."""
        response = self._client.update_item(**self._set_on_hand(sku, location, on_hand, now))
        return stock_level_from_item(response["Attributes"])

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
            "attribute_not_exists(erpSequence) OR erpSequence < :sequence"
        )
        update["ExpressionAttributeValues"][":sequence"] = _n(sequence)
        update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            response = self._client.update_item(**update)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            raise StaleSequence(int(old.get("erpSequence", {}).get("N", sequence))) from None
        return stock_level_from_item(response["Attributes"])

    def _set_on_hand(self, sku: str, location: str, on_hand: int, now: int) -> dict[str, Any]:
        return {
            "TableName": self.name,
            "Key": stock_key(sku, location),
            "UpdateExpression": (
                "SET onHand = :onHand, reserved = if_not_exists(reserved, :zero), "
                "available = :onHand - if_not_exists(reserved, :zero), "
                "sku = :sku, #location = :location, entity = :entity, updatedAt = :now"
            ),
            "ExpressionAttributeNames": {"#location": "location"},
            "ExpressionAttributeValues": {
                ":onHand": _n(on_hand),
                ":zero": _n(0),
                ":sku": _s(sku),
                ":location": _s(location),
                ":entity": _s("stock"),
                ":now": _n(now),
            },
            "ReturnValues": "ALL_NEW",
        }

    def adjust_on_hand(
        self,
        receipt: Receipt,
        sku: str,
        location: str,
        delta: int,
        now: int,
        keep_until: int,
        *,
        token: str,
    ) -> None:
        """A relative change of physical stock and its receipt, in one transaction.

        Raises AlreadyApplied when the receipt exists (the change is not made again).
        """
        adjust: dict[str, Any] = {
            "Update": {
                "TableName": self.name,
                "Key": stock_key(sku, location),
                # A never-stocked record starts at zero: a receipt of goods creates it.
                "UpdateExpression": (
                    "SET onHand = if_not_exists(onHand, :zero) + :delta, "
                    "available = if_not_exists(available, :zero) + :delta, "
                    "reserved = if_not_exists(reserved, :zero), "
                    "sku = :sku, #location = :location, entity = :entity, updatedAt = :now"
                ),
                "ExpressionAttributeNames": {"#location": "location"},
                "ExpressionAttributeValues": {
                    ":delta": _n(delta),
                    ":zero": _n(0),
                    ":sku": _s(sku),
                    ":location": _s(location),
                    ":entity": _s("stock"),
                    ":now": _n(now),
                },
            }
        }
        self._transact_with_receipt([adjust, self._receipt_put(receipt, now, keep_until)], token)

    def record_receipt(self, receipt: Receipt, now: int, keep_until: int, *, token: str) -> None:
        """A receipt alone: the message took effect with nothing to change (an offset of a
        hold no longer live, the end of an auto offset). Raises AlreadyApplied."""
        self._transact_with_receipt([self._receipt_put(receipt, now, keep_until)], token)

    def claim_receipt(self, receipt: Receipt, owner: str, now: int, lease_until: int) -> None:
        """Claim a message applied in several transactions, so one delivery at a time works
        on it. A claim whose lease ran out (its worker died) is taken over.

        Raises AlreadyApplied (the message's receipt is complete) or MessageInProgress.
        """
        # Purged with its lease: a claim whose worker died and is never taken over goes.
        item = _receipt_item(replace(receipt, applied=0), now, lease_until) | {
            "state": _s(CLAIMED),
            "owner": _s(owner),
            "leaseUntil": _n(lease_until),
        }
        try:
            self._client.put_item(
                TableName=self.name,
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(PK) OR (#state = :claimed AND leaseUntil < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":claimed": _s(CLAIMED), ":now": _n(now)},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            if not old:  # an engine that leaves the old item out of the error
                old = self._client.get_item(
                    TableName=self.name, Key=receipt_key(receipt), ConsistentRead=True
                ).get("Item", {})
            if old and not receipt_is_claim(old):
                raise AlreadyApplied(receipt_from_item(old)) from None
            if old and old["fingerprint"]["S"] != receipt.fingerprint:
                raise AlreadyApplied(receipt_from_item(old)) from None
            raise MessageInProgress(receipt.message_id) from None

    def complete_receipt(
        self, receipt: Receipt, owner: str, now: int, keep_until: int, *, token: str
    ) -> None:
        """Turn this owner's claim into the message's receipt. Raises AlreadyApplied if
        the claim is no longer ours (another delivery took it over and finished)."""
        item = self._receipt_put(receipt, now, keep_until)
        item["Put"]["ConditionExpression"] = "#state = :claimed AND #owner = :owner"
        item["Put"]["ExpressionAttributeNames"] = {"#state": "state", "#owner": "owner"}
        item["Put"]["ExpressionAttributeValues"] = {":claimed": _s(CLAIMED), ":owner": _s(owner)}
        self._transact_with_receipt([item], token)

    def receipts(self, kind: str, message_id: str) -> list[Receipt]:
        """Every completed receipt of one message: the whole one and its parts."""
        return [
            receipt_from_item(item)
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": receipt_pk(kind, message_id)},
                ConsistentRead=True,
            )
            if not receipt_is_claim(item)
        ]

    def get_stock_level(self, sku: str, location: str) -> StockLevel | None:
        item = self._client.get_item(
            TableName=self.name, Key=stock_key(sku, location), ConsistentRead=True
        ).get("Item")
        return None if item is None else stock_level_from_item(item)

    def create_reservation(
        self, reservation: Reservation, *, token: str, oversell_limit: int
    ) -> None:
        """Write the reservation and hold every line, all or nothing, in one transaction.

        Raises ReservationExists (the id is taken: the existing header is attached),
        StockShort (every line lacking stock, or whose oversell would take available below
        ``-oversell_limit``, with its current availability) or WriteConflict (a concurrent
        transaction won; retrying is safe).
        """
        header: AttributeMap = {
            **reservation_key(reservation.id),
            "entity": _s("reservation"),
            "id": _s(reservation.id),
            "status": _s(reservation.status.value),
            "channel": _s(reservation.channel),
            "lineCount": _n(len(reservation.lines)),
            "createdAt": _n(reservation.created_at),
            "updatedAt": _n(reservation.created_at),
            "expiresAt": _n(reservation.expires_at),
            "expiryShard": _s(expiry_shard(reservation.id)),
            "fingerprint": _s(reservation.fingerprint),
            "requestToken": _s(reservation.request_token),
            "version": _n(reservation.version),
        }
        if reservation.purge_at is not None:
            header[TTL_ATTRIBUTE] = _n(reservation.purge_at)
        if reservation.order_id is not None:
            header["orderId"] = _s(reservation.order_id)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": header,
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        # Stock updates come right after the header so cancellation reasons map to lines.
        items.extend(
            self._hold(line, reservation.created_at, oversell_limit) for line in reservation.lines
        )
        items.extend(
            {"Put": {"TableName": self.name, "Item": _line_item(reservation, line)}}
            for line in reservation.lines
        )
        try:
            self._transact(items, token)
        except TransactionCancelled as cancelled:
            head = cancelled.reasons[0]
            line_reasons = cancelled.reasons[1 : 1 + len(reservation.lines)]
            if head.code == "ConditionalCheckFailed" and head.item:
                raise ReservationExists(reservation_from_item(head.item)) from None
            failed = [
                (line, reason.item or {})
                for line, reason in zip(reservation.lines, line_reasons, strict=True)
                if reason.code == "ConditionalCheckFailed"
            ]
            if failed:
                raise StockShort(
                    [
                        ShortItem(line.sku, line.location, line.quantity, _available_from_item(old))
                        for line, old in failed
                    ],
                    held={
                        (line.sku, line.location): int(old.get("reserved", {}).get("N", "0"))
                        for line, old in failed
                        if int(old.get("reserved", {}).get("N", "0")) > 0
                    },
                ) from None
            if cancelled.conflicted:
                raise WriteConflict(str(cancelled)) from None
            raise

    def save_transition(
        self,
        before: Reservation,
        after: Reservation,
        *,
        token: str,
        receipt: Receipt | None = None,
        receipt_keep_until: int = 0,
    ) -> None:
        """Persist one lifecycle step (see :mod:`reservations.lifecycle`) in one transaction.

        The header is conditioned on the version ``before`` was read at, so of two writers
        that read the same state only one succeeds (the other gets ReservationChanged).
        Every line item is conditioned on existing, so a line TTL already deleted is never
        recreated; its stock is then settled by the stream function instead. Stock records
        move by exactly what each line released or consumed.

        With a ``receipt`` (an ERP offset), the receipt is written in the same transaction;
        AlreadyApplied when it exists, whatever else happened meanwhile.
        """
        now = after.updated_at
        header_sets = [
            "#status = :status",
            "version = :next",
            "updatedAt = :now",
            "expiresAt = :expiresAt",
        ]
        header_removes: list[str] = []
        values: AttributeMap = {
            ":status": _s(after.status.value),
            ":next": _n(after.version),
            ":version": _n(before.version),
            ":now": _n(now),
            ":expiresAt": _n(after.expires_at),
        }
        if after.status is Status.ACTIVE:
            header_sets.append("expiryShard = :shard")
            values[":shard"] = _s(expiry_shard(after.id))
        else:
            header_removes.append("expiryShard")
        if after.purge_at is None:
            header_removes.append(TTL_ATTRIBUTE)
        else:
            header_sets.append(f"{TTL_ATTRIBUTE} = :purgeAt")
            values[":purgeAt"] = _n(after.purge_at)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": reservation_key(after.id),
                    "UpdateExpression": _expression(header_sets, header_removes),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        header_changed = (before.status, before.expires_at, before.purge_at) != (
            after.status,
            after.expires_at,
            after.purge_at,
        )
        for old, new in zip(before.lines, after.lines, strict=True):
            released = new.released - old.released
            consumed = new.consumed - old.consumed
            if released or consumed:
                items.append(self._settle_stock(new.sku, new.location, released, consumed, now))
            if old != new or header_changed:
                sets, removes, line_values = _line_state(after, new)
                items.append(
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": line_key(after.id, new.sku, new.location),
                            "UpdateExpression": _expression(sets, removes),
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeNames": LINE_NAMES,
                            "ExpressionAttributeValues": line_values,
                        }
                    }
                )
        if receipt is not None:
            items.append(self._receipt_put(receipt, now, receipt_keep_until))
        try:
            self._transact(items, token)
        except TransactionCancelled as cancelled:
            if receipt is not None:
                _raise_if_receipt_exists(cancelled.reasons[-1])
            if any(reason.code == "ConditionalCheckFailed" for reason in cancelled.reasons):
                raise ReservationChanged(after.id) from None
            if cancelled.conflicted:
                raise WriteConflict(str(cancelled)) from None
            raise

    def settle_purged_line(
        self, reservation_id: str, line: Line, now: int, keep_until: int, created_at: int = 0
    ) -> bool:
        """Give back what a line held when TTL deleted it, at most once.

        A marker item written in the same transaction makes a redelivered stream record
        a no-op. Returns False when the marker was already there.
        """
        marker: AttributeMap = {
            PK: reservation_pk(reservation_id),
            # createdAt tells apart two holds that reused one id, each purged in turn.
            SK: _s(f"PURGED#{created_at}#{line.sku}#{line.location}"),
            "entity": _s("purged-line"),
            "held": _n(line.held),
            "settledAt": _n(now),
            TTL_ATTRIBUTE: _n(keep_until),
        }
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": marker,
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            self._settle_stock(line.sku, line.location, line.held, 0, now),
        ]
        try:
            self._transact(items, uuid.uuid4().hex)
        except TransactionCancelled as cancelled:
            if cancelled.reasons[0].code == "ConditionalCheckFailed":
                return False
            if cancelled.conflicted:
                raise WriteConflict(str(cancelled)) from None
            raise
        return True

    # transaction items

    def _receipt_put(self, receipt: Receipt, now: int, keep_until: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.name,
                "Item": _receipt_item(receipt, now, keep_until),
                "ConditionExpression": "attribute_not_exists(PK)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _hold(self, line: Line, now: int, oversell_limit: int) -> dict[str, Any]:
        values: dict[str, Any] = {":q": _n(line.quantity), ":now": _n(now)}
        if line.allow_oversell:
            # Oversell may create the record of a never-stocked item: it then shows the debt.
            update = (
                "SET reserved = if_not_exists(reserved, :zero) + :q, "
                "available = if_not_exists(available, :zero) - :q, "
                "onHand = if_not_exists(onHand, :zero), "
                "sku = :sku, #location = :location, entity = :entity, updatedAt = :now"
            )
            # The oversell bound: available - q >= -limit, with the subtraction done here
            # (conditions have no arithmetic). A missing record counts as 0 available, so
            # it may be created only by a line the bound admits on its own.
            condition = "available >= :floor"
            if line.quantity <= oversell_limit:
                condition += " OR attribute_not_exists(available)"
            values.update(
                {
                    ":zero": _n(0),
                    ":floor": _n(line.quantity - oversell_limit),
                    ":sku": _s(line.sku),
                    ":location": _s(line.location),
                    ":entity": _s("stock"),
                }
            )
            return {
                "Update": {
                    "TableName": self.name,
                    "Key": stock_key(line.sku, line.location),
                    "UpdateExpression": update,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#location": "location"},
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        return {
            "Update": {
                "TableName": self.name,
                "Key": stock_key(line.sku, line.location),
                "UpdateExpression": (
                    "SET reserved = reserved + :q, available = available - :q, updatedAt = :now"
                ),
                # The no-oversell guard. A missing record fails it too: unknown stock is short.
                "ConditionExpression": "available >= :q",
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _settle_stock(
        self, sku: str, location: str, released: int, consumed: int, now: int
    ) -> dict[str, Any]:
        """Released stock becomes available again; consumed stock leaves onHand and reserved
        together, so ``available`` does not move when goods ship."""
        return {
            "Update": {
                "TableName": self.name,
                "Key": stock_key(sku, location),
                "UpdateExpression": (
                    "SET onHand = onHand - :consumed, reserved = reserved - :settled, "
                    "available = available + :released, updatedAt = :now"
                ),
                "ExpressionAttributeValues": {
                    ":consumed": _n(consumed),
                    ":released": _n(released),
                    ":settled": _n(released + consumed),
                    ":now": _n(now),
                },
            }
        }

    def _transact_with_receipt(self, items: Sequence[Mapping[str, Any]], token: str) -> None:
        """A transaction whose last item puts a receipt: AlreadyApplied when the receipt's
        condition failed, WriteConflict when a concurrent transaction won."""
        try:
            self._transact(items, token)
        except TransactionCancelled as cancelled:
            _raise_if_receipt_exists(cancelled.reasons[-1])
            if cancelled.conflicted:
                raise WriteConflict(str(cancelled)) from None
            raise

    def _transact(self, items: Sequence[Mapping[str, Any]], token: str) -> None:
        try:
            self._client.transact_write_items(
                TransactItems=list(items),  # type: ignore[arg-type]
                ClientRequestToken=token,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise TransactionCancelled(_reasons(error.response, len(items))) from None


def _raise_if_receipt_exists(reason: CancellationReason) -> None:
    if reason.code == "ConditionalCheckFailed":
        if reason.item is None:  # an engine that omits the old item: still a duplicate
            raise AlreadyApplied(Receipt(kind="", message_id="", fingerprint=""))
        raise AlreadyApplied(receipt_from_item(reason.item))


def _reasons(response: Mapping[str, Any], count: int) -> list[CancellationReason]:
    raw: Iterable[Mapping[str, Any]] = response.get("CancellationReasons") or []
    reasons = [CancellationReason(r.get("Code", "None"), r.get("Item")) for r in raw]
    if len(reasons) != count:
        # Some engines omit the list; only the message then says what happened.
        message = str(response.get("Error", {}).get("Message", ""))
        code = "TransactionConflict" if "TransactionConflict" in message else "Unknown"
        reasons = [CancellationReason(code, None) for _ in range(count)]
    return reasons
