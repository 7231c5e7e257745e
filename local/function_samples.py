"""Sample events of the functions that are not behind the API: the sweeper's schedule, a
stream record of a TTL deletion, and the ERP's SQS batches (``python -m local.make_events``
writes them with the API's samples)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from reservations.records import Line, Reservation, Status
from reservations.store.items import line_item
from reservations.store.keys import line_key

from .aws_events import (
    erp_queue_arn,
    fifo_message,
    scheduled_event,
    sqs_event,
    sqs_record,
    stream_event,
    ttl_remove_record,
)
from .sample_values import MUG, POSTER, REQUEST_TIME_EPOCH_MS, RESERVATION_ID, SHIRT_PARIS


def scheduled_sweep() -> dict[str, Any]:
    """The sweeper's EventBridge tick (make invoke FN=sweeper EVENT=events/scheduled_sweep.json)."""
    return scheduled_event(
        at=REQUEST_TIME_EPOCH_MS / 1000,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "events/sweep")),
    )


def stream_ttl_remove() -> dict[str, Any]:
    """A TTL deletion of a hold line that still held 2 mugs: the stream function gives them back
    (``make invoke FN=stream EVENT=events/stream_ttl_remove.json``)."""
    reservation_id = "checkout-abandoned"
    now = REQUEST_TIME_EPOCH_MS // 1000
    abandoned = Reservation(
        id=reservation_id,
        status=Status.ACTIVE,
        channel="default",
        lines=(Line(MUG.sku, MUG.location, quantity=2, held=2),),
        created_at=now - 8100,
        expires_at=now - 7200,
        fingerprint="",
        version=1,
        purge_at=now - 3600,
    )
    old_image = line_item(abandoned, abandoned.lines[0])
    keys = line_key(reservation_id, MUG.sku, MUG.location)
    record = ttl_remove_record(
        keys, old_image, "4421584500000000017450439091", at=REQUEST_TIME_EPOCH_MS / 1000
    )
    return stream_event([record])


def erp_event(*bodies: tuple[str, dict[str, Any] | str]) -> dict[str, Any]:
    """An SQS event from the ERP queue, one record per (message group, body)."""
    records = []
    for index, (group, body) in enumerate(bodies):
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        message = fifo_message(
            text,
            group,
            message_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"events/erp/{text}")),
            sequence_number=f"1884949646046769{index:04d}",
            at=REQUEST_TIME_EPOCH_MS / 1000,
        )
        records.append(sqs_record(message, erp_queue_arn()))
    return sqs_event(records)


def _erp(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "schemaVersion": 1, **fields}


STOCK_SET = _erp("stock.set", sku=MUG.sku, location=MUG.location, onHand=30, sequence=1)
STOCK_ADJUST = _erp(
    "stock.adjust", adjustmentId="grn-2026-0042", sku=MUG.sku, location=MUG.location, delta=12
)
OFFSET = _erp(
    "reservation.offset",
    offsetId="so-line-7781",
    reservationId=RESERVATION_ID,
    sku=MUG.sku,
    location=MUG.location,
    quantity=1,
)
AUTO_OFFSET = _erp(
    "reservation.offset", offsetId="pick-5521", sku=MUG.sku, location=MUG.location, quantity=1
)

LABEL_UPSERT = _erp(
    "label.upsert",
    label="SN-0002",
    sku="CAMERA-X100",
    location=MUG.location,
    quantity=1,
    bin="A-02",
    sequence=1,
)

# Events of the functions that are not behind the API. The ERP samples tell a story after
# `create_reservation`: the ERP sets the mugs' stock, receives 12 more, takes over one mug
# of checkout-1001 (by id) and one of the oldest hold (auto offset); a batch mixes two
# skus with a message of an unknown type, which goes to the dead-letter queue.
FUNCTION_SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "scheduled_sweep": scheduled_sweep,
    "stream_ttl_remove": stream_ttl_remove,
    "erp_stock_set": lambda: erp_event((MUG.sku, STOCK_SET)),
    "erp_stock_adjust": lambda: erp_event((MUG.sku, STOCK_ADJUST)),
    "erp_offset": lambda: erp_event((MUG.sku, OFFSET)),
    "erp_auto_offset": lambda: erp_event((MUG.sku, AUTO_OFFSET)),
    "erp_label_upsert": lambda: erp_event(("CAMERA-X100", LABEL_UPSERT)),
    "erp_batch_with_poison": lambda: erp_event(
        (
            POSTER.sku,
            _erp("stock.set", sku=POSTER.sku, location=POSTER.location, onHand=7, sequence=3),
        ),
        (SHIRT_PARIS.sku, '{"type": "stock.delete", "sku": "TSHIRT-M-RED"}'),
        (
            SHIRT_PARIS.sku,
            _erp(
                "stock.adjust",
                adjustmentId="count-2026-11",
                sku=SHIRT_PARIS.sku,
                location=SHIRT_PARIS.location,
                delta=-2,
            ),
        ),
    ),
}
