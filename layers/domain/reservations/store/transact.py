"""Issuing a ``TransactWriteItems`` and reading why DynamoDB cancelled it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .keys import AttributeMap

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"
# An item over its partition's throughput: "ThrottlingError" on an on-demand table,
# "ProvisionedThroughputExceeded" on a provisioned one (API reference, TransactWriteItems).
THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


@dataclass(frozen=True, slots=True)
class CancellationReason:
    code: str
    item: AttributeMap | None

    @property
    def condition_failed(self) -> bool:
        return self.code == CONDITION_FAILED


class TransactionCancelled(Exception):
    """DynamoDB refused the whole transaction; ``reasons`` align with the items sent."""

    def __init__(self, reasons: list[CancellationReason]) -> None:
        super().__init__(", ".join(reason.code for reason in reasons))
        self.reasons = reasons

    @property
    def conflicted(self) -> bool:
        return any(reason.code == CONFLICT for reason in self.reasons)

    @property
    def throttled(self) -> bool:
        return any(reason.code in THROTTLED for reason in self.reasons)

    @property
    def any_condition_failed(self) -> bool:
        return any(reason.condition_failed for reason in self.reasons)


class WriteConflict(Exception):
    """A concurrent writer won this round, or a partition was over its throughput: nothing
    was written, and retrying the same write is safe."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def transact(client: DynamoDBClient, items: Sequence[Mapping[str, Any]], token: str) -> None:
    """One transaction; TransactionCancelled with the reasons when DynamoDB refuses it."""
    try:
        client.transact_write_items(
            TransactItems=list(items),  # type: ignore[arg-type]
            ClientRequestToken=token,
        )
    except ClientError as error:
        if error_code(error) != "TransactionCanceledException":
            raise
        raise TransactionCancelled(reasons(error.response, len(items))) from None


def conflict_or(cancelled: TransactionCancelled) -> Exception:
    """What a cancellation that no condition explains means: a conflict or throttling to
    retry, or itself, re-raised as is."""
    retry = cancelled.conflicted or cancelled.throttled
    return WriteConflict(str(cancelled)) if retry else cancelled


def reasons(response: Mapping[str, Any], count: int) -> list[CancellationReason]:
    raw: Iterable[Mapping[str, Any]] = response.get("CancellationReasons") or []
    found = [CancellationReason(r.get("Code", "None"), r.get("Item")) for r in raw]
    if len(found) != count:
        # Some engines omit the list; only the message then says what happened.
        message = str(response.get("Error", {}).get("Message", ""))
        code = CONFLICT if CONFLICT in message else "Unknown"
        found = [CancellationReason(code, None) for _ in range(count)]
    return found
