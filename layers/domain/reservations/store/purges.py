"""The stream backstop's write: what a hold line held when TTL deleted it goes back to
stock, once (docs/architecture.md, "Expiry", 3)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..records import Line
from .items import purged_line_item
from .keys import PK, line_key, purged_line_key
from .labels import LabelStore
from .stock import StockStore
from .transact import TransactionCancelled, conflict_or, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class SettlementRefused(Exception):
    """The table cannot account for the settlement an event claims: nothing changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PurgedLines:
    def __init__(
        self, client: DynamoDBClient, table_name: str, stock: StockStore, labels: LabelStore
    ) -> None:
        self._client = client
        self._name = table_name
        self._stock = stock
        self._labels = labels

    def settle(
        self, reservation_id: str, line: Line, now: int, keep_until: int, created_at: int = 0
    ) -> bool:
        """Give back what a line held when TTL deleted it, at most once: a marker item in
        the same transaction makes a redelivered record a no-op (False). The line must be
        gone from the table and the stock record must hold at least what it claims, else
        SettlementRefused: an event that says otherwise is not a TTL deletion."""
        key = purged_line_key(reservation_id, created_at, line.sku, line.location)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": purged_line_item(key, line, now, keep_until),
                    "ConditionExpression": f"attribute_not_exists({PK})",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._name,
                    "Key": line_key(reservation_id, line.sku, line.location),
                    "ConditionExpression": f"attribute_not_exists({PK})",
                }
            },
            # Nothing consumed: one item, the line's bucket, whichever it is.
            *self._stock.settle_items(
                line.sku, line.location, line.held, 0, now, bucket=line.bucket
            ),
        ]
        # The labels it held are ACTIVE again, in the same transaction.
        items += [
            self._labels.settle_item(replace(hold, held=False), reservation_id, now)
            for hold in line.labels
            if hold.held
        ]
        try:
            transact(self._client, items, uuid.uuid4().hex)
        except TransactionCancelled as cancelled:
            marker, present, stock, *labels = cancelled.reasons
            if marker.condition_failed:
                return False
            if present.condition_failed:
                raise SettlementRefused("the line is still in the table") from None
            if stock.condition_failed:
                held = (stock.item or {}).get("reserved", {}).get("N", "0")
                raise SettlementRefused(
                    f"the stock record reserves {held}, less than the {line.held} claimed"
                ) from None
            if any(label.condition_failed for label in labels):
                raise SettlementRefused("a label of the line is not reserved by its hold") from None
            raise conflict_or(cancelled) from None
        return True
