"""Codecs between label items and :class:`~reservations.records.Label`, and the label list
a hold line keeps (docs/architecture.md, "Serialized labels")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..records import Label, LabelHold, LabelStatus
from .keys import ENTITY, AttributeMap, Entity, label_key, label_sort, n, s


def label_item(label: Label) -> AttributeMap:
    """The whole item of a label in this state (a Put replaces it whole)."""
    item: AttributeMap = {
        **label_key(label.label),
        ENTITY: s(Entity.LABEL),
        "label": s(label.label),
        "sku": s(label.sku),
        "location": s(label.location),
        "quantity": n(label.quantity),
        "status": s(label.status.value),
        "createdAt": n(label.created_at),
        "updatedAt": n(label.updated_at),
        "version": n(label.version),
        # SkuLabelsIndex: every label of a sku, by location
        "labelSku": s(label.sku),
        "labelSort": s(label_sort(label.location, label.label)),
    }
    texts = {
        "bin": label.bin,
        "reservationId": label.reservation_id,
        "orderId": label.order_id,
        "channel": label.channel,
    }
    item.update({name: s(value) for name, value in texts.items() if value is not None})
    if label.erp_sequence is not None:
        item["erpSequence"] = n(label.erp_sequence)
    return item


def is_removed(item: Mapping[str, Any]) -> bool:
    """A removed label stays as a tombstone (its ERP sequence), out of every read."""
    return bool(item.get("removed", {}).get("BOOL", False))


def label_from_item(item: Mapping[str, Any]) -> Label:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return Label(
        label=item["label"]["S"],
        sku=item["sku"]["S"],
        location=item["location"]["S"],
        quantity=int(item["quantity"]["N"]),
        created_at=int(item["createdAt"]["N"]),
        updated_at=int(item["updatedAt"]["N"]),
        status=LabelStatus(item["status"]["S"]),
        bin=text("bin"),
        reservation_id=text("reservationId"),
        order_id=text("orderId"),
        channel=text("channel"),
        version=int(item["version"]["N"]),
        erp_sequence=int(item["erpSequence"]["N"]) if "erpSequence" in item else None,
    )


def holds_attribute(holds: tuple[LabelHold, ...]) -> AttributeMap:
    """A line's labels, in the order placed."""
    return {
        "L": [
            {
                "M": {
                    "label": s(x.label),
                    "quantity": n(x.quantity),
                    "held": {"BOOL": x.held},
                    "shipped": n(x.shipped),
                }
            }
            for x in holds
        ]
    }


def holds_of(item: Mapping[str, Any]) -> tuple[LabelHold, ...]:
    return tuple(
        LabelHold(
            label=x["M"]["label"]["S"],
            quantity=int(x["M"]["quantity"]["N"]),
            held=x["M"]["held"]["BOOL"],
            shipped=int(x["M"]["shipped"]["N"]),
        )
        for x in item.get("labels", {}).get("L", [])
    )
