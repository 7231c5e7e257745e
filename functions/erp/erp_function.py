"""SQS entry point: the ERP's messages (stock.set, stock.adjust, reservation.offset).

The queue is FIFO with the sku as message group, so one sku's messages arrive in order.
Each record is applied on its own (partial batch response): a poison record goes to the
dead-letter queue at once with its reason and counts as handled; a record that fails for
now (throttling, an outage) is reported back, and so are the later records of its sku, so
SQS redelivers them in order. Those reach the DLQ through the redrive policy if they
keep failing.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from reservations.bootstrap import build_erp_service, build_notices, sqs_client
from reservations.dead_letters import MAX_REASON_CHARS, DeadLetterQueue
from reservations.erp import Effect, Outcome
from reservations.erp_messages import PoisonMessage, parse_message
from reservations.store import MessageInProgress
from reservations.store.notices import DeadLetterNotice

logger = Logger()
metrics = Metrics()
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
erp = build_erp_service()
dead_letters = DeadLetterQueue(sqs_client(), os.environ.get("ERP_DEAD_LETTER_QUEUE_URL", ""))
notices = build_notices()
# The redrive policy's maxReceiveCount: a failure on that delivery sends the message to the DLQ.
LAST_DELIVERY = int(os.environ.get("ERP_MAX_RECEIVE_COUNT") or 0)


def tell(record: SQSRecord, reason: str, where: dict[str, Any]) -> None:
    """A notice in the table, which the events function turns into erp.message.deadLettered.
    Written after the DLQ has the message; if it fails, the record fails and comes again."""
    notices.record(
        DeadLetterNotice(
            message_id=record.message_id,
            group_id=record.attributes.message_group_id or "",
            reason=reason,
            at=int(time.time()),
            type=where.get("type"),
            sku=where.get("sku"),
            location=where.get("location"),
        )
    )


def apply(record: SQSRecord) -> None:
    where = {"messageId": record.message_id, "messageGroupId": record.attributes.message_group_id}
    try:
        message = parse_message(record.body)
        where |= {
            "type": message.type,
            "sku": getattr(message, "sku", None),  # a label.remove names only its label
            "location": getattr(message, "location", None),
        }
        outcome = erp.apply(message)
    except MessageInProgress:
        # Another delivery of this auto offset is at work: SQS brings this one back later.
        logger.info("ERP message in progress elsewhere; retried later", extra=where)
        last_delivery(record, "another delivery of this offset was still at work", where)
        raise
    except PoisonMessage as poison:
        # Sent before returning: if the send fails, the record fails and SQS keeps it.
        dead_letters.send(record.raw_event, poison.reason)
        metrics.add_metric(name="ErpMessagesDeadLettered", unit=MetricUnit.Count, value=1)
        logger.error("ERP message dead-lettered", extra={**where, "reason": poison.reason})
        tell(record, poison.reason, where)
        return
    except Exception as error:
        last_delivery(record, f"{type(error).__name__}: {error}", where)
        raise
    report(outcome, where)


def last_delivery(record: SQSRecord, why: str, where: dict[str, Any]) -> None:
    """On the delivery the redrive policy allows last, the failure sends the message to the
    DLQ: told now, since nothing of ours sees the move itself."""
    count = int(record.attributes.approximate_receive_count or 0)
    if LAST_DELIVERY and count >= LAST_DELIVERY:
        reason = f"failed on each of {count} deliveries; the last: {why}"
        tell(record, reason[:MAX_REASON_CHARS], where)


def report(outcome: Outcome, where: dict[str, Any]) -> None:
    fields = {**where, "effect": outcome.effect.value, "applied": outcome.applied}
    metrics.add_metric(
        name={
            Effect.APPLIED: "ErpMessagesApplied",
            Effect.DUPLICATE: "ErpMessagesDuplicate",
            Effect.STALE: "ErpStockSetsStale",
        }[outcome.effect],
        unit=MetricUnit.Count,
        value=1,
    )
    if outcome.excess:
        # The ERP offset more than is held here: logged and counted, never applied.
        metrics.add_metric(name="ErpOffsetExcess", unit=MetricUnit.Count, value=outcome.excess)
        logger.warning("offset exceeds what is held", extra={**fields, "excess": outcome.excess})
    if outcome.shortfall:
        metrics.add_metric(name="NegativeAvailable", unit=MetricUnit.Count, value=outcome.shortfall)
        logger.warning(
            "available is below zero after an ERP update",
            extra={**fields, "shortfall": outcome.shortfall},
        )
    logger.info("ERP message handled", extra={**fields, "detail": outcome.detail or None})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=apply, processor=processor, context=context
    )
