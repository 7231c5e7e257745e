"""Every DynamoDB key, expression and transaction of the service lives here.

One table, two kinds of item:

- stock record  ``PK = SKU#<sku>``  ``SK = LOC#<location>``
  ``onHand`` (physical, owned by the ERP), ``reserved`` (sum of live holds),
  ``available`` (always ``onHand - reserved``), ``updatedAt``.
- reservation   ``PK = RES#<id>``   ``SK = RES``
  status, channel, orderId, createdAt, expiresAt, fingerprint, version, purgeAt.
- hold line     ``PK = RES#<id>``   ``SK = LINE#<sku>#<location>``
  quantity, ``held`` (what it still holds), released, consumed, allowOversell.

A reservation and its lines share a partition, so reading one is a single Query. Every
change of a reservation bumps the header's ``version`` and is conditioned on the version
it was computed from, so no two writers can both release the same held quantity.

Conditions have no arithmetic, so ``available`` is maintained in every write that moves
``onHand`` or ``reserved`` and the no-oversell guard is simply ``available >= :q``.
``purgeAt`` is the table's TTL attribute: epoch seconds after which DynamoDB may delete
the item. It is cleanup only; nothing here depends on TTL deletion happening.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .errors import ShortItem
from .records import Inventory, Line, Reservation, Status, StockLevel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

AttributeMap = dict[str, Any]

PK = "PK"
SK = "SK"
TTL_ATTRIBUTE = "purgeAt"
RESERVATION_SK = "RES"
LINE_PREFIX = "LINE#"


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
    def __init__(self, items: list[ShortItem]) -> None:
        super().__init__(f"{len(items)} short item(s)")
        self.items = items


class ReservationChanged(Exception):
    """The reservation is no longer in the state the write was computed from."""


# --- (de)serialisation --------------------------------------------------------------------


def _line_item(reservation: Reservation, line: Line) -> AttributeMap:
    return {
        **line_key(reservation.id, line.sku, line.location),
        "entity": _s("hold"),
        "reservationId": _s(reservation.id),
        "sku": _s(line.sku),
        "location": _s(line.location),
        "quantity": _n(line.quantity),
        "held": _n(line.held),
        "released": _n(line.released),
        "consumed": _n(line.consumed),
        "allowOversell": {"BOOL": line.allow_oversell},
    }


def line_from_item(item: Mapping[str, Any]) -> Line:
    return Line(
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        quantity=int(item["quantity"]["N"]),
        allow_oversell=item.get("allowOversell", {}).get("BOOL", False),
        held=int(item["held"]["N"]),
        released=int(item.get("released", {}).get("N", "0")),
        consumed=int(item.get("consumed", {}).get("N", "0")),
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

    # reads

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        """The header and its lines in one strongly consistent Query of their partition."""
        items: list[Mapping[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": reservation_pk(reservation_id)},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        header = next((i for i in items if i[SK]["S"] == RESERVATION_SK), None)
        if header is None:
            return None
        lines = [line_from_item(i) for i in items if i[SK]["S"].startswith(LINE_PREFIX)]
        return reservation_from_item(header, lines)

    def get_inventory(self, sku: str) -> Inventory:
        levels: list[StockLevel] = []
        query: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :loc)",
            "ExpressionAttributeValues": {":pk": _s(f"SKU#{sku}"), ":loc": _s("LOC#")},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**query)
            levels.extend(stock_level_from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return Inventory(sku=sku, locations=levels)
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # writes

    def set_on_hand(self, sku: str, location: str, on_hand: int, now: int) -> StockLevel:
        """Absolute physical stock. Holds are kept; ``available`` is computed in the write."""
        response = self._client.update_item(
            TableName=self.name,
            Key=stock_key(sku, location),
            UpdateExpression=(
                "SET onHand = :onHand, reserved = if_not_exists(reserved, :zero), "
                "available = :onHand - if_not_exists(reserved, :zero), "
                "sku = :sku, #location = :location, entity = :entity, updatedAt = :now"
            ),
            ExpressionAttributeNames={"#location": "location"},
            ExpressionAttributeValues={
                ":onHand": _n(on_hand),
                ":zero": _n(0),
                ":sku": _s(sku),
                ":location": _s(location),
                ":entity": _s("stock"),
                ":now": _n(now),
            },
            ReturnValues="ALL_NEW",
        )
        return stock_level_from_item(response["Attributes"])

    def create_reservation(self, reservation: Reservation, *, purge_at: int, token: str) -> None:
        """Write the reservation and hold every line, all or nothing, in one transaction.

        Raises ReservationExists (the id is taken: the existing record is attached),
        StockShort (every line lacking stock, with its current availability) or
        WriteConflict (a concurrent transaction won; retrying is safe).
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
            "fingerprint": _s(reservation.fingerprint),
            "requestToken": _s(reservation.request_token),
            "version": _n(reservation.version),
            TTL_ATTRIBUTE: _n(purge_at),
        }
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
        items.extend(self._hold(line, reservation.created_at) for line in reservation.lines)
        items.extend(
            {
                "Put": {
                    "TableName": self.name,
                    "Item": {**_line_item(reservation, line), TTL_ATTRIBUTE: _n(purge_at)},
                }
            }
            for line in reservation.lines
        )
        try:
            self._transact(items, token)
        except TransactionCancelled as cancelled:
            head = cancelled.reasons[0]
            line_reasons = cancelled.reasons[1 : 1 + len(reservation.lines)]
            if head.code == "ConditionalCheckFailed" and head.item:
                raise ReservationExists(reservation_from_item(head.item)) from None
            short = [
                ShortItem(line.sku, line.location, line.quantity, _available_from_item(reason.item))
                for line, reason in zip(reservation.lines, line_reasons, strict=True)
                if reason.code == "ConditionalCheckFailed"
            ]
            if short:
                raise StockShort(short) from None
            if cancelled.conflicted:
                raise WriteConflict(str(cancelled)) from None
            raise

    def cancel_reservation(
        self, reservation: Reservation, *, now: int, purge_at: int, token: str
    ) -> None:
        """Mark a live reservation CANCELLED and give back everything it holds.

        Conditioned on the version read, so a concurrent change makes this a no-op
        (ReservationChanged) instead of a double release.
        """
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": reservation_key(reservation.id),
                    "UpdateExpression": (
                        "SET #status = :cancelled, version = version + :one, "
                        "updatedAt = :now, purgeAt = :purgeAt"
                    ),
                    "ConditionExpression": (
                        "version = :version AND #status IN (:active, :confirmed)"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":cancelled": _s(Status.CANCELLED.value),
                        ":active": _s(Status.ACTIVE.value),
                        ":confirmed": _s(Status.CONFIRMED.value),
                        ":version": _n(reservation.version),
                        ":one": _n(1),
                        ":now": _n(now),
                        ":purgeAt": _n(purge_at),
                    },
                }
            }
        ]
        for line in reservation.lines:
            if line.held:
                items.append(self._release(line.sku, line.location, line.held, now))
                items.append(
                    self._line_change(reservation.id, line, "released", line.held, purge_at)
                )
        try:
            self._transact(items, token)
        except TransactionCancelled as cancelled:
            if cancelled.reasons[0].code == "ConditionalCheckFailed":
                raise ReservationChanged(reservation.id) from None
            if cancelled.conflicted:
                raise WriteConflict(str(cancelled)) from None
            raise

    # transaction items

    def _hold(self, line: Line, now: int) -> dict[str, Any]:
        values: dict[str, Any] = {":q": _n(line.quantity), ":now": _n(now)}
        if line.allow_oversell:
            # Oversell may create the record of a never-stocked item: it then shows the debt.
            update = (
                "SET reserved = if_not_exists(reserved, :zero) + :q, "
                "available = if_not_exists(available, :zero) - :q, "
                "onHand = if_not_exists(onHand, :zero), "
                "sku = :sku, #location = :location, entity = :entity, updatedAt = :now"
            )
            values.update(
                {
                    ":zero": _n(0),
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
                    "ExpressionAttributeNames": {"#location": "location"},
                    "ExpressionAttributeValues": values,
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

    def _release(self, sku: str, location: str, quantity: int, now: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.name,
                "Key": stock_key(sku, location),
                "UpdateExpression": (
                    "SET reserved = reserved - :q, available = available + :q, updatedAt = :now"
                ),
                "ExpressionAttributeValues": {":q": _n(quantity), ":now": _n(now)},
            }
        }

    def _line_change(
        self, reservation_id: str, line: Line, outcome: str, quantity: int, purge_at: int
    ) -> dict[str, Any]:
        """Move ``quantity`` of a line from held to ``released`` or ``consumed``."""
        return {
            "Update": {
                "TableName": self.name,
                "Key": line_key(reservation_id, line.sku, line.location),
                "UpdateExpression": (
                    f"SET held = held - :q, {outcome} = {outcome} + :q, purgeAt = :purgeAt"
                ),
                "ExpressionAttributeValues": {":q": _n(quantity), ":purgeAt": _n(purge_at)},
            }
        }

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


def _reasons(response: Mapping[str, Any], count: int) -> list[CancellationReason]:
    raw: Iterable[Mapping[str, Any]] = response.get("CancellationReasons") or []
    reasons = [CancellationReason(r.get("Code", "None"), r.get("Item")) for r in raw]
    if len(reasons) != count:
        # Some engines omit the list; only the message then says what happened.
        message = str(response.get("Error", {}).get("Message", ""))
        code = "TransactionConflict" if "TransactionConflict" in message else "Unknown"
        reasons = [CancellationReason(code, None) for _ in range(count)]
    return reasons
