"""Every failure is a JSON body with a stable ``error`` code (docs/architecture.md,
"HTTP contract"): domain errors and Powertools' own, mapped to their statuses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit

from reservations.errors import (
    Contention,
    DomainError,
    Forbidden,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    InvalidState,
    LabelNotHeld,
    LabelsRequired,
    LabelUnavailable,
    NotFound,
    PreconditionFailed,
    StockCounted,
    StockSerialized,
)
from reservations.http import presenters
from reservations.http.errors import (
    error_response,
    short_stock_extra,
    validation_error_response,
)

router = Router()
logger = Logger()
metrics = Metrics()


@router.exception_handler(RequestValidationError)
def on_validation_error(error: RequestValidationError) -> Response[Any]:
    return validation_error_response(error.errors())


@router.exception_handler(InsufficientStock)
def on_insufficient_stock(error: InsufficientStock) -> Response[Any]:
    metrics.add_metric(name="ReservationsRejected", unit=MetricUnit.Count, value=1)
    return error_response(409, error, **short_stock_extra(error))


@router.exception_handler(LabelUnavailable)
def on_label_unavailable(error: LabelUnavailable) -> Response[Any]:
    # LABEL_UNAVAILABLE and LABEL_RESERVED: each label named, with its status.
    return error_response(409, error, labels=presenters.label_states(error.labels))


@router.exception_handler(LabelNotHeld)
def on_label_not_held(error: LabelNotHeld) -> Response[Any]:
    return error_response(409, error, labels=presenters.label_states(error.labels))


@router.exception_handler([LabelsRequired, StockSerialized, StockCounted])
def on_stock_kind(error: DomainError) -> Response[Any]:
    # The request counts stock that is labelled there, or labels stock that is counted.
    return error_response(409, error)


@router.exception_handler(Forbidden)
def on_forbidden(error: Forbidden) -> Response[Any]:
    return error_response(
        403, error, details=[{"field": field, "reason": error.reason} for field in error.fields]
    )


@router.exception_handler(IdempotencyConflict)
def on_idempotency_conflict(error: IdempotencyConflict) -> Response[Any]:
    return error_response(409, error)


@router.exception_handler(InvalidState)
def on_invalid_state(error: InvalidState) -> Response[Any]:
    return error_response(409, error, status=error.status)


@router.exception_handler(NotFound)
def on_not_found(error: NotFound) -> Response[Any]:
    return error_response(404, error)


@router.exception_handler(InvalidRequest)
def on_invalid_request(error: InvalidRequest) -> Response[Any]:
    return error_response(400, error, details=[{"field": error.field, "reason": error.reason}])


@router.exception_handler(PreconditionFailed)
def on_precondition_failed(error: PreconditionFailed) -> Response[Any]:
    current = error.current
    shown = None if current is None else presenters.stock_level_response(current).model_dump()
    return error_response(412, error, current=shown)


@router.exception_handler(Contention)
def on_contention(error: Contention) -> Response[Any]:
    logger.warning("gave up under contention", extra={"reason": str(error)})
    return error_response(503, error, headers={"Retry-After": "1"})


@router.exception_handler(DomainError)
def on_domain_error(error: DomainError) -> Response[Any]:
    return error_response(400, error)


def unknown_route() -> Response[Any]:
    event = router.current_event
    return error_response(404, NotFound(f"no route {event.http_method} {event.path}"))


@router.exception_handler(NotFoundError)
def on_unknown_route(_: Exception) -> Response[Any]:
    return unknown_route()
