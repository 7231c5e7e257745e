"""EventBridge schedule entry point: release every ACTIVE hold that is due.

The schedule fires every minute, the shortest rate EventBridge offers. To have stock back
well within a minute of ``expiresAt``, one invocation keeps sweeping every
``SWEEP_POLL_SECONDS`` until it nears its timeout; the next scheduled run takes over.
With ``SWEEP_POLL_SECONDS=0`` (the local stack, which ticks every few seconds) it sweeps once.
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from reservations.bootstrap import build_service

logger = Logger()
metrics = Metrics()
service = build_service()
# Stop taking new batches with this much time left, so an invocation never times out mid-way.
SAFETY_MS = 15_000
POLL_SECONDS = float(os.environ.get("SWEEP_POLL_SECONDS", "0"))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def out_of_time(margin_ms: float = 0) -> bool:
        return context.get_remaining_time_in_millis() < SAFETY_MS + margin_ms

    due = expired = skipped = sweeps = 0
    while True:
        report = service.sweep(out_of_time=out_of_time)
        sweeps += 1
        due, expired, skipped = (
            due + report.due,
            expired + len(report.expired),
            skipped + report.skipped,
        )
        if POLL_SECONDS <= 0 or out_of_time(POLL_SECONDS * 1000):
            break
        time.sleep(POLL_SECONDS)
    metrics.add_metric(name="HoldsExpired", unit=MetricUnit.Count, value=expired)
    # Quiet when there was nothing to do: this runs all the time.
    log = logger.info if due else logger.debug
    log(
        "sweep done",
        extra={
            "due": due,
            "expired": expired,
            "skipped": skipped,
            "sweeps": sweeps,
            "scheduledAt": event.get("time"),
        },
    )
    return {"due": due, "expired": expired, "skipped": skipped}
