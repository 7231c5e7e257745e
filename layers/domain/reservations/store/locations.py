"""Location items: the registered network, and the locations only seen holding stock
(docs/architecture.md, "Locations and allocation"). All of them share one partition, so
the whole network is one Query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..records import Location
from .idempotency import raise_if_key_taken
from .items import location_from_item, location_registration
from .keys import PK, Entity, location_key, locations_pk, n, s
from .pages import query_all
from .transact import TransactionCancelled, conflict_or, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class LocationStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._name = table_name

    def list(self) -> list[Location]:
        """Every location item, registered or only seen, in location order."""
        return [
            location_from_item(item)
            for item in query_all(
                self._client,
                TableName=self._name,
                KeyConditionExpression=f"{PK} = :pk",
                ExpressionAttributeValues={":pk": locations_pk()},
                ConsistentRead=True,
            )
        ]

    def get(self, location: str) -> Location | None:
        item = self._client.get_item(
            TableName=self._name, Key=location_key(location), ConsistentRead=True
        ).get("Item")
        return None if item is None else location_from_item(item)

    def register(
        self, location: Location, *, token: str, remembered: dict[str, Any] | None = None
    ) -> None:
        """Write a registration whole (the optional fields it leaves out are removed); the
        item's ``seenAt``, if stock was seen there first, is kept. With ``remembered`` (an
        idempotency key's answer) both go in one transaction."""
        present, absent = location_registration(location)
        # Every name through a placeholder: several (name, location, ...) are reserved words.
        sets = ", ".join(f"#{k} = :{k}" for k in present)
        removes = ", ".join(f"#{k}" for k in absent)
        update: dict[str, Any] = {
            "TableName": self._name,
            "Key": location_key(location.location),
            "UpdateExpression": f"SET {sets}" + (f" REMOVE {removes}" if removes else ""),
            "ExpressionAttributeNames": {f"#{k}": k for k in [*present, *absent]},
            "ExpressionAttributeValues": {f":{k}": v for k, v in present.items()},
        }
        if remembered is None:
            self._client.update_item(**update)
            return
        try:
            transact(self._client, [{"Update": update}, remembered], token)
        except TransactionCancelled as cancelled:
            raise_if_key_taken(cancelled.reasons[-1])
            raise conflict_or(cancelled) from None

    def note_stock(self, location: str, now: int) -> None:
        """Record that stock exists at ``location``, registered or not, so the network lists
        it; a registration already there is left as it is."""
        self._client.update_item(
            TableName=self._name,
            Key=location_key(location),
            UpdateExpression=(
                "SET #location = :location, entity = if_not_exists(entity, :entity), "
                "seenAt = if_not_exists(seenAt, :now)"
            ),
            ExpressionAttributeNames={"#location": "location"},
            ExpressionAttributeValues={
                ":location": s(location),
                ":entity": s(Entity.LOCATION),
                ":now": n(now),
            },
        )
