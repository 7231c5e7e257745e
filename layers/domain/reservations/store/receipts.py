"""The ERP's receipts: proof that a message took effect, written in the transaction of its
effect (docs/architecture.md, "Message contracts"). The ledger owns the whole protocol of a
message applied in several transactions: claim, parts, complete."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..records import Receipt
from .items import receipt_from_item, receipt_item
from .keys import PK, receipt_key, receipt_pk, s
from .leases import CLAIMED, claim_fields, put_claim
from .leases import is_claim as receipt_is_claim
from .pages import query_all
from .retry import RetryPolicy, with_retries
from .transact import CancellationReason, TransactionCancelled, conflict_or, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class AlreadyApplied(Exception):
    """The message's receipt exists: it took effect before (``existing`` tells how)."""

    def __init__(self, existing: Receipt) -> None:
        super().__init__(f"{existing.kind} {existing.message_id} already applied")
        self.existing = existing


class MessageInProgress(Exception):
    """Another delivery of the same message holds its claim: try again once it is done."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One delivery's claim on a message applied in steps, with the parts done before it
    (by a delivery that died)."""

    receipt: Receipt
    owner: str
    parts: tuple[Receipt, ...]

    @property
    def covered(self) -> int:
        return sum(part.applied for part in self.parts)

    def done(self, part: str) -> bool:
        return any(earlier.part == part for earlier in self.parts)

    def part(self, name: str) -> Receipt:
        return replace(self.receipt, part=name)


def raise_if_receipt_exists(reason: CancellationReason) -> None:
    """The receipt's condition failed: the message took effect before."""
    if reason.condition_failed:
        if reason.item is None:  # an engine that omits the old item: still a duplicate
            raise AlreadyApplied(Receipt(kind="", message_id="", fingerprint=""))
        raise AlreadyApplied(receipt_from_item(reason.item))


class ReceiptLedger:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retention_seconds: int,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._name = table_name
        self._retention = retention_seconds
        self._retry = retry or RetryPolicy()

    def keep_until(self, now: int) -> int:
        """A receipt outlives every redelivery of its message (the retention setting)."""
        return now + self._retention

    def put_item(self, receipt: Receipt, now: int) -> dict[str, Any]:
        """The receipt as an item of another transaction: the transaction is refused (and
        ``raise_if_receipt_exists`` says so) when the message took effect before."""
        return {
            "Put": {
                "TableName": self._name,
                "Item": receipt_item(receipt, now, self.keep_until(now)),
                "ConditionExpression": f"attribute_not_exists({PK})",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def transact_with(
        self, items: Sequence[Mapping[str, Any]], receipt: Receipt, now: int, token: str
    ) -> None:
        """``items`` and the receipt in one transaction. Raises AlreadyApplied when the
        receipt exists, WriteConflict when a concurrent transaction won."""
        try:
            transact(self._client, [*items, self.put_item(receipt, now)], token)
        except TransactionCancelled as cancelled:
            raise_if_receipt_exists(cancelled.reasons[-1])
            raise conflict_or(cancelled) from None

    def record(self, receipt: Receipt, now: int) -> None:
        """A receipt alone: the message took effect with nothing to change (an offset of a
        hold no longer live). Raises AlreadyApplied."""
        with_retries(lambda token: self.transact_with([], receipt, now, token), self._retry)

    # --- a message applied in several transactions ---------------------------------------

    def claim(self, receipt: Receipt, now: int, lease_until: int) -> Claim:
        """Claim a message so one delivery at a time works on it, and read the parts done
        before. A claim whose lease ran out (its worker died) is taken over.

        Raises AlreadyApplied (the message is complete, or its id was used for other
        content) or MessageInProgress.
        """
        owner = uuid.uuid4().hex
        # Purged with its lease: a claim whose worker died and is never taken over goes.
        item = receipt_item(replace(receipt, applied=0, part=None), now, lease_until)
        old = put_claim(self._client, self._name, item | claim_fields(owner, lease_until), now)
        if old is not None:
            self._refuse_claim(receipt, old)
        parts = tuple(self.completed(receipt.kind, receipt.message_id))
        for part in parts:
            if part.fingerprint != receipt.fingerprint:
                raise AlreadyApplied(part)
        return Claim(receipt, owner, parts)

    def _refuse_claim(self, receipt: Receipt, old: Mapping[str, Any]) -> None:
        if not old:  # an engine that leaves the old item out of the error
            old = self._client.get_item(
                TableName=self._name,
                Key=receipt_key(receipt.kind, receipt.message_id, None),
                ConsistentRead=True,
            ).get("Item", {})
        if old and not receipt_is_claim(old):
            raise AlreadyApplied(receipt_from_item(old))
        if old and old["fingerprint"]["S"] != receipt.fingerprint:
            raise AlreadyApplied(receipt_from_item(old))
        raise MessageInProgress(receipt.message_id)

    def complete(self, claim: Claim, applied: int, now: int) -> None:
        """Turn this owner's claim into the message's receipt. Raises AlreadyApplied if
        the claim is no longer ours (another delivery took it over and finished)."""
        receipt = replace(claim.receipt, applied=applied)

        def write(token: str) -> None:
            item = self.put_item(receipt, now)
            item["Put"]["ConditionExpression"] = "#state = :claimed AND #owner = :owner"
            item["Put"]["ExpressionAttributeNames"] = {"#state": "state", "#owner": "owner"}
            item["Put"]["ExpressionAttributeValues"] = {
                ":claimed": s(CLAIMED),
                ":owner": s(claim.owner),
            }
            try:
                transact(self._client, [item], token)
            except TransactionCancelled as cancelled:
                raise_if_receipt_exists(cancelled.reasons[-1])
                raise conflict_or(cancelled) from None

        with_retries(write, self._retry)

    def completed(self, kind: str, message_id: str) -> list[Receipt]:
        """Every completed receipt of one message: the whole one and its parts."""
        return [
            receipt_from_item(item)
            for item in query_all(
                self._client,
                TableName=self._name,
                KeyConditionExpression=f"{PK} = :pk",
                ExpressionAttributeValues={":pk": receipt_pk(kind, message_id)},
                ConsistentRead=True,
            )
            if not receipt_is_claim(item)
        ]
