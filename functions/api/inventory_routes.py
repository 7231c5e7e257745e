"""Routes of stock: what a sku has and holds, and setting physical stock."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from openapi_responses import BODY_ERRORS, ERRORS, IdentifierPath, documented
from reservations.http import presenters
from reservations.http.models import (
    InventoryResponse,
    SetOnHandRequest,
    SkuHoldsResponse,
    StockLevelResponse,
)
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


@router.put(
    "/inventory/<sku>/locations/<location>",
    operation_id="setOnHand",
    summary="Set physical stock",
    description="Absolute onHand at one location; holds are kept.",
    tags=TAGS,
    responses={200: documented("The stock level now", StockLevelResponse), **BODY_ERRORS},
)
def set_on_hand(
    sku: IdentifierPath, location: IdentifierPath, request: SetOnHandRequest, service: Service
) -> StockLevelResponse:
    return presenters.stock_level_response(service.set_on_hand(sku, location, request.onHand))
