"""Routes of stock: what a sku has and holds, and setting physical stock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseHeader

from idempotency_keys import IdempotencyKeys, answer
from openapi_responses import BODY_ERRORS, ERRORS, IdentifierPath, documented
from reservations.commands import SetThreshold
from reservations.http import presenters
from reservations.http.models import SkuHoldsResponse
from reservations.http.stock_models import (
    InventoryResponse,
    SetOnHandRequest,
    StockLevelResponse,
)
from reservations.records import Cause, StockLevel
from reservations.service import ANY_VERSION
from reservations.store import StoredResponse
from route_dependencies import Caller, Service

router = Router()
TAGS = ["Inventory"]


@router.get(
    "/inventory/<sku>/reservations",
    operation_id="listHoldsOnSku",
    summary="Live holds on a sku",
    description=(
        "From an index, never a scan: the caller's own channel's holds, every "
        "channel's for an admin."
    ),
    tags=TAGS,
    responses={200: documented("Live holds on the sku", SkuHoldsResponse), **ERRORS},
)
def list_holds_on_sku(sku: IdentifierPath, service: Service, caller: Caller) -> SkuHoldsResponse:
    return presenters.holds_response(sku, service.holds_on_sku(sku, caller.owner_filter))


@router.get(
    "/inventory/<sku>",
    operation_id="getInventory",
    summary="Stock of a sku",
    description="onHand, reserved and available per location and in total.",
    tags=TAGS,
    responses={200: documented("Stock of the sku", InventoryResponse), **ERRORS},
)
def get_inventory(sku: IdentifierPath, service: Service) -> InventoryResponse:
    return presenters.inventory_response(service.inventory(sku))


LEVEL = "/inventory/<sku>/locations/<location>"
ETAG_HEADER: dict[str, OpenAPIResponseHeader] = {
    "ETag": {
        "description": "The record's version: send it back in If-Match to set stock only if "
        "it has not changed since",
        "schema": {"type": "string"},
    }
}


def etag(level: StockLevel) -> str:
    return f'"{level.version}"'


@router.get(
    LEVEL,
    operation_id="getStockLevel",
    summary="Stock of a sku at one location",
    description="With an ETag of the record's version, for a compare-and-set PUT (If-Match).",
    tags=TAGS,
    responses={
        200: {**documented("The stock level", StockLevelResponse), "headers": ETAG_HEADER},
        **ERRORS,
    },
)
def get_stock_level(
    sku: IdentifierPath, location: IdentifierPath, service: Service
) -> Response[Any]:
    level = service.stock_level(sku, location)
    return Response(
        status_code=200,
        content_type="application/json",
        body=presenters.stock_level_response(level),
        headers={"ETag": etag(level)},
    )


@router.put(
    LEVEL,
    operation_id="setOnHand",
    summary="Set stock measures",
    description=(
        "Absolute measures at one location (any of onHand, inbound, outbound, safetyStock "
        "and the deployment's own; available moves by what the supply formula makes of "
        "them); holds are kept. reason and reference go to the movement ledger. With "
        "If-Match (an ETag of this record, or *), only if the record is still at that "
        "version, as Shopify's changeFromQuantity; without it the last writer wins. "
        "lowStockThreshold sets the level below which stock.low is published (null "
        "removes it). shards, sent alone, spreads available over that many buckets for "
        "a hot sku (1 to 64; 1 gathers it back); totals and holds are kept."
    ),
    tags=TAGS,
    responses={
        200: {**documented("The stock level now", StockLevelResponse), "headers": ETAG_HEADER},
        412: documented("PRECONDITION_FAILED: the record moved; `current` is it now"),
        409: documented("STOCK_SERIALIZED: this stock is its labels; write those instead"),
        404: documented("NOT_FOUND: shards on a record that does not exist"),
        **BODY_ERRORS,
    },
)
def set_on_hand(
    sku: IdentifierPath,
    location: IdentifierPath,
    request: SetOnHandRequest,
    service: Service,
    keys: IdempotencyKeys,
    caller: Caller,
) -> Response[Any]:
    def render(level: StockLevel) -> StoredResponse:
        return answer(200, presenters.stock_level_response(level), ("ETag", etag(level)))

    expected = expected_versions(router.current_event.headers)
    if request.shards is not None:
        level = service.sharding.reshard(
            sku, location, request.shards, expected, keys.remember(render)
        )
        return keys.respond(level, render)
    # Absent keeps the record's threshold; null removes it.
    threshold = (
        SetThreshold(request.lowStockThreshold)
        if "lowStockThreshold" in request.model_fields_set
        else None
    )
    level = service.set_measures(
        sku,
        location,
        request.measures(),
        expected,
        keys.remember(render),
        threshold,
        Cause(caller.channel, request.reason, request.reference),
    )
    return keys.respond(level, render)


def expected_versions(headers: Mapping[str, str]) -> tuple[int, ...] | None:
    """The versions If-Match names: None without the header; ``*`` is any existing record;
    none that this record can have (a weak tag never matches: RFC 9110 compares If-Match
    strongly) is an empty tuple."""
    raw = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
    if raw is None:
        return None
    tags = [tag.strip() for tag in raw.split(",")]
    if "*" in tags:
        return (ANY_VERSION,)
    return tuple(
        int(tag[1:-1])
        for tag in tags
        if len(tag) >= 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit()
    )
