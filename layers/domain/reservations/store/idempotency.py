"""Idempotency keys of the API: the first request with a key claims it, its effect's
transaction turns the claim into the remembered response, a repeat gets that response
(docs/architecture.md, "Idempotency keys")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .keys import ENTITY, TTL_ATTRIBUTE, AttributeMap, Entity, idempotency_key, n, s
from .leases import CLAIMED, claim_fields, put_claim
from .transact import CancellationReason, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What the first request answered, replayed to every repeat."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class KeyClaim:
    channel: str
    key: str
    fingerprint: str
    owner: str


class KeyInUse(Exception):
    """The first request with this key is still in flight (``fingerprint``: its request)."""

    def __init__(self, retry_after: int, fingerprint: str) -> None:
        super().__init__(f"in flight; retry after {retry_after}s")
        self.retry_after = retry_after
        self.fingerprint = fingerprint


class KeyCompleted(Exception):
    """The key's request took effect before: ``response`` is what it answered."""

    def __init__(self, fingerprint: str, response: StoredResponse) -> None:
        super().__init__("already answered")
        self.fingerprint = fingerprint
        self.response = response


def _response_of(item: Mapping[str, Any]) -> StoredResponse:
    headers = json.loads(item["headers"]["S"]) if "headers" in item else []
    return StoredResponse(
        int(item["status"]["N"]), item["body"]["S"], tuple((k, v) for k, v in headers)
    )


def raise_if_key_taken(reason: CancellationReason) -> None:
    """The key item's condition failed inside a transaction. Completed: by this request's
    own earlier attempt, whose answer was lost; say what it answered. Otherwise another
    request took the claim over after its lease ran out: it answers."""
    if not reason.condition_failed:
        return
    item = reason.item or {}
    if item.get("state", {}).get("S") == COMPLETED:
        raise KeyCompleted(item["fingerprint"]["S"], _response_of(item))
    raise KeyInUse(1, item.get("fingerprint", {}).get("S", ""))


class IdempotencyStore:
    def __init__(
        self, client: DynamoDBClient, table_name: str, retention_seconds: int, lease_seconds: int
    ) -> None:
        self._client = client
        self._name = table_name
        self._retention = retention_seconds
        self._lease = lease_seconds

    def claim(self, channel: str, key: str, fingerprint: str, now: int) -> KeyClaim:
        """Claim ``key`` for this request (one conditional write). Raises KeyCompleted when
        it was answered before, KeyInUse while another request holds it; a claim whose
        lease ran out (its function died) is taken over."""
        claim = KeyClaim(channel, key, fingerprint, uuid.uuid4().hex)
        lease_until = now + self._lease
        item = {
            **idempotency_key(channel, key),
            ENTITY: s(Entity.IDEMPOTENCY_KEY),
            **claim_fields(claim.owner, lease_until),
            "fingerprint": s(fingerprint),
            TTL_ATTRIBUTE: n(lease_until + self._retention),
        }
        old = put_claim(self._client, self._name, item, now)
        if old is None:
            return claim
        if old.get("state", {}).get("S") == COMPLETED:
            raise KeyCompleted(old["fingerprint"]["S"], _response_of(old))
        lease = int(old.get("leaseUntil", {}).get("N", now + 1))
        raise KeyInUse(max(1, lease - now), old.get("fingerprint", {}).get("S", ""))

    def completion_item(
        self, claim: KeyClaim, response: StoredResponse, now: int
    ) -> dict[str, Any]:
        """The claim turned into the remembered response, as an item of the effect's own
        transaction: refused if the claim is no longer this request's."""
        item: AttributeMap = {
            **idempotency_key(claim.channel, claim.key),
            ENTITY: s(Entity.IDEMPOTENCY_KEY),
            "state": s(COMPLETED),
            "owner": s(claim.owner),
            "fingerprint": s(claim.fingerprint),
            "status": n(response.status),
            "body": s(response.body),
            "headers": s(json.dumps([list(h) for h in response.headers])),
            "completedAt": n(now),
            TTL_ATTRIBUTE: n(now + self._retention),
        }
        return {
            "Put": {
                "TableName": self._name,
                "Item": item,
                "ConditionExpression": "#state = :claimed AND #owner = :owner",
                "ExpressionAttributeNames": {"#state": "state", "#owner": "owner"},
                "ExpressionAttributeValues": {":claimed": s(CLAIMED), ":owner": s(claim.owner)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def complete(self, claim: KeyClaim, response: StoredResponse, now: int) -> None:
        """Remember the answer of a request that changed nothing (no transaction to carry
        it): a repeat answers the same."""
        put = self.completion_item(claim, response, now)["Put"]
        try:
            self._client.put_item(**put)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise  # the claim was taken over after its lease: the other request answers

    def release(self, claim: KeyClaim) -> None:
        """Give the key back after a request that took no effect (a 4xx or 5xx), so a retry
        runs again instead of repeating an error that may no longer hold: the claim's lease
        ends now, and the next request takes it over."""
        try:
            self._client.update_item(
                TableName=self._name,
                Key=idempotency_key(claim.channel, claim.key),
                UpdateExpression="SET leaseUntil = :ended",
                ConditionExpression="#state = :claimed AND #owner = :owner",
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":ended": n(0),
                    ":claimed": s(CLAIMED),
                    ":owner": s(claim.owner),
                },
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
