"""Every key, key prefix, index and entity name of the one table (docs/architecture.md,
"Table design"). Only this module spells them."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

AttributeMap = dict[str, Any]

PK = "PK"
SK = "SK"
ENTITY = "entity"
TTL_ATTRIBUTE = "purgeAt"
EXPIRY_INDEX = "ExpiryIndex"
SKU_HOLDS_INDEX = "SkuHoldsIndex"
ORDER_INDEX = "OrderIndex"
CHANNEL_INDEX = "ChannelIndex"
SKU_LABELS_INDEX = "SkuLabelsIndex"
EXPIRY_SHARDS = 8

STOCK_PREFIX = "SKU#"
LOCATION_PREFIX = "LOC#"
RESERVATION_PREFIX = "RES#"
RESERVATION_SK = "RES"
LINE_PREFIX = "LINE#"
PURGED_PREFIX = "PURGED#"
RECEIPT_PREFIX = "MSG#"
RECEIPT_SK = "MSG"
RECEIPT_PART_PREFIX = "PART#"
IDEMPOTENCY_PREFIX = "IDEM#"
IDEMPOTENCY_SK = "IDEM"
# Every location item shares one partition: the network is read whole, one Query, and cached.
LOCATIONS_PK = "LOCATIONS"
DEAD_LETTER_PREFIX = "DLQ#"
DEAD_LETTER_SK = "DLQ"
LABEL_PREFIX = "LABEL#"
MOVEMENT_PREFIX = "MOVES#"  # a (sku, location)'s movement ledger, newest version last
LABEL_SK = "LABEL"
# A stock record's buckets 1 .. N-1 (docs/architecture.md, "Sharded stock"), each on a
# partition key of its own: a partition's write units are what sharding spreads. Bucket 0
# is the record itself.
SHARD_PREFIX = "SHARD#"
SHARD_SK = "SHARD"
ALERTS_PREFIX = "ALERTS#"
ALERTS_SK = "ALERTS"


class Entity(StrEnum):
    """The kinds of item, stored in each item's ``entity`` attribute."""

    STOCK = "stock"
    RESERVATION = "reservation"
    HOLD_LINE = "hold"
    PURGED_LINE = "purged-line"
    ERP_RECEIPT = "erp-receipt"
    IDEMPOTENCY_KEY = "idempotency-key"
    LOCATION = "location"
    DEAD_LETTER = "dead-letter"  # an ERP message sent to the DLQ, told as an event
    LABEL = "label"  # a serialized label: stock at a location, held whole
    MOVEMENT = "movement"  # one change of one measure of a stock record
    SHARD = "shard"  # a bucket of a sharded stock record, beyond the record itself
    STOCK_ALERTS = "stock-alerts"  # which thresholds a sharded record's total is below


def n(value: int) -> AttributeMap:
    return {"N": str(value)}


def s(value: str) -> AttributeMap:
    return {"S": str(value)}  # an Entity too


def entity_of(item: Mapping[str, Any]) -> Entity | None:
    raw = item.get(ENTITY, {}).get("S")
    return Entity(raw) if raw in Entity.__members__.values() else None


def stock_pk(sku: str) -> AttributeMap:
    return s(f"{STOCK_PREFIX}{sku}")


def stock_key(sku: str, location: str) -> AttributeMap:
    return {PK: stock_pk(sku), SK: s(f"{LOCATION_PREFIX}{location}")}


def shard_key(sku: str, location: str, bucket: int) -> AttributeMap:
    """Bucket ``bucket`` of a stock record; bucket 0 is the record (stock_key)."""
    if bucket == 0:
        return stock_key(sku, location)
    return {PK: s(f"{SHARD_PREFIX}{sku}#{location}#{bucket}"), SK: s(SHARD_SK)}


def alerts_key(sku: str, location: str) -> AttributeMap:
    """The events function's memory of a sharded record's crossings (stock_alerts.py)."""
    return {PK: s(f"{ALERTS_PREFIX}{sku}#{location}"), SK: s(ALERTS_SK)}


