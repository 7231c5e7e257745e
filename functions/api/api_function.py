"""API Gateway (REST) entry point: translates HTTP to calls of the reservation service."""

from __future__ import annotations

import gc

# A cold start is mostly imports: tens of thousands of objects (modules, classes,
# functions) that live as long as the process, and almost no garbage. The collector
# would scan them some 170 times during init (50-75 ms), and again in every full
# collection afterwards. So it is paused here, and at the end of this module they are
# frozen (moved out of its reach) before it resumes. Merely pausing is not enough: the
# first collection after it would scan them all at once, in the first request.
gc.disable()

import warnings
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reservations import access, api_docs, presenters, request_guard
from reservations.api_docs import (
    BODY_ERRORS,
    ERRORS,
    NOT_FOUND,
    TRANSITION,
    documented,
    security,
)
from reservations.bootstrap import build_service
from reservations.config import Settings
from reservations.errors import (
    Contention,
    DomainError,
    Forbidden,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from reservations.http_errors import (
    error_response,
    gateway_error,
    short_stock_extra,
    validation_error_response,
)
from reservations.lifecycle import LineQuantity
from reservations.models import (
    IDENTIFIER_MAX,
    IDENTIFIER_PATTERN,
    CreateReservationRequest,
    ExtendReservationRequest,
    ForbiddenResponse,
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

ANONYMOUS = "-"
CALLER = "caller"  # the key of the verified caller in the resolver's per-request context
logger = Logger()
metrics = Metrics()
# Reads publish no metric; that is expected, not worth a warning on every request.
warnings.filterwarnings("ignore", message="No application metrics to publish")
app = APIGatewayRestResolver(enable_validation=True)
settings = Settings.from_env()
service = build_service(settings)

IdentifierPath = Annotated[str, Path(max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN)]


def present(reservation: Reservation) -> ReservationResponse:
    return presenters.reservation_response(reservation, service.status_of(reservation))


def line_quantities(items: list[LineQuantityRequest]) -> list[LineQuantity]:
    return [LineQuantity(item.sku, item.location, item.quantity) for item in items]


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Where API Gateway's Cognito authorizer puts the verified claims (REST API)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    return claims if isinstance(claims, Mapping) else None


def caller() -> access.Caller:
    """The verified caller of this request: lambda_handler read it from the claims, refused
    any request to a route without one, and handed it over in the resolver's context."""
    found: access.Caller = app.context[CALLER]
    return found


def owner() -> str | None:
    """Whose holds this request may see or change: the caller's channel, anyone's for admins."""
    return caller().owner_filter


@app.post(
    "/reservations",
    responses={
        201: documented("Created: every item is held", ReservationResponse),
        200: documented("Replay of an identical request: nothing more held", ReservationResponse),
        409: documented(
            "INSUFFICIENT_STOCK (every short item), OVERSELL_LIMIT (an allowOversell line past "
            "the oversell limit; every refused item) or IDEMPOTENCY_CONFLICT"
        ),
        **BODY_ERRORS,
        403: documented(
            "The token lacks reservations/write (API Gateway's body), or FORBIDDEN: a line "
            "asks allowOversell without reservations/oversell",
            ForbiddenResponse,
        ),
    },
    security=security("POST", "/reservations"),
)
def create_reservation(request: CreateReservationRequest) -> Response[ReservationResponse]:
    who = caller()
    # API Gateway checks scopes per route; this one depends on the body.
    refused = access.oversell_refused(who.scopes, [item.allowOversell for item in request.items])
    if refused:
        raise Forbidden(
            [f"body.items[{index}].allowOversell" for index in refused],
            f"allowOversell needs the {access.RESERVATIONS_OVERSELL} scope",
        )
    result = service.reserve(request, who.channel)
    if result.created:
        metrics.add_metric(name="ReservationsCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201 if result.created else 200,
        content_type="application/json",
        body=present(result.reservation),
    )


HOLD = "/reservations/{reservation_id}"


@app.get(
    "/reservations/<reservation_id>",
    responses={200: documented("The reservation", ReservationResponse), **NOT_FOUND},
    security=security("GET", HOLD),
)
def get_reservation(reservation_id: IdentifierPath) -> ReservationResponse:
    return present(service.get(reservation_id, owner()))


@app.delete(
    "/reservations/<reservation_id>",
    responses={200: documented("Cancelled (or already was)", ReservationResponse), **NOT_FOUND},
    security=security("DELETE", HOLD),
)
def cancel_reservation(reservation_id: IdentifierPath) -> ReservationResponse:
    return present(service.cancel(reservation_id, owner()))


@app.post(
    "/reservations/<reservation_id>/confirm",
    responses={
        200: documented("Confirmed: the reservation now", ReservationResponse),
        **TRANSITION,
    },
    security=security("POST", f"{HOLD}/confirm"),
)
def confirm_reservation(reservation_id: IdentifierPath) -> ReservationResponse:
    """Payment approved: the hold no longer expires."""
    return present(service.confirm(reservation_id, owner()))


@app.post(
    "/reservations/<reservation_id>/extend",
    responses={200: documented("Extended: the reservation now", ReservationResponse), **TRANSITION},
    security=security("POST", f"{HOLD}/extend"),
)
def extend_reservation(
    reservation_id: IdentifierPath, request: ExtendReservationRequest
) -> ReservationResponse:
    """A new expiresAt, counted from now."""
    return present(service.extend(reservation_id, request.expiresInSeconds, owner()))


@app.post(
    "/reservations/<reservation_id>/release",
    responses={200: documented("Released: the reservation now", ReservationResponse), **TRANSITION},
    security=security("POST", f"{HOLD}/release"),
)
def release_reservation(
    reservation_id: IdentifierPath, request: ReleaseReservationRequest
) -> ReservationResponse:
    """Give back part of a hold; a hold with nothing left held ends."""
    return present(service.release(reservation_id, line_quantities(request.items), owner()))


@app.post(
    "/reservations/<reservation_id>/fulfill",
    responses={
        200: documented("Fulfilled: the reservation now", ReservationResponse),
        **TRANSITION,
    },
    security=security("POST", f"{HOLD}/fulfill"),
)
def fulfill_reservation(
    reservation_id: IdentifierPath,
    request: Annotated[FulfillReservationRequest | None, Body()] = None,
) -> ReservationResponse:
    """The goods ship: the held quantity leaves onHand and reserved together."""
    items = request.items if request is not None else None
    return present(
        service.fulfill(reservation_id, None if items is None else line_quantities(items), owner())
    )


@app.get(
    "/inventory/<sku>/reservations",
    responses={200: documented("Live holds on the sku", SkuHoldsResponse), **ERRORS},
    security=security("GET", "/inventory/{sku}/reservations"),
)
def list_holds_on_sku(sku: IdentifierPath) -> SkuHoldsResponse:
    """Live holds on a sku, from an index (never a scan): the caller's own channel's only,
    every channel's for an admin."""
    return presenters.holds_response(sku, service.holds_on_sku(sku, owner()))


@app.get(
    "/inventory/<sku>",
    responses={200: documented("Stock of the sku", InventoryResponse), **NOT_FOUND},
    security=security("GET", "/inventory/{sku}"),
)
def get_inventory(sku: IdentifierPath) -> InventoryResponse:
    return presenters.inventory_response(service.inventory(sku))


@app.put(
    "/inventory/<sku>/locations/<location>",
    responses={200: documented("The stock level now", StockLevelResponse), **BODY_ERRORS},
    security=security("PUT", "/inventory/{sku}/locations/{location}"),
)
def set_on_hand(
    sku: IdentifierPath, location: IdentifierPath, request: SetOnHandRequest
) -> StockLevelResponse:
    return presenters.stock_level_response(service.set_on_hand(sku, location, request.onHand))


# The API documents need no token; they exist only where API_DOCS_ENABLED is true
# (template parameter EnableApiDocs: off in deployed stages unless turned on).


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    if not settings.api_docs_enabled:
        return unknown_route()
    return Response(
        status_code=200, content_type="application/json", body=api_docs.openapi_json(app)
    )


@app.get("/swagger", include_in_schema=False)
def swagger_ui() -> Response[Any]:
    if not settings.api_docs_enabled:
        return unknown_route()
    return Response(status_code=200, content_type="text/html", body=api_docs.swagger_html(app))


# --- errors: every failure is a JSON body with a stable "error" code ----------------------


@app.exception_handler(RequestValidationError)
def on_validation_error(error: RequestValidationError) -> Response[Any]:
    return validation_error_response(error.errors())


@app.exception_handler(InsufficientStock)
def on_insufficient_stock(error: InsufficientStock) -> Response[Any]:
    metrics.add_metric(name="ReservationsRejected", unit=MetricUnit.Count, value=1)
    return error_response(409, error, **short_stock_extra(error))


@app.exception_handler(Forbidden)
def on_forbidden(error: Forbidden) -> Response[Any]:
    return error_response(
        403, error, details=[{"field": field, "reason": error.reason} for field in error.fields]
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


def unknown_route() -> Response[Any]:
    event = app.current_event
    return error_response(404, NotFound(f"no route {event.http_method} {event.path}"))


@app.not_found
def on_unknown_route(_: Exception) -> Response[Any]:
    return unknown_route()


def authorize(event: Mapping[str, Any], found: access.Caller | None) -> dict[str, Any] | None:
    """API Gateway's answer when the verified caller is not admitted to this route, else None.

    Defence in depth behind API Gateway's Cognito authorizer, and it fails closed: a route
    must be listed (in ROUTE_SCOPES, or public), and the path the resolver will route must
    fill that very route, whatever claims the event carries; an event without claims
    (``make invoke`` with a bare event, a misconfigured method) is refused as API Gateway
    would refuse it.
    """
    method = str(event.get("httpMethod", ""))
    resource = str(event.get("resource", ""))
    # The scopes were checked for `resource`; the resolver runs what `path` says.
    if access.route_of_path(method, str(event.get("path", ""))) != resource:
        return gateway_error(403, access.FORBIDDEN)
    if access.is_public(method, resource):
        return None
    if found is None:
        return gateway_error(401, access.UNAUTHORIZED)
    if not access.admits(found.scopes, method, resource):
        return gateway_error(403, access.FORBIDDEN)
    return None


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Every line of this request carries its request id (correlation_id) and channel; never
    # the token, headers or body.
    found = access.caller_from_claims(claims_of(event))
    logger.append_keys(channel=found.channel if found else ANONYMOUS)
    # Refused before Powertools parses anything: no token, too few scopes, then size,
    # encoding, nesting, content type.
    response = authorize(event, found) or request_guard.refuse(event, settings.max_body_bytes)
    if response is None:
        app.context[CALLER] = found  # Powertools' append_context; resolve clears it
        response = app.resolve(event, context)
    logger.info(
        "request",
        extra={
            "method": event.get("httpMethod"),
            "resource": event.get("resource"),
            "status": response.get("statusCode"),
        },
    )
    return response


# See the top of this module: what init built is never collected, and is never scanned.
gc.freeze()
gc.enable()
