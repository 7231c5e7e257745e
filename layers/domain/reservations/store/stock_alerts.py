"""Which thresholds a sharded stock record's total is below, as the events function last
told it (docs/architecture.md, "Sharded stock"): one item per record, on a partition of
its own so that it never contends with the record's reserves.

Each threshold (``low``, ``negative``) is absent while the total is above it. Crossing it
writes the id of the event that tells it, conditioned on its absence, so of two batches
that both see the crossing one tells it; ``told`` is set once the event is out, and until
then every evaluation tells it again under the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .keys import AttributeMap, Entity, alerts_key, s
from .transact import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True, slots=True)
class Marker:
    event_id: str
    told: bool


SEEDED = "told-before-sharding"  # the id of a crossing the record's own events told


def alerts_item(
    table_name: str, sku: str, location: str, crossed: dict[str, bool]
) -> dict[str, Any]:
    """A transaction's Put of a record's alerts item, each crossed threshold told."""
    item: dict[str, Any] = {**alerts_key(sku, location), "sku": s(sku), "location": s(location)}
    item["entity"] = s(Entity.STOCK_ALERTS)
    for threshold in (name for name, below in crossed.items() if below):
        item[f"{threshold}Event"] = s(SEEDED)
        item[f"{threshold}Told"] = {"BOOL": True}
    return {"Put": {"TableName": table_name, "Item": item}}


class StockAlerts:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._name = table_name

    def read(self, sku: str, location: str) -> dict[str, Marker]:
        """The markers by threshold name, read consistently."""
        item = (
            self._client.get_item(
                TableName=self._name, Key=alerts_key(sku, location), ConsistentRead=True
            ).get("Item")
            or {}
        )
        return {
            name[: -len("Event")]: Marker(value["S"], f"{name[: -len('Event')]}Told" in item)
            for name, value in item.items()
            if name.endswith("Event")
        }

    def mark(self, sku: str, location: str, threshold: str, event_id: str) -> bool:
        """Record a crossing, told by ``event_id``: False when one is recorded already."""
        return self._update(
            sku,
            location,
            "SET #event = :id, sku = :sku, #location = :location, entity = :entity",
            "attribute_not_exists(#event)",
            threshold,
            event_id,
            {":sku": s(sku), ":location": s(location), ":entity": s(Entity.STOCK_ALERTS)},
        )

    def told(self, sku: str, location: str, threshold: str, event_id: str) -> bool:
        return self._update(sku, location, "SET #told = :true", "#event = :id", threshold, event_id)

    def clear(self, sku: str, location: str, threshold: str, event_id: str) -> bool:
        """The total is above ``threshold`` again: the next crossing is a new one."""
        return self._update(
            sku, location, "REMOVE #event, #told", "#event = :id", threshold, event_id
        )

    def _update(
        self,
        sku: str,
        location: str,
        update: str,
        condition: str,
        threshold: str,
        event_id: str,
        values: dict[str, AttributeMap] | None = None,
    ) -> bool:
        names = {
            "#event": f"{threshold}Event",
            "#told": f"{threshold}Told",
            "#location": "location",
        }
        used = {name: attribute for name, attribute in names.items() if name in update + condition}
        attribute_values: dict[str, Any] = {":id": s(event_id), **(values or {})}
        if ":true" in update:
            attribute_values[":true"] = {"BOOL": True}
        try:
            self._client.update_item(
                TableName=self._name,
                Key=alerts_key(sku, location),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=used,
                ExpressionAttributeValues=attribute_values,
            )
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                return False
            raise
        return True
