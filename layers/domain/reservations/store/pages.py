"""Query and Scan read page by page until DynamoDB has no more."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def query_all(client: DynamoDBClient, **query: Any) -> Iterator[Mapping[str, Any]]:
    while True:
        page = client.query(**query)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan_all(client: DynamoDBClient, table_name: str) -> Iterator[Mapping[str, Any]]:
    """Every item, strongly consistent (operators only: it reads the whole table)."""
    kwargs: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
