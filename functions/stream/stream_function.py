"""DynamoDB Streams entry point: the backstop for holds TTL deleted while holding stock.

The event source mapping only passes REMOVE records made by the TTL service
(``userIdentity.principalId = dynamodb.amazonaws.com``); each record is settled on its own,
and a failing one is reported back (partial batch response) instead of failing the batch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from reservations.bootstrap import build_service
from reservations.records import Status
from reservations.store import SettlementRefused
from reservations.store.items import line_from_item
from reservations.store.keys import Entity, entity_of

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
service = build_service()

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def settle(record: DynamoDBRecord) -> None:
    raw = record.raw_event
    identity = raw.get("userIdentity") or {}
    if raw.get("eventName") != "REMOVE" or identity.get("principalId") != TTL_PRINCIPAL:
        return  # the filter should have kept it out; a user's delete is not ours to settle
    old = raw.get("dynamodb", {}).get("OldImage") or {}
    if entity_of(old) is not Entity.HOLD_LINE:
        return  # headers and markers carry no stock
    line = line_from_item(old)
    reservation_id = old["reservationId"]["S"]
    status = Status(old["status"]["S"])
    created_at = int(old.get("createdAt", {}).get("N", "0"))
    try:
        settled = service.settle_purged_line(reservation_id, line, status, created_at)
    except SettlementRefused as refused:
        # Not a TTL deletion the table can account for (a forged or mistaken event): it
        # changes nothing, and retrying it would not either.
        metrics.add_metric(name="SettlementsRefused", unit=MetricUnit.Count, value=1)
        logger.error(
            "refused a settlement the stock record cannot account for",
            extra={"reason": refused.reason, "keys": raw.get("dynamodb", {}).get("Keys")},
        )
        return
    if settled:
        metrics.add_metric(name="PurgedHoldsSettled", unit=MetricUnit.Count, value=1)
        logger.warning(
            "TTL deleted a hold line that still held stock; released it",
            extra={
                "reservationId": reservation_id,
                "sku": line.sku,
                "location": line.location,
                "held": line.held,
            },
        )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=settle, processor=processor, context=context
    )
