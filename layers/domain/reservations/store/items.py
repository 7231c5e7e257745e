"""Codecs between DynamoDB items and the records of :mod:`reservations.records`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..records import (
    Change,
    Destination,
    HeldLine,
    Line,
    Location,
    Receipt,
    Reservation,
    Status,
    StockLevel,
)
from ..supply import MEASURE_NAME, ON_HAND, RECORD_ATTRIBUTES
from .keys import (
    ENTITY,
    SK,
    TTL_ATTRIBUTE,
    AttributeMap,
    Entity,
    expiry_shard,
    hold_sort,
    line_key,
    n,
    receipt_key,
    receipt_part_of,
    reservation_key,
    s,
)
from .label_items import holds_attribute, holds_of

# Placeholders for line attributes; "status" and "consumed" are DynamoDB reserved words.
LINE_NAMES = {
    "#quantity": "quantity",
    "#status": "status",
    "#held": "held",
    "#released": "released",
    "#consumed": "consumed",
    "#offset": "offset",
}


def _int(item: Mapping[str, Any], name: str, default: int = 0) -> int:
    return int(item[name]["N"]) if name in item else default


# --- reservations and their lines ---------------------------------------------------------


def header_item(reservation: Reservation) -> AttributeMap:
    item: AttributeMap = {
        **reservation_key(reservation.id),
        ENTITY: s(Entity.RESERVATION),
        "id": s(reservation.id),
        "status": s(reservation.status.value),
        "channel": s(reservation.channel),
        "channelKey": s(reservation.channel),  # ChannelIndex: only headers carry it
        "lineCount": n(len(reservation.lines)),
        "createdAt": n(reservation.created_at),
        "updatedAt": n(reservation.created_at),
        "expiresAt": n(reservation.expires_at),
        "expiryShard": s(expiry_shard(reservation.id)),
        "fingerprint": s(reservation.fingerprint),
        "requestToken": s(reservation.request_token),
        "version": n(reservation.version),
        "lastChange": s(reservation.change),
    }
    if reservation.purge_at is not None:
        item[TTL_ATTRIBUTE] = n(reservation.purge_at)
    if reservation.order_id is not None:
        item["orderId"] = s(reservation.order_id)
    item.update(_destination_attributes(reservation))
    return item


def _destination_attributes(reservation: Reservation) -> AttributeMap:
    """Where location-less lines were allocated for; nothing for a hold that named every
    location, so such headers stay as they were."""
    found: AttributeMap = {}
    if reservation.ship_to is not None:
        kept = {
            "country": reservation.ship_to.country,
            "state": reservation.ship_to.state,
            "postalCode": reservation.ship_to.postal_code,
        }
        found["shipTo"] = {"M": {k: s(v) for k, v in kept.items() if v is not None}}
    if reservation.shipping_choice is not None:
        found["shippingChoice"] = s(reservation.shipping_choice)
    if reservation.pickup_at is not None:
        found["pickupAt"] = s(reservation.pickup_at)
    if reservation.allow_split:
        found["allowSplit"] = {"BOOL": True}
    return found


def _destination_of(item: Mapping[str, Any]) -> Destination | None:
    if "shipTo" not in item:
        return None
    kept = {k: v["S"] for k, v in item["shipTo"]["M"].items()}
    return Destination(kept["country"], kept.get("state"), kept.get("postalCode"))


def line_is_indexed(reservation: Reservation, line: Line) -> bool:
    """SkuHoldsIndex holds exactly the lines still holding stock of a live reservation."""
    return reservation.is_live and line.held > 0


def line_state(reservation: Reservation, line: Line) -> tuple[AttributeMap, list[str]]:
    """The attributes a line item has in this state (by attribute name), and those it must
    not have. A line copies its reservation's status, expiry and channel so the per-sku index
    answers "live holds on this sku" without reading the headers."""
    present: AttributeMap = {
        "quantity": n(line.quantity),
        "granted": n(line.taken),
        "allowOversell": {"BOOL": line.allow_oversell},
        "held": n(line.held),
        "released": n(line.released),
        "consumed": n(line.consumed),
        "offset": n(line.offset),
        "status": s(reservation.status.value),
        "expiresAt": n(reservation.expires_at),
    }
    absent: list[str] = []
    if line.labels:
        present["labels"] = holds_attribute(line.labels)
    # A cart update may turn a named line into an allocated one and back.
    if line.allocated:
        present["allocated"] = {"BOOL": True}
    else:
        absent.append("allocated")
    if line_is_indexed(reservation, line):
        present["holdSku"] = s(line.sku)
        present["holdSort"] = s(hold_sort(line.location, reservation.id))
    else:
        absent += ["holdSku", "holdSort"]
    if reservation.purge_at is None:
        absent.append(TTL_ATTRIBUTE)
    else:
        present[TTL_ATTRIBUTE] = n(reservation.purge_at)
    return present, absent


def line_item(reservation: Reservation, line: Line) -> AttributeMap:
    present, _ = line_state(reservation, line)
    item = {
        **line_key(reservation.id, line.sku, line.location),
        ENTITY: s(Entity.HOLD_LINE),
        "reservationId": s(reservation.id),
        "channel": s(reservation.channel),
        "sku": s(line.sku),
        "location": s(line.location),
        "createdAt": n(reservation.created_at),
        **present,
    }
    if line.site is not None:
        item["site"] = s(line.site)
    if line.bucket:
        item["bucket"] = n(line.bucket)
    return item


def line_from_item(item: Mapping[str, Any]) -> Line:
    return Line(
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        quantity=int(item["quantity"]["N"]),
        allow_oversell=item.get("allowOversell", {}).get("BOOL", False),
        held=int(item["held"]["N"]),
        released=_int(item, "released"),
        consumed=_int(item, "consumed"),
        offset=_int(item, "offset"),
        granted=_int(item, "granted") if "granted" in item else None,
        allocated=item.get("allocated", {}).get("BOOL", False),
        site=item["site"]["S"] if "site" in item else None,
        labels=holds_of(item),
        bucket=_int(item, "bucket"),
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
        updated_at=_int(item, "updatedAt", int(item["createdAt"]["N"])),
        purge_at=_int(item, TTL_ATTRIBUTE) if TTL_ATTRIBUTE in item else None,
        ship_to=_destination_of(item),
        shipping_choice=item["shippingChoice"]["S"] if "shippingChoice" in item else None,
        pickup_at=item["pickupAt"]["S"] if "pickupAt" in item else None,
        allow_split=item.get("allowSplit", {}).get("BOOL", False),
        change=change_of(item),
    )


def change_of(header: Mapping[str, Any]) -> Change:
    """The step that wrote a header's version (headers written before it was recorded
    were written by a create or an unknown step: CREATED at version 1, else CHANGED)."""
    raw = header.get("lastChange", {}).get("S")
    if raw in Change.__members__.values():
        return Change(raw)
    return Change.CREATED if _int(header, "version", 1) <= 1 else Change.CHANGED


def line_count(header: Mapping[str, Any], default: int) -> int:
    return _int(header, "lineCount", default)


def held_line_from_item(item: Mapping[str, Any]) -> HeldLine:
    return HeldLine(
        reservation_id=item["reservationId"]["S"],
        channel=item["channel"]["S"],
        status=Status(item["status"]["S"]),
        expires_at=int(item["expiresAt"]["N"]),
        line=line_from_item(item),
        created_at=_int(item, "createdAt"),
    )


def status_of_header(item: Mapping[str, Any]) -> tuple[str, Status]:
    return item["id"]["S"], Status(item["status"]["S"])


def purged_line_item(key: AttributeMap, line: Line, now: int, keep_until: int) -> AttributeMap:
    return {
        **key,
        ENTITY: s(Entity.PURGED_LINE),
        "held": n(line.held),
        "settledAt": n(now),
        TTL_ATTRIBUTE: n(keep_until),
    }


# --- stock --------------------------------------------------------------------------------

LOW_STOCK = "lowStockThreshold"


def measures_of(item: Mapping[str, Any]) -> dict[str, int]:
    """Every measure on a stock record, onHand with the others: a measure is a number under
    its own name (docs/architecture.md, "Supply measures")."""
    return {
        name: int(value["N"])
        for name, value in item.items()
        if "N" in value and name not in RECORD_ATTRIBUTES and MEASURE_NAME.fullmatch(name)
    }


def stock_level_from_item(item: Mapping[str, Any]) -> StockLevel:
    measures = measures_of(item)
    measures.pop(ON_HAND, None)
    return StockLevel(
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        on_hand=int(item["onHand"]["N"]),
        reserved=int(item["reserved"]["N"]),
        available=int(item["available"]["N"]),
        updated_at=_int(item, "updatedAt"),
        version=_int(item, "version"),
        low_stock_threshold=_int(item, LOW_STOCK) if LOW_STOCK in item else None,
        measures=measures,
        shards=_int(item, "shards", 1),
        bucketed="bucketsEver" in item,
    )


def available_of(item: Mapping[str, Any] | None) -> int:
    """Availability reported for a short line; an unknown sku or location has none."""
    return 0 if not item else _int(item, "available")


def reserved_of(item: Mapping[str, Any] | None) -> int:
    return 0 if not item else _int(item, "reserved")


# --- locations ----------------------------------------------------------------------------


def location_registration(location: Location) -> tuple[AttributeMap, list[str]]:
    """What a registration writes (by attribute name), and the optional attributes it
    leaves out, which a PUT removes."""
    present: AttributeMap = {
        "location": s(location.location),
        ENTITY: s(Entity.LOCATION),
        "registered": {"BOOL": True},
        "country": s(location.country or ""),
        "priority": n(location.priority),
        "active": {"BOOL": location.active},
        "shipsTo": {"L": [s(code) for code in location.ships_to]},
        "pickup": {"BOOL": location.pickup},
        "updatedAt": n(location.updated_at),
    }
    absent = []
    for name, value in (("name", location.name), ("site", location.site)):
        if value is None:
            absent.append(name)
        else:
            present[name] = s(value)
    return present, absent


def location_from_item(item: Mapping[str, Any]) -> Location:
    """A registered location, or one only seen holding stock (``registered`` False)."""
    if not item.get("registered", {}).get("BOOL", False):
        return Location(location=item["location"]["S"], registered=False)
    return Location(
        location=item["location"]["S"],
        country=item["country"]["S"],
        name=item["name"]["S"] if "name" in item else None,
        site=item["site"]["S"] if "site" in item else None,
        priority=_int(item, "priority"),
        active=item["active"]["BOOL"],
        ships_to=tuple(code["S"] for code in item["shipsTo"]["L"]),
        pickup=item.get("pickup", {}).get("BOOL", False),
        updated_at=_int(item, "updatedAt"),
    )


# --- ERP receipts -------------------------------------------------------------------------


def receipt_item(receipt: Receipt, now: int, purge_at: int) -> AttributeMap:
    return {
        **receipt_key(receipt.kind, receipt.message_id, receipt.part),
        ENTITY: s(Entity.ERP_RECEIPT),
        "kind": s(receipt.kind),
        "messageId": s(receipt.message_id),
        "fingerprint": s(receipt.fingerprint),
        "applied": n(receipt.applied),
        "appliedAt": n(now),
        TTL_ATTRIBUTE: n(purge_at),
    }


def receipt_from_item(item: Mapping[str, Any]) -> Receipt:
    return Receipt(
        kind=item["kind"]["S"],
        message_id=item["messageId"]["S"],
        fingerprint=item["fingerprint"]["S"],
        applied=int(item["applied"]["N"]),
        part=receipt_part_of(item[SK]["S"]),
    )
