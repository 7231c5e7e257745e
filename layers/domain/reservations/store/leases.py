"""A claim with a lease: one worker at a time on something done in several steps (an ERP
auto offset, a request with an idempotency key). A claim whose lease ran out (its worker
died) is taken over."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .keys import PK, AttributeMap, n, s
from .transact import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CLAIMED = "claimed"  # an item's state while its claim is held


def claim_fields(owner: str, lease_until: int) -> AttributeMap:
    return {"state": s(CLAIMED), "owner": s(owner), "leaseUntil": n(lease_until)}


def is_claim(item: Mapping[str, Any]) -> bool:
    return bool(item.get("state", {}).get("S") == CLAIMED)


def put_claim(
    client: DynamoDBClient, table_name: str, item: AttributeMap, now: int
) -> Mapping[str, Any] | None:
    """Put ``item`` (with :func:`claim_fields`) where nothing is, or where a claim's lease
    ran out. None when it is ours now; else what is there (``{}`` from an engine that
    leaves the old item out of its refusal, or when a transaction has the item in flight:
    its holder is completing it)."""
    try:
        client.put_item(
            TableName=table_name,
            Item=item,
            ConditionExpression=(
                f"attribute_not_exists({PK}) OR (#state = :claimed AND leaseUntil < :now)"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":claimed": s(CLAIMED), ":now": n(now)},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) == "TransactionConflictException":
            # The item is in a transaction in flight: the claim's holder completing it.
            return {}
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        found: Mapping[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
        return found
    return None
