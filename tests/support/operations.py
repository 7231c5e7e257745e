"""The operator routes wired to a test's table and to ERP queues on moto server, with a way
to put a message into the dead-letter queue as the ERP function does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import api_function
import route_dependencies
from local.aws_events import erp_queue_arn, fifo_message, sqs_record
from local.queues import ErpQueues, ensure_queues
from reservations.dead_letters import DeadLetterQueue
from reservations.operations import Operations
from reservations.store import Store


@dataclass
class WiredOperations:
    operations: Operations
    queues: ErpQueues
    sqs: Any

    def dead_letter(self, body: dict[str, Any] | str, reason: str, group: str = "SKU-A") -> str:
        """A message in the DLQ as the ERP function puts one there; its id in the DLQ."""
        text = body if isinstance(body, str) else json.dumps(body)
        record = sqs_record(fifo_message(text, group), erp_queue_arn())
        DeadLetterQueue(self.sqs, self.queues.dead_letter_url).send(record, reason)
        found = self.sqs.receive_message(
            QueueUrl=self.queues.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )["Messages"]
        ids: list[str] = [m["MessageId"] for m in found]
        return ids[-1]


def wire_operations(client: Any, table: str, sqs: Any) -> Iterator[WiredOperations]:
    queues = ensure_queues(sqs, prefix=f"t{uuid.uuid4().hex[:10]}")
    operations = Operations(Store(client, table), sqs, queues.url, queues.dead_letter_url)
    overrides = api_function.app.dependency_overrides
    overrides[route_dependencies.get_operations] = lambda: operations
    try:
        yield WiredOperations(operations, queues, sqs)
    finally:
        overrides.pop(route_dependencies.get_operations, None)
