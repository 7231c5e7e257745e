"""DynamoDB Streams entry point: the table's changes, told on the EventBridge bus.

The event source mapping passes the records of reservation headers, stock records and
dead-letter notices (new and old images); ``reservations.events`` derives each record's
events and publishes them. A batch whose events did not all get out answers with the
first such record (partial batch response): Lambda delivers again from there, and the
events published twice carry the same ``detail.eventId``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reservations.bootstrap import build_event_relay

logger = Logger()
metrics = Metrics()
relay = build_event_relay()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    report = relay.relay(records)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(report.published))
    for published in report.published:
        logger.debug("event published", extra={"detailType": published.detail_type})
    if report.retry_from is None:
        return {"batchItemFailures": []}
    metrics.add_metric(name="EventBatchesRetried", unit=MetricUnit.Count, value=1)
    logger.warning(
        "events not all published; the batch comes again from a record",
        extra={"retryFrom": report.retry_from, "error": report.error, "records": len(records)},
    )
    return {"batchItemFailures": [{"itemIdentifier": report.retry_from}]}