def movements_pk(sku: str, location: str) -> AttributeMap:
    return s(f"{MOVEMENT_PREFIX}{sku}#{location}")


def movement_key(sku: str, location: str, version: int, measure: str) -> AttributeMap:
    """The stock record's version that made the change orders the ledger (versions move
    with every measure write) and, with the measure, makes a redelivered change the same
    item: the ledger writes it once however often the stream delivers it."""
    return {PK: movements_pk(sku, location), SK: s(f"{version:015d}#{measure}")}


def reservation_pk(reservation_id: str) -> AttributeMap:
    return s(f"{RESERVATION_PREFIX}{reservation_id}")


def reservation_id_of(pk: str) -> str:
    return pk.removeprefix(RESERVATION_PREFIX)


def reservation_key(reservation_id: str) -> AttributeMap:
    return {PK: reservation_pk(reservation_id), SK: s(RESERVATION_SK)}


def line_sk(sku: str, location: str) -> str:
    return f"{LINE_PREFIX}{sku}#{location}"


def line_key(reservation_id: str, sku: str, location: str) -> AttributeMap:
    return {PK: reservation_pk(reservation_id), SK: s(line_sk(sku, location))}


def purged_line_key(reservation_id: str, created_at: int, sku: str, location: str) -> AttributeMap:
    # createdAt tells apart two holds that reused one id, each purged in turn.
    return {
        PK: reservation_pk(reservation_id),
        SK: s(f"{PURGED_PREFIX}{created_at}#{sku}#{location}"),
    }


def hold_sort(location: str, reservation_id: str) -> str:
    """SkuHoldsIndex's sort key: a location's holds share the prefix ``<location>#``."""
    return f"{location}#{reservation_id}"


def hold_sort_prefix(location: str) -> str:
    return f"{location}#"


def expiry_shard(reservation_id: str) -> str:
    """Spreads ACTIVE holds over a few index partitions, so expiring ones never share one."""
    return expiry_shard_name(zlib.crc32(reservation_id.encode()) % EXPIRY_SHARDS)


def expiry_shard_name(shard: int) -> str:
    return f"EXP#{shard}"


def receipt_pk(kind: str, message_id: str) -> AttributeMap:
    return s(f"{RECEIPT_PREFIX}{kind}#{message_id}")


def receipt_key(kind: str, message_id: str, part: str | None) -> AttributeMap:
    sk = RECEIPT_SK if part is None else f"{RECEIPT_PART_PREFIX}{part}"
    return {PK: receipt_pk(kind, message_id), SK: s(sk)}


def receipt_part_of(sk: str) -> str | None:
    return None if sk == RECEIPT_SK else sk.removeprefix(RECEIPT_PART_PREFIX)


def idempotency_key(channel: str, key: str) -> AttributeMap:
    """Keys are the client's (any printable ASCII, '#' too) and scoped per channel: the key
    item holds a digest of it, so no client text ever shapes a table key."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return {PK: s(f"{IDEMPOTENCY_PREFIX}{channel}#{digest}"), SK: s(IDEMPOTENCY_SK)}


def locations_pk() -> AttributeMap:
    return s(LOCATIONS_PK)


def location_key(location: str) -> AttributeMap:
    return {PK: locations_pk(), SK: s(f"{LOCATION_PREFIX}{location}")}


def dead_letter_key(message_id: str) -> AttributeMap:
    """SQS message ids are UUIDs; a digest keeps any other text out of the key all the same."""
    digest = hashlib.sha256(message_id.encode()).hexdigest()
    return {PK: s(f"{DEAD_LETTER_PREFIX}{digest}"), SK: s(DEAD_LETTER_SK)}


def label_key(label: str) -> AttributeMap:
    return {PK: s(f"{LABEL_PREFIX}{label}"), SK: s(LABEL_SK)}


def label_sort(location: str, label: str) -> str:
    """SkuLabelsIndex's sort key: a location's labels share the prefix ``<location>#``."""
    return f"{location}#{label}"
