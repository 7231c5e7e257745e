"""Expressions every write of a stock record's onHand shares (docs/architecture.md,
"Invariants"): counted writes in :mod:`.stock`, label writes in :mod:`.labels`."""

from __future__ import annotations

from typing import Any

from ..records import Cause
from ..supply import ON_HAND
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
    return move_measure(table_name, sku, location, delta, now, ON_HAND, 1)


def move_measure(
    table_name: str,
    sku: str,
    location: str,
    delta: int,
    now: int,
    measure: str,
    coefficient: int,
) -> dict[str, Any]:
    """An Update moving ``measure`` by ``delta`` and available by what that is worth in
    supply (``coefficient``: +1, -1, 0), its version with them; conditions are the
    caller's."""
    moved = ["#measure = if_not_exists(#measure, :zero) + :delta"]
    if measure != ON_HAND:  # every record has an onHand, zero until written
        moved.append("onHand = if_not_exists(onHand, :zero)")
    return {
        "TableName": table_name,
        "Key": stock_key(sku, location),
        "UpdateExpression": (
            f"SET {', '.join(moved)}, "
            "available = if_not_exists(available, :zero) + :supplied, "
            f"reserved = if_not_exists(reserved, :zero), {NEXT_VERSION}, {IDENTITY_SET}"
        ),
        "ExpressionAttributeNames": {"#location": "location", "#measure": measure},
        "ExpressionAttributeValues": {
            ":delta": n(delta),
            ":supplied": n(coefficient * delta),
            **identity(sku, location, now),
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def add_cause(update: dict[str, Any], cause: Cause) -> None:
    """Record on the stock record who moved a measure and why, for the movement ledger.
    Every write that moves a measure sets all three (or removes those it has not), so the
    stream's new image names this write's cause, never an earlier one's."""
    sets = ["moveSource = :moveSource"]
    removes: list[str] = []
    values = {":moveSource": s(cause.source)}
    for attribute, value in (("moveReason", cause.reason), ("moveReference", cause.reference)):
        if value is None:
            removes.append(attribute)
        else:
            sets.append(f"{attribute} = :{attribute}")
            values[f":{attribute}"] = s(value)
    set_part, _, remove_part = update["UpdateExpression"].partition(" REMOVE ")
    removes = [x for x in remove_part.split(", ") if x] + removes
    update["UpdateExpression"] = f"{set_part}, {', '.join(sets)}" + (
        f" REMOVE {', '.join(removes)}" if removes else ""
    )
    update["ExpressionAttributeValues"] = {**update.get("ExpressionAttributeValues", {}), **values}
