"""Creates the ERP queue and its dead-letter queue from ``template.yaml``, on any endpoint.

The template's attributes are applied as they are, but the visibility timeout: locally a
failed message should come back in seconds, not in the three minutes AWS needs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .template import template

QUEUE_RESOURCE = "ErpQueue"
DEAD_LETTER_RESOURCE = "ErpDeadLetterQueue"
# The attributes SQS engines (moto included) accept at creation and that change behaviour.
CREATE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
)
DEFAULT_LOCAL_VISIBILITY_TIMEOUT = 5


@dataclass(frozen=True, slots=True)
class ErpQueues:
    url: str
    arn: str
    dead_letter_url: str
    visibility_timeout: int  # the queue's own, whoever created it
    max_receive_count: int


def _attributes(resource: str) -> dict[str, str]:
    properties: dict[str, Any] = template()["Resources"][resource]["Properties"]
    return {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in properties.items()
        if name in CREATE_ATTRIBUTES
    }


def max_receive_count() -> int:
    """The redrive policy's count, resolved from its template parameter's default."""
    value = template()["Resources"][QUEUE_RESOURCE]["Properties"]["RedrivePolicy"][
        "maxReceiveCount"
    ]
    parameter = template()["Parameters"].get(str(value))
    return int(parameter["Default"] if parameter else value)


def _ensure(client: Any, name: str, attributes: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The queue's URL and its attributes as they are (a queue found is not changed)."""
    try:
        url: str = client.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if "NonExistentQueue" not in str(error.response.get("Error", {}).get("Code")):
            raise
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    found: dict[str, str] = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn", "VisibilityTimeout", "RedrivePolicy"]
    )["Attributes"]
    return url, found


def ensure_queues(
    client: Any,
    prefix: str = "reservations",
    visibility_timeout: int | None = None,
    max_receive: int | None = None,
) -> ErpQueues:
    """Create the queues if missing (a queue you brought is used as it is)."""
    if visibility_timeout is None:
        visibility_timeout = int(
            os.environ.get("ERP_VISIBILITY_TIMEOUT_SECONDS", DEFAULT_LOCAL_VISIBILITY_TIMEOUT)
        )
    max_receive = max_receive or max_receive_count()
    dead_letter_url, dead_letter = _ensure(
        client, f"{prefix}-erp-dlq.fifo", _attributes(DEAD_LETTER_RESOURCE)
    )
    attributes = _attributes(QUEUE_RESOURCE)
    attributes["VisibilityTimeout"] = str(visibility_timeout)
    attributes["RedrivePolicy"] = json.dumps(
        {"deadLetterTargetArn": dead_letter["QueueArn"], "maxReceiveCount": max_receive}
    )
    url, queue = _ensure(client, f"{prefix}-erp.fifo", attributes)
    redrive = json.loads(queue.get("RedrivePolicy") or "{}")
    return ErpQueues(
        url,
        queue["QueueArn"],
        dead_letter_url,
        int(queue["VisibilityTimeout"]),
        int(redrive.get("maxReceiveCount", 0)),
    )
