"""The movement ledger (docs/architecture.md, "Supply measures"): written from the table's
stream, one item per change of a measure, read newest first one Query per page."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import Contention
from ..records import Movement
from .keys import PK, movements_pk
from .movement_items import movement_from_item, movement_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem, DynamoDB's limit
UNPROCESSED_ROUNDS = 6  # each waits twice as long as the one before, from 20 ms


class MovementStore:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_seconds: int) -> None:
        self._client = client
        self._name = table_name
        self._retention = retention_seconds

    def record(self, movements: Sequence[Movement]) -> None:
        """Write the movements; a redelivered one overwrites itself with the same content
        (its key is its record's version and measure), so a replay writes nothing twice.
        Contention when DynamoDB leaves some unwritten after every round."""
        for start in range(0, len(movements), BATCH_WRITE_LIMIT):
            requests: list[Any] = [
                {"PutRequest": {"Item": movement_item(m, m.at + self._retention)}}
                for m in movements[start : start + BATCH_WRITE_LIMIT]
            ]
            for round_ in range(UNPROCESSED_ROUNDS):
                left = (
                    self._client.batch_write_item(RequestItems={self._name: requests})
                    .get("UnprocessedItems", {})
                    .get(self._name)
                )
                if not left:
                    break
                requests = list(left)
                time.sleep(0.02 * 2**round_)
            else:
                raise Contention("movements could not be written in time; the batch comes again")

    def page(
        self, sku: str, location: str, limit: int, start: Mapping[str, Any] | None
    ) -> tuple[list[Movement], Mapping[str, Any] | None]:
        """One Query, newest first, and where the next page starts (None: no more)."""
        query: dict[str, Any] = {
            "TableName": self._name,
            "KeyConditionExpression": f"{PK} = :pk",
            "ExpressionAttributeValues": {":pk": movements_pk(sku, location)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = start
        page = self._client.query(**query)
        movements = [movement_from_item(item) for item in page.get("Items", [])]
        return movements, page.get("LastEvaluatedKey")
