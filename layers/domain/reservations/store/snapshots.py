"""A reservation's lines as they are now, for the events that announce its changes: the
header's stream record tells what changed, and its lines are read here (a transaction's
records reach the stream one by one, so they cannot be gathered from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..records import Line
from .items import line_from_item
from .keys import LINE_PREFIX, PK, RESERVATION_SK, SK, reservation_pk
from .pages import query_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True, slots=True)
class LinesSnapshot:
    version: int | None  # the header's version when read; None: no header (TTL took it)
    lines: tuple[Line, ...]


class LineSnapshots:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._name = table_name

    def read(self, reservation_id: str) -> LinesSnapshot:
        """The header's version and the lines, in one strongly consistent Query."""
        version: int | None = None
        lines: list[Line] = []
        for item in query_all(
            self._client,
            TableName=self._name,
            KeyConditionExpression=f"{PK} = :pk",
            ExpressionAttributeValues={":pk": reservation_pk(reservation_id)},
            ConsistentRead=True,
        ):
            sk = item[SK]["S"]
            if sk == RESERVATION_SK:
                version = int(item["version"]["N"])
            elif sk.startswith(LINE_PREFIX):
                lines.append(line_from_item(item))
        return LinesSnapshot(version, tuple(lines))
