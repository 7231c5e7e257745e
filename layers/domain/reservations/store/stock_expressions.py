"""Expressions every write of a stock record's onHand shares (docs/architecture.md,
"Invariants"): counted writes in :mod:`.stock`, label writes in :mod:`.labels`."""

from __future__ import annotations

from typing import Any

from .keys import Entity, n, s, stock_key


def identity(sku: str, location: str, now: int) -> dict[str, Any]:
    """Values that make an update create a well-formed record where none exists, and move
    its version."""
    return {
        ":sku": s(sku),
        ":location": s(location),
        ":entity": s(Entity.STOCK),
        ":now": n(now),
        ":zero": n(0),
        ":one": n(1),
    }


IDENTITY_SET = "sku = :sku, #location = :location, entity = :entity, updatedAt = :now"
# Every write that changes onHand moves the record's version (one "+" in its own clause).
NEXT_VERSION = "version = if_not_exists(version, :zero) + :one"


def move_on_hand(table_name: str, sku: str, location: str, delta: int, now: int) -> dict[str, Any]:
    """An Update moving onHand and available together by ``delta`` (a record that does not
    exist starts at zero), its version with them; conditions are the caller's."""
    return {
        "TableName": table_name,
        "Key": stock_key(sku, location),
        "UpdateExpression": (
            "SET onHand = if_not_exists(onHand, :zero) + :delta, "
            "available = if_not_exists(available, :zero) + :delta, "
            f"reserved = if_not_exists(reserved, :zero), {NEXT_VERSION}, {IDENTITY_SET}"
        ),
        "ExpressionAttributeNames": {"#location": "location"},
        "ExpressionAttributeValues": {":delta": n(delta), **identity(sku, location, now)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
