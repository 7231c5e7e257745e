"""Non-HTTP events exactly as AWS delivers them: an EventBridge schedule tick and DynamoDB
Streams records of TTL deletions. Used by the local sweeper, the samples and the tests."""

from __future__ import annotations

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
    """One DynamoDB Streams record of a TTL deletion, with the table's OLD_IMAGE view."""
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
            "StreamViewType": "OLD_IMAGE",
        },
        "userIdentity": dict(TTL_IDENTITY),
        "eventSourceARN": (
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000"
        ),
    }


def stream_event(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": [dict(record) for record in records]}
