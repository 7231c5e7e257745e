"""GET /reservations: find holds by order, status or time, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from openapi_responses import ERRORS, documented
from reservations.errors import Forbidden, InvalidRequest
from reservations.http import presenters
from reservations.http.models import ForbiddenResponse, ReservationListResponse
from reservations.records import Status
from reservations.store.search import HeaderQuery
from reservations.values import IDENTIFIER_PATTERN
from route_dependencies import Caller, Service

router = Router()


MAX_PAGE = 200
StatusQuery = Annotated[Status | None, Query(description="As read now")]
Since = Annotated[datetime | None, Query(description="ISO 8601: holds created after this moment")]


@router.get(
    "/reservations",
    operation_id="listReservations",
    summary="Find holds by order, status or time",
    description=(
        "The caller's channel's holds, newest first, from an index (never a scan): by "
        "orderId, or by status and createdAfter. Admins may name another channel with "
        "channel=, and find an order in every channel. A page holds at most `limit`; "
        "pass `nextToken` back for the next one."
    ),
    tags=["Reservations"],
    responses={
        200: documented("One page of holds", ReservationListResponse),
        403: documented(
            "The token lacks the route's scopes, or FORBIDDEN: channel= names another "
            "channel without reservations/admin",
            ForbiddenResponse,
        ),
        **ERRORS,
    },
)
def list_reservations(
    service: Service,
    caller: Caller,
    orderId: Annotated[str | None, Query(max_length=64, pattern=IDENTIFIER_PATTERN)] = None,
    status: StatusQuery = None,
    createdAfter: Since = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    nextToken: Annotated[str | None, Query(max_length=4096)] = None,
) -> ReservationListResponse:
    if channel is not None and channel != caller.channel and not caller.is_admin:
        raise Forbidden(["query.channel"], "only an admin may list another channel's holds")
    scope = channel if channel is not None else (None if caller.is_admin else caller.channel)
    if scope is None and orderId is None:
        raise InvalidRequest("query.channel", "an admin names the channel, or an orderId")
    if createdAfter is not None and createdAfter.tzinfo is None:
        createdAfter = createdAfter.replace(tzinfo=UTC)  # as every time of this API: UTC
    after = None if createdAfter is None else int(createdAfter.timestamp())
    query = HeaderQuery(scope, orderId, status, after, limit)
    found = service.search.find(query, nextToken)
    return ReservationListResponse(
        reservations=[
            presenters.summary(reservation, lines, service.status_of(reservation))
            for reservation, lines in found.reservations
        ],
        nextToken=found.next_token,
    )
