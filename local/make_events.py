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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reservations import access

from .apigw import proxy_event
from .auth import api_gateway_claims, token_claims
from .function_samples import FUNCTION_SAMPLES
from .sample_values import MUG, POSTER, REQUEST_TIME_EPOCH_MS, RESERVATION_ID, SHIRT_PARIS
from .template import ROOT

EVENTS_DIR = ROOT / "events"
# What a request through the regional endpoint carries (api id "local", as apigw's context).
HOST = "local.execute-api.us-east-1.amazonaws.com"
CLIENT_IP = "203.0.113.10"  # TEST-NET-3: documentation addresses, never a real client
REQUEST_TIME = "01/Jan/2026:12:00:00 +0000"

OVERSELL_ID = "checkout-1002"
ALLOCATED_ID = "checkout-1003"
LABELLED_ID = "checkout-1004"
LABEL = "SN-0001"
CAMERA = {"sku": "CAMERA-X100", "location": "WH-LONDON"}


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
        "list_stock_movements",
        "GET",
        f"/inventory/{MUG.sku}/locations/{MUG.location}/movements?limit=20",
    ),
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
    # A serialized camera: the back office labels one unit, the storefront finds it, holds
    # that very unit for checkout-1004, then gives it back.
    Sample(
        "put_label",
        "PUT",
        f"/labels/{LABEL}",
        {**CAMERA, "quantity": 1, "bin": "A-01"},
        caller=BACK_OFFICE,
    ),
    Sample("list_sku_labels", "GET", f"/skus/{CAMERA['sku']}/labels?status=ACTIVE"),
    Sample("get_label", "GET", f"/labels/{LABEL}"),
    Sample(
        "create_reservation_labelled",
        "POST",
        "/reservations",
        {"id": LABELLED_ID, "items": [{**CAMERA, "labels": [LABEL]}]},
    ),
    Sample(
        "release_reservation_label", "POST", f"/reservations/{LABELLED_ID}/labels/{LABEL}/release"
    ),
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
