"""Sends a poison ERP message to the dead-letter queue at once, with the reason.

A message that can never take effect (malformed, unknown type, schema error, unknown
reservation) gains nothing from the queue's redrive: it would block its sku's message
group for ``maxReceiveCount`` visibility timeouts and reach the DLQ without saying why.
Sent here, it carries ``failureReason`` as a message attribute, its sku's later messages
go on, and the redrive policy stays the net for failures that persist (an outage).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

# SQS message attributes hold at most 256 KiB in all; a reason is a line, not a report.
MAX_REASON_CHARS = 1024


class DeadLetterQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.url = queue_url

    def send(self, record: Mapping[str, Any], reason: str) -> None:
        """Dead-letter one SQS record (Lambda's event shape) as it arrived, with its reason.

        The record's ``messageId`` is the deduplication id: if this function dies after
        sending and SQS delivers the record again, the FIFO DLQ keeps a single copy.
        """
        attributes = record.get("attributes") or {}
        message_attributes: dict[str, Any] = {
            name: _attribute(value)
            for name, value in (record.get("messageAttributes") or {}).items()
        }
        message_attributes["failureReason"] = {
            "DataType": "String",
            "StringValue": reason[:MAX_REASON_CHARS] or "unknown",
        }
        message_attributes["sourceMessageId"] = {
            "DataType": "String",
            "StringValue": record["messageId"],
        }
        request: dict[str, Any] = {
            "QueueUrl": self.url,
            "MessageBody": record.get("body") or "(empty body)",
            "MessageAttributes": message_attributes,
        }
        if self.url.endswith(".fifo"):
            request["MessageGroupId"] = attributes.get("MessageGroupId") or "unknown"
            request["MessageDeduplicationId"] = record["messageId"][:128]
        self._client.send_message(**request)


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A record's message attribute (Lambda's shape: binary as base64) as SendMessage takes it."""
    if value.get("stringValue") is not None:
        return {"DataType": value.get("dataType", "String"), "StringValue": value["stringValue"]}
    binary = base64.b64decode(value.get("binaryValue") or "")
    return {"DataType": value.get("dataType", "Binary"), "BinaryValue": binary}
