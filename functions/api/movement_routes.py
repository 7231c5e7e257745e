"""The movement ledger of one stock record (docs/architecture.md, "Supply measures"):
included on its first request, as few environments ever serve it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from openapi_responses import ERRORS, IdentifierPath, documented
from reservations.http import presenters
from reservations.http.stock_models import MovementListResponse
from route_dependencies import Service

router = Router()
MAX_PAGE = 200


@router.get(
    "/inventory/<sku>/locations/<location>/movements",
    operation_id="listStockMovements",
    summary="A stock record's movements",
    description=(
        "Every change of a measure (PUT, the ERP's stock.set and stock.adjust, shipments, "
        "offsets that deduct onHand, label writes), newest first, with who made it and "
        "why; holds placed and released are not movements. One Query per page; written "
        "from the table's stream, so a change appears within seconds. Kept 90 days "
        "(MovementRetentionSeconds)."
    ),
    tags=["Inventory"],
    responses={200: documented("Newest first", MovementListResponse), **ERRORS},
)
def list_stock_movements(
    sku: IdentifierPath,
    location: IdentifierPath,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    nextToken: Annotated[str | None, Query(max_length=4096)] = None,
) -> MovementListResponse:
    page = service.ledger.page(sku, location, limit, nextToken)
    return presenters.movement_list_response(page.movements, page.next_token)
