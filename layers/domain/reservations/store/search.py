"""Finding reservation headers by order or by channel, a page at a time, from the sparse
OrderIndex and ChannelIndex (docs/architecture.md, "Access patterns"). Never a Scan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..records import Reservation, Status
from .items import line_count, reservation_from_item
from .keys import CHANNEL_INDEX, ORDER_INDEX, AttributeMap, n, s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True, slots=True)
class HeaderQuery:
    """One page of headers: by ``order_id`` (then ``channel`` filters) or else by
    ``channel``; newest first."""

    channel: str | None
    order_id: str | None = None
    status: Status | None = None  # as read now: ACTIVE past its expiry counts as EXPIRED
    created_after: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class HeaderPage:
    reservations: list[tuple[Reservation, int]]  # each header and its line count
    last_key: AttributeMap | None  # where the next page starts (DynamoDB's own key)


def _status_filter(status: Status, now: int) -> tuple[str, AttributeMap]:
    """The status as of ``now``: an ACTIVE hold past its expiry already reads EXPIRED."""
    if status is Status.ACTIVE:
        return "#status = :active AND expiresAt > :now", {":active": s("ACTIVE"), ":now": n(now)}
    if status is Status.EXPIRED:
        return (
            "#status = :expired OR (#status = :active AND expiresAt <= :now)",
            {":expired": s("EXPIRED"), ":active": s("ACTIVE"), ":now": n(now)},
        )
    return "#status = :status", {":status": s(status.value)}


class HeaderSearch:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._name = table_name

    def page(
        self, query: HeaderQuery, now: int, start: Mapping[str, Any] | None = None
    ) -> HeaderPage:
        """One Query of one index, ``query.limit`` headers read at most (a filter may keep
        fewer); ``last_key`` is None on the last page."""
        names: dict[str, str] = {}
        values: AttributeMap = {}
        filters: list[str] = []
        if query.order_id is not None:
            index, key = ORDER_INDEX, "orderId = :key"
            values[":key"] = s(query.order_id)
            if query.channel is not None:
                filters.append("channel = :channel")
                values[":channel"] = s(query.channel)
        else:
            if query.channel is None:
                raise ValueError("a listing without an order names its channel")
            index, key = CHANNEL_INDEX, "channelKey = :key"
            values[":key"] = s(query.channel)
        if query.created_after is not None:
            key += " AND createdAt > :after"
            values[":after"] = n(query.created_after)
        if query.status is not None:
            condition, status_values = _status_filter(query.status, now)
            filters.append(f"({condition})")
            values |= status_values
            names["#status"] = "status"
        request: dict[str, Any] = {
            "TableName": self._name,
            "IndexName": index,
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if names:
            request["ExpressionAttributeNames"] = names
        if start:
            request["ExclusiveStartKey"] = dict(start)
        response = self._client.query(**request)
        found = [
            (reservation_from_item(item), line_count(item, 0)) for item in response.get("Items", [])
        ]
        return HeaderPage(found, response.get("LastEvaluatedKey"))
