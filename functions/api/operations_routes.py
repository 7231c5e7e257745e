"""Operator routes (``reservations/admin``): the drift check and the ERP dead-letter queue.

What they need (SQS, a scan of the table) is built on first use, never at init: most
execution environments never serve an operator (docs/performance.md).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from idempotency_keys import IdempotencyKeys, answer
from openapi_responses import BODY_ERRORS, ERRORS, documented
from reservations.http.errors import error_body
from reservations.http.operations_models import (
    DeadLetterListResponse,
    DeadLetterResponse,
    DriftResponse,
    RedriveResponse,
)
from reservations.store import StoredResponse
from route_dependencies import Operations

router = Router()
TAGS = ["Operations"]
# Time the drift check leaves the invocation to answer in (the function has 10 s).
DRIFT_MARGIN_MS = 2500
MessageIdPath = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")]


def _iso(epoch: int) -> str | None:
    from reservations.clock import iso

    return iso(epoch) if epoch else None


@router.get(
    "/operations/drift",
    operation_id="runDriftCheck",
    summary="Run the drift check",
    description=(
        "Recomputes every stock record's reserved from the hold lines and lists each "
        "difference. It scans the whole table (strongly consistent: one read unit per 4 KB), "
        "so it is refused past DRIFT_MAX_ITEMS items or the invocation's time; run it "
        "offline then (python -m local.drift)."
    ),
    tags=TAGS,
    responses={
        200: documented("The check's result", DriftResponse),
        **ERRORS,
        503: documented("DRIFT_CHECK_TOO_LARGE: the table is too large for one call"),
    },
)
def run_drift_check(operations: Operations) -> Any:
    from reservations.operations import DriftCheckTooLarge

    context = router.lambda_context

    def out_of_time() -> bool:
        return bool(context.get_remaining_time_in_millis() < DRIFT_MARGIN_MS)

    try:
        result = operations.drift(out_of_time)
    except DriftCheckTooLarge as error:
        body = error_body("DRIFT_CHECK_TOO_LARGE", str(error))
        return Response(status_code=503, content_type="application/json", body=body)
    report = result.report
    return DriftResponse(
        ok=report.ok,
        checkedAt=_iso(int(time.time())) or "",
        items=result.items,
        stockRecords=len(report.levels),
        heldUnits=sum(report.held.values()),
        problems=report.problems,
    )


@router.get(
    "/operations/dead-letters",
    operation_id="listDeadLetters",
    summary="ERP messages in the dead-letter queue",
    description=(
        "Each with the reason it did not take effect. Reading makes them invisible for a "
        "moment and visible again at once; a FIFO queue shows at most ten per sku."
    ),
    tags=TAGS,
    responses={
        200: documented("The dead letters", DeadLetterListResponse),
        **ERRORS,
        404: documented("NOT_FOUND: this deployment has no ERP dead-letter queue"),
    },
)
def list_dead_letters(operations: Operations) -> DeadLetterListResponse:
    look = operations.dead_letters()
    return DeadLetterListResponse(
        messages=[
            DeadLetterResponse(
                messageId=m.message_id,
                messageGroupId=m.group_id,
                body=m.body,
                reason=m.reason,
                receiveCount=m.receive_count,
                sentAt=_iso(m.sent_at),
            )
            for m in look.messages
        ],
        approximateTotal=look.approximate_total,
    )


@router.post(
    "/operations/dead-letters/<message_id>/redrive",
    operation_id="redriveDeadLetter",
    summary="Send a dead letter back to the ERP queue",
    description=(
        "The message as the ERP sent it, to the ERP queue, then gone from the dead-letter "
        "queue: a repeat is a 404 while it is gone, and sends it again once the ERP has "
        "dead-lettered it again (SQS deduplicates only within five minutes). With an "
        "Idempotency-Key a repeat answers as the first time."
    ),
    tags=TAGS,
    # 409 and 422 (the key in use, or reused) are added to every mutation (http/docs.py).
    responses={200: documented("Redriven", RedriveResponse), **BODY_ERRORS},
)
def redrive_dead_letter(
    message_id: MessageIdPath, operations: Operations, keys: IdempotencyKeys
) -> Response[Any]:
    # The effect is in SQS, so no transaction can carry the key's answer: the idempotency
    # middleware remembers it once this answers (idempotency_keys.finish).
    def render(sent: str) -> StoredResponse:
        return answer(200, RedriveResponse(messageId=message_id, redrivenAs=sent))

    return keys.respond(operations.redrive(message_id), render)
