"""The stream reader make run plays its stream mappings with, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.streams import StreamReader
from tests.support.event_bus import aws_client


def put(client: Any, table: str, pk: str) -> None:
    client.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": "X"}})


def keys(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["PK"]["S"] for r in records]


def test_records_after_a_cancelled_transaction_still_arrive(
    engine_client: Any, engine_table: str
) -> None:
    """Once, on moto, every record after the first refused transaction was lost to the
    reader (moto restores a copy of its tables, stranding older iterators), and make run
    printed no event again."""
    streams = aws_client("dynamodbstreams", engine_client.meta.endpoint_url)
    arn = engine_client.describe_table(TableName=engine_table)["Table"]["LatestStreamArn"]
    reader = StreamReader(streams, arn)
    put(engine_client, engine_table, "a")
    assert keys(reader.poll()) == ["a"]
    with pytest.raises(ClientError, match="TransactionCanceled"):
        engine_client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": engine_table, "Item": {"PK": {"S": "b"}, "SK": {"S": "X"}}}},
                {
                    "Put": {
                        "TableName": engine_table,
                        "Item": {"PK": {"S": "a"}, "SK": {"S": "X"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    put(engine_client, engine_table, "c")
    put(engine_client, engine_table, "d")
    assert keys(reader.poll()) == ["c", "d"]
    assert reader.poll() == []
