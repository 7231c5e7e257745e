"""Writes ``events/*.json``: one API Gateway proxy event per route of ``template.yaml``.

    python -m local.make_events            # rewrite the files
    python -m local.make_events --check    # exit 1 if a committed file differs

Events are built by ``local.apigw.proxy_event``, the builder the local server uses, so a
sample is what the handler gets over HTTP. Their SKUs are the demo catalogue of
``make run``, so each works with ``make invoke`` against a fresh ``make run``. Ids and
times are fixed so that regenerating changes nothing unless the shape changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reservations import access
from reservations.records import Line, Reservation, Status
from reservations.store.items import line_item
from reservations.store.keys import line_key

from .apigw import proxy_event
from .auth import api_gateway_claims, token_claims
from .aws_events import (
    erp_queue_arn,
    fifo_message,
    scheduled_event,
    sqs_event,
    sqs_record,
    stream_event,
    ttl_remove_record,
)
from .catalogue import DEMO_CATALOGUE, Stock
from .template import ROOT

EVENTS_DIR = ROOT / "events"
# What a request through the regional endpoint carries (api id "local", as apigw's context).
HOST = "local.execute-api.us-east-1.amazonaws.com"
CLIENT_IP = "203.0.113.10"  # TEST-NET-3: documentation addresses, never a real client
REQUEST_TIME_EPOCH_MS = 1_767_268_800_000  # 2026-01-01T12:00:00Z
REQUEST_TIME = "01/Jan/2026:12:00:00 +0000"

RESERVATION_ID = "checkout-1001"
OVERSELL_ID = "checkout-1002"
ALLOCATED_ID = "checkout-1003"


def _stock(sku: str, location: str) -> Stock:
    """A line of the demo catalogue; fails here, not in ``make invoke``, if it is gone."""
    return next(s for s in DEMO_CATALOGUE if (s.sku, s.location) == (sku, location))


MUG = _stock("MUG-BLUE", "WH-LONDON")
SHIRT_PARIS = _stock("TSHIRT-M-RED", "STORE-PARIS")
POSTER = _stock("POSTER-A2", "WH-LONDON")


# The channels of the samples: API Gateway's authorizer puts their tokens' claims into the
# request context. The storefront holds stock, the call centre also back-orders (oversell);
# the back office sets stock.
STOREFRONT = (
    "storefront",
    (access.RESERVATIONS_READ, access.RESERVATIONS_WRITE, access.INVENTORY_READ),
)
CALL_CENTRE = (
    "callcentre",
    (
        access.RESERVATIONS_READ,
        access.RESERVATIONS_WRITE,
        access.RESERVATIONS_OVERSELL,
        access.INVENTORY_READ,
    ),
)
BACK_OFFICE = ("backoffice", (access.INVENTORY_READ, access.INVENTORY_WRITE))
# The operator console's token: admin on holds, stock read.
OPERATOR = ("console", (access.RESERVATIONS_ADMIN, access.INVENTORY_READ))
# A dead letter's id in the DLQ (SQS's own, in AWS: list_dead_letters gives the real ones).
DEAD_LETTER_ID = "6f1f3e5a-8a4b-4c55-9d5c-2b8e0e6f0b10"


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    method: str
    path: str
    body: Any = None
    caller: tuple[str, tuple[str, ...]] | None = STOREFRONT  # None: no token (the API docs)


# In this order they tell one story against a fresh `make run`: checkout-1001 is held,
# found by its order, extended, grown to 3 mugs, partly released, confirmed and fulfilled;
# checkout-1002 is the call centre's back-order (oversell), and it cancels it; the Paris
# store is registered again, and checkout-1003 names no location: the service places it
# (the London warehouse ships to France), and its cart grows to 3 mugs there.
SAMPLES = (
    Sample("get_inventory", "GET", f"/inventory/{MUG.sku}"),
    Sample("get_stock_level", "GET", f"/inventory/{MUG.sku}/locations/{MUG.location}"),
    Sample(
        "set_on_hand",
        "PUT",
        f"/inventory/{MUG.sku}/locations/{MUG.location}",
        {"onHand": 30, "lowStockThreshold": 5},
        BACK_OFFICE,
    ),
    Sample(
        "create_reservation",
        "POST",
        "/reservations",
        {
            "id": RESERVATION_ID,
            "orderId": "order-1001",
            "items": [
                {"sku": MUG.sku, "location": MUG.location, "quantity": 2},
                {"sku": SHIRT_PARIS.sku, "location": SHIRT_PARIS.location, "quantity": 1},
            ],
            "expiresInSeconds": 900,
        },
    ),
    Sample(
        "create_reservation_oversell",
        "POST",
        "/reservations",
        {
            "id": OVERSELL_ID,
            "items": [
                # More than the catalogue's 3 posters: granted only because oversell is allowed.
                {
                    "sku": POSTER.sku,
                    "location": POSTER.location,
                    "quantity": 5,
                    "allowOversell": True,
                }
            ],
        },
        CALL_CENTRE,
    ),
    Sample("list_locations", "GET", "/locations"),
    Sample("get_location", "GET", "/locations/STORE-PARIS"),
    Sample(
        "register_location",
        "PUT",
        "/locations/STORE-PARIS",
        {
            "name": "Paris store",
            "country": "FR",
            "site": "FR",
            "priority": 2,
            "active": True,
            "shipsTo": ["FR", "BE"],
            "pickup": True,
        },
        BACK_OFFICE,
    ),
    Sample(
        "get_availability",
        "POST",
        "/availability",
        {"skus": [MUG.sku, SHIRT_PARIS.sku], "country": "FR"},
    ),
    Sample(
        "create_reservation_allocated",
        "POST",
        "/reservations",
        {
            "id": ALLOCATED_ID,
            # No location: the service chooses among the locations shipping to France.
            "items": [
                {"sku": MUG.sku, "quantity": 2},
                {"sku": SHIRT_PARIS.sku, "quantity": 1},
            ],
            "shipTo": {
                "address": {
                    "line1": "1 rue de Rivoli",
                    "city": "Paris",
                    "postalCode": "75001",
                    "country": "FR",
                },
                "name": "Camille Martin",
                "email": "camille@example.com",
            },
            "shippingChoice": {"amount": 4.95, "description": "Standard", "serviceLevel": "SG"},
        },
    ),
    Sample("get_reservation", "GET", f"/reservations/{RESERVATION_ID}"),
    Sample("list_reservations", "GET", "/reservations?orderId=order-1001"),
    Sample("list_holds", "GET", f"/inventory/{MUG.sku}/reservations"),
    Sample("find_reservations", "GET", "/reservations?orderId=order-1001"),
    Sample(
        "extend_reservation",
        "POST",
        f"/reservations/{RESERVATION_ID}/extend",
        {"expiresInSeconds": 1800},
    ),
    Sample(
        "change_reservation_items",
        "PUT",
        f"/reservations/{RESERVATION_ID}/items",
        {
            "items": [
                {"sku": MUG.sku, "location": MUG.location, "quantity": 3},
                {"sku": SHIRT_PARIS.sku, "location": SHIRT_PARIS.location, "quantity": 1},
            ],
            "orderId": "order-1001",
        },
    ),
    Sample(
        "change_reservation_items_allocated",
        "PUT",
        f"/reservations/{ALLOCATED_ID}/items",
        # No location: the mug line grows where checkout-1003 already holds its mugs.
        {"items": [{"sku": MUG.sku, "quantity": 3}, {"sku": SHIRT_PARIS.sku, "quantity": 1}]},
    ),
    Sample(
        "release_reservation",
        "POST",
        f"/reservations/{RESERVATION_ID}/release",
        {"items": [{"sku": MUG.sku, "location": MUG.location, "quantity": 1}]},
    ),
    Sample("confirm_reservation", "POST", f"/reservations/{RESERVATION_ID}/confirm"),
    Sample("fulfill_reservation", "POST", f"/reservations/{RESERVATION_ID}/fulfill"),
    Sample("cancel_reservation", "DELETE", f"/reservations/{OVERSELL_ID}", caller=CALL_CENTRE),
    Sample("run_drift_check", "GET", "/operations/drift", caller=OPERATOR),
    Sample("list_dead_letters", "GET", "/operations/dead-letters", caller=OPERATOR),
    Sample(
        "redrive_dead_letter",
        "POST",
        f"/operations/dead-letters/{DEAD_LETTER_ID}/redrive",
        caller=OPERATOR,
    ),
    Sample("health", "GET", "/health", caller=None),
    Sample("openapi", "GET", "/openapi.json", caller=None),
    Sample("swagger", "GET", "/swagger", caller=None),
    Sample("console", "GET", "/console", caller=None),
    Sample("console_asset", "GET", "/console/app.js", caller=None),
)


def build(sample: Sample) -> dict[str, Any]:
    stable = uuid.uuid5(uuid.NAMESPACE_URL, f"events/{sample.name}")
    headers = {
        "Accept": "text/html" if sample.name in ("swagger", "console") else "application/json",
        "Host": HOST,
        "User-Agent": "curl/8.5.0",
        "X-Amzn-Trace-Id": f"Root=1-{REQUEST_TIME_EPOCH_MS // 1000:08x}-{stable.hex[:24]}",
        "X-Forwarded-For": CLIENT_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    body = None
    if sample.body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(sample.body)
    authorizer = None
    if sample.caller is not None:
        channel, scopes = sample.caller
        # As the token was when API Gateway checked it: issued a minute before the request.
        claims = token_claims(
            channel,
            scopes,
            now=REQUEST_TIME_EPOCH_MS // 1000 - 60,
            jti=str(uuid.uuid5(stable, "jti")),
        )
        authorizer = {"claims": api_gateway_claims(claims)}
    event = proxy_event(
        sample.method, sample.path, headers, body, source_ip=CLIENT_IP, authorizer=authorizer
    )
    context = event["requestContext"]
    context["requestId"] = context["extendedRequestId"] = str(stable)
    context["requestTime"] = REQUEST_TIME
    context["requestTimeEpoch"] = REQUEST_TIME_EPOCH_MS
    return event


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2) + "\n"


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


def generated() -> dict[str, str]:
    """File name to content, for every sample."""
    files = {f"{sample.name}.json": render(build(sample)) for sample in SAMPLES}
    files.update({f"{name}.json": render(make()) for name, make in FUNCTION_SAMPLES.items()})
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.make_events", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, content in generated().items():
        path: Path = EVENTS_DIR / name
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(name)
        if not args.check:
            EVENTS_DIR.mkdir(exist_ok=True)
            path.write_text(content, encoding="utf-8")
    verb = "differ" if args.check else "written"
    print(f"{len(stale)} event file(s) {verb}: {', '.join(stale) or '-'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
