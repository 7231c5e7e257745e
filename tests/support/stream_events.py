"""DynamoDB Streams records as Lambda receives them for a TTL deletion, and a stand-in for TTL.

DynamoDB Local never deletes expired items, so tests delete them with ``DeleteItem``
(``ReturnValues=ALL_OLD`` gives the item exactly as it was when it went) and build the
record the TTL service would have put on the stream: ``eventName`` ``REMOVE``, the TTL
service's ``userIdentity`` and the old image, all a removal carries in the table's view.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from reservations.store.keys import LINE_PREFIX, reservation_pk

AttributeMap = dict[str, Any]

REGION = "us-east-1"
ACCOUNT = "000000000000"
STREAM_LABEL = "2026-01-01T00:00:00.000"
# What the TTL service writes as the author of its deletions (the event source mapping's
# filter in template.yaml passes only these).
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


def _next_sequence_number() -> str:
    with _sequence_lock:
        return f"{next(_sequence):021d}"


def _size(value: Any) -> int:
    """Approximate item size the way DynamoDB counts it: names plus values."""
    if isinstance(value, Mapping):
        return sum(len(str(name)) + _size(inner) for name, inner in value.items())
    if isinstance(value, list | tuple):
        return sum(_size(inner) for inner in value)
    return len(str(value))


def stream_arn(table_name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}/stream/{STREAM_LABEL}"


def ttl_remove_record(
    table_name: str,
    keys: Mapping[str, Any],
    old_image: Mapping[str, Any],
    *,
    deleted_at: float | None = None,
    sequence_number: str | None = None,
) -> dict[str, Any]:
    """One record of a Lambda DynamoDB Streams event: TTL removed ``old_image``."""
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(
                deleted_at if deleted_at is not None else time.time()
            ),
            "Keys": dict(keys),
            "OldImage": dict(old_image),
            "SequenceNumber": sequence_number or _next_sequence_number(),
            "SizeBytes": _size(keys) + _size(old_image),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "userIdentity": dict(TTL_IDENTITY),
        "eventSourceARN": stream_arn(table_name),
    }


def stream_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The batch the event source mapping hands to one invocation."""
    return {"Records": [dict(record) for record in records]}


def ttl_delete(
    client: Any, table_name: str, key: Mapping[str, Any], *, deleted_at: float | None = None
) -> dict[str, Any] | None:
    """Delete one item as TTL would; the stream record of the deletion, or None if the
    item was already gone (then the stream carries nothing)."""
    response = client.delete_item(TableName=table_name, Key=dict(key), ReturnValues="ALL_OLD")
    old = response.get("Attributes")
    if not old:
        return None
    keys = {"PK": old["PK"], "SK": old["SK"]}
    return ttl_remove_record(table_name, keys, old, deleted_at=deleted_at)


def item_keys(client: Any, table_name: str, reservation_id: str) -> list[AttributeMap]:
    """Keys of every item in a reservation's partition (header, lines, purge markers)."""
    response = client.query(
        TableName=table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": reservation_pk(reservation_id)},
        ProjectionExpression="PK, SK",
        ConsistentRead=True,
    )
    return [{"PK": item["PK"], "SK": item["SK"]} for item in response.get("Items", [])]


def line_keys(client: Any, table_name: str, reservation_id: str) -> list[AttributeMap]:
    """Keys of a reservation's hold lines."""
    return [
        key
        for key in item_keys(client, table_name, reservation_id)
        if key["SK"]["S"].startswith(LINE_PREFIX)
    ]
