"""Dead-letter notices: one item per ERP message the ERP function sent to its DLQ, so the
table's stream tells it as ``erp.message.deadLettered`` (docs/architecture.md,
"Lifecycle events"). The DLQ itself stays the place to read and redrive the message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .keys import ENTITY, PK, TTL_ATTRIBUTE, AttributeMap, Entity, dead_letter_key, n, s
from .transact import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True, slots=True)
class DeadLetterNotice:
    message_id: str
    group_id: str
    reason: str
    at: int
    type: str | None = None
    sku: str | None = None
    location: str | None = None


_OPTIONAL = {"type": "messageType", "sku": "sku", "location": "location"}


def notice_item(notice: DeadLetterNotice, purge_at: int) -> AttributeMap:
    item: AttributeMap = {
        **dead_letter_key(notice.message_id),
        ENTITY: s(Entity.DEAD_LETTER),
        "messageId": s(notice.message_id),
        "messageGroupId": s(notice.group_id),
        "reason": s(notice.reason),
        "deadLetteredAt": n(notice.at),
        TTL_ATTRIBUTE: n(purge_at),
    }
    for field, name in _OPTIONAL.items():
        value = getattr(notice, field)
        if value is not None:
            item[name] = s(value)
    return item


def notice_from_item(item: Mapping[str, Any]) -> DeadLetterNotice:
    optional = {field: item[name]["S"] for field, name in _OPTIONAL.items() if name in item}
    return DeadLetterNotice(
        message_id=item["messageId"]["S"],
        group_id=item["messageGroupId"]["S"],
        reason=item["reason"]["S"],
        at=int(item["deadLetteredAt"]["N"]),
        **optional,
    )


class DeadLetterNotices:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_seconds: int) -> None:
        self._client = client
        self._name = table_name
        self._retention = retention_seconds

    def record(self, notice: DeadLetterNotice) -> bool:
        """Write the notice once: a redelivered message dead-lettered again (the DLQ keeps
        one copy) finds it and writes nothing, so the stream tells it once. False then."""
        try:
            self._client.put_item(
                TableName=self._name,
                Item=notice_item(notice, notice.at + self._retention),
                ConditionExpression=f"attribute_not_exists({PK})",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True
