"""The movement ledger's items (docs/architecture.md, "Supply measures"): what a stock
record's change on the table's stream says moved, and how a movement is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..records import SERVICE_SOURCE, Movement
from .items import measures_of
from .keys import ENTITY, TTL_ATTRIBUTE, AttributeMap, Entity, movement_key, n, s


def movements_between(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Movement]:
    """Every measure whose value differs between a stock record's two images, with the
    cause the write recorded on it. Holds move no measure, so they make no movement."""
    before = {} if old is None else measures_of(old)
    after = measures_of(new)
    cause = {name: new[name]["S"] for name in ("moveReason", "moveReference") if name in new}
    return [
        Movement(
            sku=new["sku"]["S"],
            location=new["location"]["S"],
            measure=measure,
            delta=value - before.get(measure, 0),
            value=value,
            at=int(new.get("updatedAt", {}).get("N", 0)),
            version=int(new.get("version", {}).get("N", 0)),
            source=new.get("moveSource", {}).get("S", SERVICE_SOURCE),
            reason=cause.get("moveReason"),
            reference=cause.get("moveReference"),
        )
        for measure, value in sorted(after.items())
        if value != before.get(measure, 0)
    ]


def movement_item(movement: Movement, keep_until: int) -> dict[str, AttributeMap]:
    item = {
        **movement_key(movement.sku, movement.location, movement.version, movement.measure),
        ENTITY: s(Entity.MOVEMENT),
        "sku": s(movement.sku),
        "location": s(movement.location),
        "measure": s(movement.measure),
        "delta": n(movement.delta),
        "value": n(movement.value),
        "at": n(movement.at),
        "version": n(movement.version),
        "source": s(movement.source),
        TTL_ATTRIBUTE: n(keep_until),
    }
    for name, value in (("reason", movement.reason), ("reference", movement.reference)):
        if value is not None:
            item[name] = s(value)
    return item


def movement_from_item(item: Mapping[str, Any]) -> Movement:
    return Movement(
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        measure=item["measure"]["S"],
        delta=int(item["delta"]["N"]),
        value=int(item["value"]["N"]),
        at=int(item["at"]["N"]),
        version=int(item["version"]["N"]),
        source=item["source"]["S"],
        reason=item.get("reason", {}).get("S"),
        reference=item.get("reference", {}).get("S"),
    )
