"""Routes of serialized labels: write one, read one, list a sku's, and let one go from the
hold that reserved it (docs/architecture.md, "Serialized labels")."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from idempotency_keys import IdempotencyKeys, answer
from openapi_responses import BODY_ERRORS, ERRORS, IdentifierPath, documented
from reservation_routes import present
from reservations.http import presenters
from reservations.http.label_models import LabelListResponse, LabelRequest, LabelResponse
from reservations.http.models import ReservationResponse
from reservations.labelling import LabelWrite
from reservations.records import Label, LabelStatus, Reservation
from reservations.store import StoredResponse
from reservations.values import IDENTIFIER_PATTERN
from route_dependencies import Caller, Service

router = Router()
TAGS = ["Labels"]
ONE = "/labels/<label>"
MAX_PAGE = 200


@router.put(
    ONE,
    operation_id="putLabel",
    summary="Create or change a label",
    description=(
        "A serial number, lot or pallet label: stock of its sku at its location, moving the "
        "stock record's onHand by what it carries. A location's stock of a sku is counted "
        "or labelled, not both: the first label makes it labelled. A RESERVED label keeps "
        "its sku, location and quantity (its bin may change)."
    ),
    tags=TAGS,
    responses={
        201: documented("Created", LabelResponse),
        200: documented("Changed, or already so", LabelResponse),
        409: documented(
            "LABEL_RESERVED (a reserved label would move or change quantity) or "
            "STOCK_COUNTED (the location holds counted stock of this sku)"
        ),
        **BODY_ERRORS,
    },
)
def put_label(
    label: IdentifierPath,
    request: LabelRequest,
    service: Service,
    keys: IdempotencyKeys,
    caller: Caller,
) -> Response[Any]:
    def render(result: tuple[Label, bool]) -> StoredResponse:
        found, created = result
        return answer(201 if created else 200, presenters.label_response(found, False))

    wanted = LabelWrite(
        label,
        request.sku,
        request.location,
        request.quantity,
        request.bin,
        source=caller.channel,
    )
    result = service.labels.put(wanted, keys.remember(render))
    return keys.respond(result, render)


@router.get(
    ONE,
    operation_id="getLabel",
    summary="Read a label",
    description=(
        "The label; while RESERVED, the hold and order holding it are shown to that "
        "hold's channel and to admins."
    ),
    tags=TAGS,
    responses={200: documented("The label", LabelResponse), **ERRORS},
)
def get_label(label: IdentifierPath, service: Service, caller: Caller) -> LabelResponse:
    found = service.labels.get(label)
    shown = caller.is_admin or (found.channel is not None and found.channel == caller.channel)
    return presenters.label_response(found, holder_shown=shown)


@router.get(
    "/skus/<sku>/labels",
    operation_id="listSkuLabels",
    summary="A sku's labels",
    description=(
        "By location, then label, one index Query per page (eventually consistent: a label "
        "written a moment ago may be missing). A page holds at most `limit`, fewer with a "
        "status filter; pass `nextToken` back for the next one."
    ),
    tags=TAGS,
    responses={200: documented("One page of labels", LabelListResponse), **ERRORS},
)
def list_sku_labels(
    sku: IdentifierPath,
    service: Service,
    location: Annotated[str | None, Query(max_length=64, pattern=IDENTIFIER_PATTERN)] = None,
    status: Annotated[LabelStatus | None, Query(description="Only labels in it")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    nextToken: Annotated[str | None, Query(max_length=4096)] = None,
) -> LabelListResponse:
    page = service.labels.page(sku, location, status, limit, nextToken)
    return presenters.label_list_response(page.labels, page.next_token)


@router.post(
    "/reservations/<reservation_id>/labels/<label>/release",
    operation_id="releaseReservationLabel",
    summary="Give back one label of a reservation",
    description=(
        "The label is ACTIVE again and its quantity available; the hold keeps the rest. A "
        "hold with nothing left held ends."
    ),
    tags=["Reservations"],
    responses={
        200: documented("Released: the reservation now", ReservationResponse),
        409: documented(
            "INVALID_STATE (the hold is not live) or LABEL_NOT_HELD (the hold does not hold "
            "this label; its status)"
        ),
        **BODY_ERRORS,
    },
)
def release_reservation_label(
    reservation_id: IdentifierPath,
    label: IdentifierPath,
    service: Service,
    caller: Caller,
    keys: IdempotencyKeys,
) -> Response[Any]:
    def render(reservation: Reservation) -> StoredResponse:
        return answer(200, present(service, reservation))

    released = service.labels.release(
        reservation_id, label, caller.owner_filter, keys.remember(render)
    )
    return keys.respond(released, render)
