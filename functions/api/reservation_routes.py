"""Routes of reservations: place a hold, read it, and move it through its life
(docs/architecture.md, "The life of a hold").

A mutation answers with the bytes its idempotency key remembers (``keys.respond``): the
body is rendered from the response models once, so Powertools does not validate it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseHeader
from aws_lambda_powertools.metrics import MetricUnit

from idempotency_keys import IdempotencyKeys, answer
from openapi_responses import BODY_ERRORS, ERRORS, TRANSITION, IdentifierPath, documented
from reservations import access
from reservations.errors import Forbidden
from reservations.http import presenters
from reservations.http.models import (
    ChangeItemsRequest,
    CreateReservationRequest,
    ExtendReservationRequest,
    ForbiddenResponse,
    FulfillReservationRequest,
    LineQuantityRequest,
    ReleaseReservationRequest,
    ReservationResponse,
)
from reservations.lifecycle import LineQuantity
from reservations.records import Reservation
from reservations.service import ReservationService, ReserveResult
from reservations.store import StoredResponse
from route_dependencies import Caller, Service

router = Router()
LOCATION_HEADER: OpenAPIResponseHeader = {
    "description": "The new reservation's URL",
    "schema": {"type": "string"},
}
metrics = Metrics()  # Powertools' metrics are one set per process, flushed by the handler
TAGS = ["Reservations"]


def present(service: ReservationService, reservation: Reservation) -> ReservationResponse:
    return presenters.reservation_response(reservation, service.status_of(reservation))


def rendered(service: ReservationService) -> Callable[[Reservation], StoredResponse]:
    """How a transition answers: 200 and the reservation as it is after it."""
    return lambda reservation: answer(200, present(service, reservation))


def line_quantities(items: list[LineQuantityRequest]) -> list[LineQuantity]:
    return [
        LineQuantity(
            item.sku,
            item.location,
            item.quantity,
            None if item.labels is None else tuple(item.labels),
        )
        for item in items
    ]


@router.post(
    "/reservations",
    operation_id="createReservation",
    summary="Hold every item, or nothing",
    description=(
        "Places a soft hold on every line in one transaction. A line without "
        "allowOversell is granted only while stock is available; `id` makes the "
        "request safe to repeat."
    ),
    tags=TAGS,
    responses={
        201: {
            **documented("Created: every item is held", ReservationResponse),
            "headers": {"Location": LOCATION_HEADER},
        },
        200: documented("Replay of an identical request: nothing more held", ReservationResponse),
        409: documented(
            "INSUFFICIENT_STOCK (every short item), OVERSELL_LIMIT (an allowOversell line past "
            "the oversell limit; every refused item), IDEMPOTENCY_CONFLICT, LABEL_UNAVAILABLE "
            "(every named label not ACTIVE at its line's sku and location, with its status) "
            "or LABELS_REQUIRED (a line without labels where stock is serialized)"
        ),
        **BODY_ERRORS,
        403: documented(
            "The token lacks reservations/write (API Gateway's body), or FORBIDDEN: a line "
            "asks allowOversell without reservations/oversell",
            ForbiddenResponse,
        ),
    },
)
def create_reservation(
    request: CreateReservationRequest, service: Service, caller: Caller, keys: IdempotencyKeys
) -> Response[Any]:
    def render(result: ReserveResult) -> StoredResponse:
        status = 201 if result.created else 200
        body = present(service, result.reservation)
        return answer(status, body, ("Location", location_of(result.reservation.id)))

    refuse_oversell_without_scope(caller, [item.allowOversell for item in request.items])
    result = service.reserve(request.to_command(), caller.channel, keys.remember(render))
    if result.created:
        metrics.add_metric(name="ReservationsCreated", unit=MetricUnit.Count, value=1)
    return keys.respond(result, render)


def refuse_oversell_without_scope(caller: access.Caller, allow_oversell: list[bool]) -> None:
    """API Gateway checks scopes per route; this one depends on the body."""
    refused = access.oversell_refused(caller.scopes, allow_oversell)
    if refused:
        raise Forbidden(
            [f"body.items[{index}].allowOversell" for index in refused],
            f"allowOversell needs the {access.RESERVATIONS_OVERSELL} scope",
        )


def location_of(reservation_id: str) -> str:
    """The new hold's URL path as the client called us: behind the stage (``/prod``) or a
    custom domain's base path, which API Gateway keeps in the request context's path."""
    event = router.current_event
    context = event.get("requestContext") or {}
    called = str(context.get("path") or event.path)
    base = called[: -len(event.path)] if called.endswith(event.path) else ""
    return f"{base}/reservations/{reservation_id}"


HOLD = "/reservations/<reservation_id>"


@router.get(
    HOLD,
    operation_id="getReservation",
    summary="Read a reservation",
    description="Each line with what it still holds, released, consumed and offset.",
    tags=TAGS,
    responses={200: documented("The reservation", ReservationResponse), **ERRORS},
)
def get_reservation(
    reservation_id: IdentifierPath, service: Service, caller: Caller
) -> ReservationResponse:  # a read: no idempotency key
    return present(service, service.get(reservation_id, caller.owner_filter))


@router.delete(
    HOLD,
    operation_id="cancelReservation",
    summary="Cancel a reservation",
    description=(
        "Releases everything still held; repeating it changes nothing. A hold that shipped "
        "part of its goods ends FULFILLED."
    ),
    tags=TAGS,
    responses={
        200: documented("Cancelled (or already was)", ReservationResponse),
        409: documented("INVALID_STATE: the hold already ended otherwise (FULFILLED, EXPIRED)"),
        **ERRORS,
    },
)
def cancel_reservation(
    reservation_id: IdentifierPath, service: Service, caller: Caller, keys: IdempotencyKeys
) -> Response[Any]:
    render = rendered(service)
    cancelled = service.cancel(reservation_id, caller.owner_filter, keys.remember(render))
    return keys.respond(cancelled, render)


@router.post(
    f"{HOLD}/confirm",
    operation_id="confirmReservation",
    summary="Confirm a reservation",
    description="Payment approved: the hold no longer expires.",
    tags=TAGS,
    responses={
        200: documented("Confirmed: the reservation now", ReservationResponse),
        **TRANSITION,
    },
)
def confirm_reservation(
    reservation_id: IdentifierPath, service: Service, caller: Caller, keys: IdempotencyKeys
) -> Response[Any]:
    render = rendered(service)
    confirmed = service.confirm(reservation_id, caller.owner_filter, keys.remember(render))
    return keys.respond(confirmed, render)


@router.post(
    f"{HOLD}/extend",
    operation_id="extendReservation",
    summary="Extend a reservation",
    description="A new expiresAt, counted from now; only while ACTIVE.",
    tags=TAGS,
    responses={
        200: documented("Extended: the reservation now", ReservationResponse),
        **TRANSITION,
    },
)
def extend_reservation(
    reservation_id: IdentifierPath,
    request: ExtendReservationRequest,
    service: Service,
    caller: Caller,
    keys: IdempotencyKeys,
) -> Response[Any]:
    render = rendered(service)
    extended = service.extend(
        reservation_id, request.expiresInSeconds, caller.owner_filter, keys.remember(render)
    )
    return keys.respond(extended, render)


@router.post(
    f"{HOLD}/release",
    operation_id="releaseReservation",
    summary="Give back part of a reservation",
    description="A hold with nothing left held ends.",
    tags=TAGS,
    responses={
        200: documented("Released: the reservation now", ReservationResponse),
        **TRANSITION,
    },
)
def release_reservation(
    reservation_id: IdentifierPath,
    request: ReleaseReservationRequest,
    service: Service,
    caller: Caller,
    keys: IdempotencyKeys,
) -> Response[Any]:
    render = rendered(service)
    items = line_quantities(request.items)
    released = service.release(reservation_id, items, caller.owner_filter, keys.remember(render))
    return keys.respond(released, render)


@router.post(
    f"{HOLD}/fulfill",
    operation_id="fulfillReservation",
    summary="Ship what a reservation holds",
    description=(
        "The held quantity leaves onHand and reserved together; without items, "
        "everything still held ships. A line of labels ships from its labels (the ones "
        "named, or in the order placed) and gives back what is left on them."
    ),
    tags=TAGS,
    responses={
        200: documented("Fulfilled: the reservation now", ReservationResponse),
        **TRANSITION,
        409: documented(
            "INVALID_STATE (not live), LABEL_RESERVED (a named label is another hold's) or "
            "LABEL_NOT_HELD (a named label is not this line's; each with its status)"
        ),
    },
)
def fulfill_reservation(
    reservation_id: IdentifierPath,
    service: Service,
    caller: Caller,
    keys: IdempotencyKeys,
    request: Annotated[FulfillReservationRequest | None, Body()] = None,
) -> Response[Any]:
    render = rendered(service)
    items = None if request is None or request.items is None else line_quantities(request.items)
    shipped = service.fulfill(reservation_id, items, caller.owner_filter, keys.remember(render))
    return keys.respond(shipped, render)


@router.put(
    f"{HOLD}/items",
    operation_id="changeReservationItems",
    summary="Make a live hold follow the cart",
    description=(
        "The whole cart, applied in one transaction: lines that grow take more stock under "
        "the same guard as a reserve, lines that shrink or leave the cart give stock back, "
        "new lines are added. All or nothing: a short line leaves the hold as it was."
    ),
    tags=TAGS,
    responses={
        200: documented("The reservation now", ReservationResponse),
        403: documented(
            "The token lacks the route's scopes, or FORBIDDEN: a line asks allowOversell "
            "without reservations/oversell",
            ForbiddenResponse,
        ),
        409: documented(
            "INSUFFICIENT_STOCK (every line that could not grow, with how much more it "
            "needed), OVERSELL_LIMIT, INVALID_STATE (the hold is no longer live) or "
            "LABELS_REQUIRED (a line on serialized stock)"
        ),
        **BODY_ERRORS,
    },
)
def change_reservation_items(
    reservation_id: IdentifierPath,
    request: ChangeItemsRequest,
    service: Service,
    caller: Caller,
    keys: IdempotencyKeys,
) -> Response[Any]:
    refuse_oversell_without_scope(caller, [item.allowOversell for item in request.items])
    render = rendered(service)
    changed = service.change_items(
        reservation_id, request.to_command(), caller.owner_filter, keys.remember(render)
    )
    return keys.respond(changed, render)
