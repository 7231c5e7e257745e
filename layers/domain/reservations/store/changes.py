"""A DynamoDB Streams record read as a change of one item of the table: which kind of
item, and its records before and after (docs/architecture.md, "Lifecycle events").

Stream records carry the items' attributes; only this package knows their names, so the
event relay reads records through here and never touches an attribute itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..records import Label, Reservation, StockLevel
from .items import reservation_from_item, stock_level_from_item
from .keys import Entity, entity_of
from .label_items import is_removed, label_from_item
from .notices import DeadLetterNotice, notice_from_item

T = TypeVar("T")

# The author of TTL deletions on the stream (userIdentity.principalId).
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


@dataclass(frozen=True, slots=True)
class ItemChange(Generic[T]):
    """``old`` is None for an insert, ``new`` None for a removal."""

    event_id: str  # the stream record's eventID: the same on every redelivery
    sequence_number: str
    old: T | None
    new: T | None
    at: int  # epoch seconds the change was made (ApproximateCreationDateTime)
    by_ttl: bool = False


HeaderChange = ItemChange[Reservation]
StockChange = ItemChange[StockLevel]
NoticeChange = ItemChange[DeadLetterNotice]
LabelChange = ItemChange[Label]
Change = HeaderChange | StockChange | NoticeChange | LabelChange


def _decoded(entity: Entity, image: Mapping[str, Any] | None) -> Any:
    if not image:
        return None
    if entity is Entity.RESERVATION:
        return reservation_from_item(image)
    if entity is Entity.STOCK:
        return stock_level_from_item(image)
    if entity is Entity.LABEL:
        return None if is_removed(image) else label_from_item(image)  # a tombstone: gone
    return notice_from_item(image)


def _epoch(value: Any) -> int:
    """Lambda passes epoch seconds; some engines an ISO-like text, read as 0 (unknown)."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def read_change(record: Mapping[str, Any]) -> Change | None:
    """The change a stream record (as Lambda passes it) tells, or None for an item whose
    changes are not told (hold lines, receipts, idempotency keys, markers, locations)."""
    body = record.get("dynamodb") or {}
    old_image, new_image = body.get("OldImage"), body.get("NewImage")
    entity = entity_of(new_image or old_image or {})
    if entity not in (Entity.RESERVATION, Entity.STOCK, Entity.DEAD_LETTER, Entity.LABEL):
        return None
    identity = record.get("userIdentity") or {}
    change: Change = ItemChange(
        event_id=str(record["eventID"]),
        sequence_number=str(body.get("SequenceNumber", "")),
        old=_decoded(entity, old_image),
        new=_decoded(entity, new_image),
        at=changed_at(record),
        by_ttl=identity.get("principalId") == TTL_PRINCIPAL,
    )
    return change


def sharded_record_of(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (sku, location) of a sharded stock record whose total a stream record may have
    moved: a change of one of its buckets, or of the record itself. None otherwise."""
    body = record.get("dynamodb") or {}
    image = body.get("NewImage") or body.get("OldImage") or {}
    entity = entity_of(image)
    sharded = entity is Entity.SHARD or (entity is Entity.STOCK and "bucketsEver" in image)
    return (image["sku"]["S"], image["location"]["S"]) if sharded else None


def changed_at(record: Mapping[str, Any]) -> int:
    return _epoch((record.get("dynamodb") or {}).get("ApproximateCreationDateTime"))
