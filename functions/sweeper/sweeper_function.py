"""EventBridge schedule entry point: release every ACTIVE hold that is due."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reservations.bootstrap import build_service

logger = Logger()
metrics = Metrics()
service = build_service()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = service.sweep()
    metrics.add_metric(name="HoldsExpired", unit=MetricUnit.Count, value=len(report.expired))
    # Quiet when there was nothing to do: this runs every minute.
    log = logger.info if report.due else logger.debug
    log(
        "sweep done",
        extra={
            "due": report.due,
            "expired": len(report.expired),
            "skipped": report.skipped,
            "scheduledAt": event.get("time"),
        },
    )
    return {"due": report.due, "expired": len(report.expired), "skipped": report.skipped}
