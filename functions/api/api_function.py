"""API Gateway (REST) entry point: translates HTTP to calls of the reservation service."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from reservations import api_docs, presenters, request_guard
from reservations.bootstrap import build_service
from reservations.config import Settings
from reservations.errors import (
    Contention,
    DomainError,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from reservations.http_errors import error_response, validation_error_response
from reservations.lifecycle import LineQuantity
from reservations.models import (
    IDENTIFIER_MAX,
    IDENTIFIER_PATTERN,
    CreateReservationRequest,
    ErrorResponse,
    ExtendReservationRequest,
    FulfillReservationRequest,
    InventoryResponse,
    LineQuantityRequest,
    ReleaseReservationRequest,
    ReservationResponse,
    SetOnHandRequest,
    SkuHoldsResponse,
    StockLevelResponse,
)
from reservations.records import Reservation

logger = Logger()
metrics = Metrics()
# Reads publish no metric; that is expected, not worth a warning on every request.
warnings.filterwarnings("ignore", message="No application metrics to publish")
app = APIGatewayRestResolver(enable_validation=True)
settings = Settings.from_env()
service = build_service(settings)

IdentifierPath = Annotated[str, Path(max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN)]


def documented(description: str, model: type[BaseModel] = ErrorResponse) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


ERRORS: dict[int, OpenAPIResponse] = {
    400: documented("Invalid request: the field and the reason"),
    503: documented("Gave up under contention; retry after the Retry-After header"),
}
NOT_FOUND = {404: documented("Unknown reservation or sku"), **ERRORS}


TRANSITION = {
    409: documented("INVALID_STATE: the transition is impossible from the current status"),
    **NOT_FOUND,
}


def present(reservation: Reservation) -> ReservationResponse:
    return presenters.reservation_response(reservation, service.status_of(reservation))


def line_quantities(items: list[LineQuantityRequest]) -> list[LineQuantity]:
    return [LineQuantity(item.sku, item.location, item.quantity) for item in items]


def caller_channel() -> str:
    """The calling channel. Until authentication lands every caller is ``default``."""
    return "default"


@app.post(
    "/reservations",
    responses={
        201: documented("Created: every item is held", ReservationResponse),
        200: documented("Replay of an identical request: nothing more held", ReservationResponse),
        409: documented("INSUFFICIENT_STOCK (every short item) or IDEMPOTENCY_CONFLICT"),
        **ERRORS,
    },
)
def create_reservation(request: CreateReservationRequest) -> Response[ReservationResponse]:
    result = service.reserve(request, caller_channel())
    if result.created:
        metrics.add_metric(name="ReservationsCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201 if result.created else 200,
        content_type="application/json",
        body=present(result.reservation),
    )


@app.get(
    "/reservations/<reservation_id>",
    responses=NOT_FOUND,
)
def get_reservation(reservation_id: IdentifierPath) -> ReservationResponse:
    return present(service.get(reservation_id))


@app.delete(
    "/reservations/<reservation_id>",
    responses=NOT_FOUND,
)
def cancel_reservation(reservation_id: IdentifierPath) -> ReservationResponse:
    return present(service.cancel(reservation_id))


@app.post("/reservations/<reservation_id>/confirm", responses=TRANSITION)
def confirm_reservation(reservation_id: IdentifierPath) -> ReservationResponse:
    """Payment approved: the hold no longer expires."""
    return present(service.confirm(reservation_id))


@app.post("/reservations/<reservation_id>/extend", responses=TRANSITION)
def extend_reservation(
    reservation_id: IdentifierPath, request: ExtendReservationRequest
) -> ReservationResponse:
    """A new expiresAt, counted from now."""
    return present(service.extend(reservation_id, request.expiresInSeconds))


@app.post("/reservations/<reservation_id>/release", responses=TRANSITION)
def release_reservation(
    reservation_id: IdentifierPath, request: ReleaseReservationRequest
) -> ReservationResponse:
    """Give back part of a hold; a hold with nothing left held ends."""
    return present(service.release(reservation_id, line_quantities(request.items)))


@app.post("/reservations/<reservation_id>/fulfill", responses=TRANSITION)
def fulfill_reservation(
    reservation_id: IdentifierPath,
    request: Annotated[FulfillReservationRequest | None, Body()] = None,
) -> ReservationResponse:
    """The goods ship: the held quantity leaves onHand and reserved together."""
    items = request.items if request is not None else None
    return present(
        service.fulfill(reservation_id, None if items is None else line_quantities(items))
    )


@app.get("/inventory/<sku>/reservations", responses=ERRORS)
def list_holds_on_sku(sku: IdentifierPath) -> SkuHoldsResponse:
    """Live holds on a sku, from an index (never a scan)."""
    return presenters.holds_response(sku, service.holds_on_sku(sku))


@app.get("/inventory/<sku>", responses=NOT_FOUND)
def get_inventory(sku: IdentifierPath) -> InventoryResponse:
    return presenters.inventory_response(service.inventory(sku))


@app.put("/inventory/<sku>/locations/<location>", responses=ERRORS)
def set_on_hand(
    sku: IdentifierPath, location: IdentifierPath, request: SetOnHandRequest
) -> StockLevelResponse:
    return presenters.stock_level_response(service.set_on_hand(sku, location, request.onHand))


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=200, content_type="application/json", body=api_docs.openapi_json(app)
    )


@app.get("/swagger", include_in_schema=False)
def swagger_ui() -> Response[str]:
    return Response(status_code=200, content_type="text/html", body=api_docs.swagger_html(app))


# --- errors: every failure is a JSON body with a stable "error" code ----------------------


@app.exception_handler(RequestValidationError)
def on_validation_error(error: RequestValidationError) -> Response[Any]:
    return validation_error_response(error.errors())


@app.exception_handler(InsufficientStock)
def on_insufficient_stock(error: InsufficientStock) -> Response[Any]:
    metrics.add_metric(name="ReservationsRejected", unit=MetricUnit.Count, value=1)
    return error_response(
        409,
        error,
        items=[
            {
                "sku": i.sku,
                "location": i.location,
                "requested": i.requested,
                "available": i.available,
            }
            for i in error.items
        ],
    )


@app.exception_handler(IdempotencyConflict)
def on_idempotency_conflict(error: IdempotencyConflict) -> Response[Any]:
    return error_response(409, error)


@app.exception_handler(InvalidState)
def on_invalid_state(error: InvalidState) -> Response[Any]:
    return error_response(409, error, status=error.status)


@app.exception_handler(NotFound)
def on_not_found(error: NotFound) -> Response[Any]:
    return error_response(404, error)


@app.exception_handler(InvalidRequest)
def on_invalid_request(error: InvalidRequest) -> Response[Any]:
    return error_response(400, error, details=[{"field": error.field, "reason": error.reason}])


@app.exception_handler(Contention)
def on_contention(error: Contention) -> Response[Any]:
    logger.warning("gave up under contention", extra={"reason": str(error)})
    return error_response(503, error, headers={"Retry-After": "1"})


@app.exception_handler(DomainError)
def on_domain_error(error: DomainError) -> Response[Any]:
    return error_response(400, error)


@app.not_found
def on_unknown_route(_: Exception) -> Response[Any]:
    event = app.current_event
    return error_response(404, NotFound(f"no route {event.http_method} {event.path}"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Refused before Powertools parses anything: size, encoding, nesting, content type.
    refused = request_guard.refuse(event, settings.max_body_bytes)
    if refused is not None:
        return refused
    return app.resolve(event, context)
