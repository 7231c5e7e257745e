"""Non-HTTP events exactly as AWS delivers them: an EventBridge schedule tick, DynamoDB
Streams records of TTL deletions and SQS records. Used by the local sweeper and queue
consumer, the samples and the tests."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

REGION = "us-east-1"
ACCOUNT = "000000000000"
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def scheduled_event(
    rule: str = "soft-reservations-SweeperEveryMinute",
    at: float | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """What an EventBridge schedule (``rate(1 minute)``) hands the function."""
    moment = time.gmtime(time.time() if at is None else at)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", moment),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def ttl_remove_record(
    keys: Mapping[str, Any],
    old_image: Mapping[str, Any],
    sequence_number: str,
    table: str = "reservations",
    at: float | None = None,
) -> dict[str, Any]:
    """One DynamoDB Streams record of a TTL deletion (a removal carries only its old image)."""
    return {
        "eventID": uuid.uuid5(uuid.NAMESPACE_OID, sequence_number).hex,
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time() if at is None else at),
            "Keys": dict(keys),
            "OldImage": dict(old_image),
            "SequenceNumber": sequence_number,
            "SizeBytes": 256,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "userIdentity": dict(TTL_IDENTITY),
        "eventSourceARN": (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000"
        ),
    }


def stream_event(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": [dict(record) for record in records]}


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """The record Lambda's SQS event source makes of one ``ReceiveMessage`` message
    (received with ``AttributeNames=["All"]`` and ``MessageAttributeNames=["All"]``)."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        binary = value.get("BinaryValue")
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": None if binary is None else base64.b64encode(binary).decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else REGION,
    }


def fifo_message(
    body: str,
    group_id: str,
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    sequence_number: str = "18849496460467696128",
    at: float | None = None,
) -> dict[str, Any]:
    """A message as ``ReceiveMessage`` returns it from a FIFO queue (for samples and tests)."""
    sent_ms = str(int((time.time() if at is None else at) * 1000))
    message_id = message_id or str(uuid.uuid4())
    return {
        "MessageId": message_id,
        "ReceiptHandle": base64.b64encode(f"{message_id}#{receive_count}".encode()).decode(),
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": sent_ms,
            "SenderId": "AROAERPINTEGRATION:erp",
            "ApproximateFirstReceiveTimestamp": sent_ms,
            "SequenceNumber": sequence_number,
            "MessageGroupId": group_id,
            "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest(),
        },
    }


def erp_queue_arn(name: str = "reservations-erp.fifo") -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


# Lambda hands SQS records over exactly as it hands stream records: {"Records": [...]}.
sqs_event = stream_event
