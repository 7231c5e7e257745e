"""DynamoDB's answers to a refused request, in its JSON 1.0 error shapes (the API
reference's ``TransactWriteItems`` errors and ``CancellationReason``; the envelope and
field spelling as DynamoDB Local itself answers a cancelled transaction), so botocore
parses them as it parses the real ones."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import Enum

from .requests import Kind, Operation
from .rules import Outcome, Refusal

NAMESPACE = "com.amazonaws.dynamodb.v20120810"
CONFLICT_MESSAGE = "Transaction is ongoing for the item"
# What an on-demand table answers (API reference, TransactWriteItems: "This message is
# returned when writes get throttled on an On-Demand table").
ON_DEMAND_THROTTLED = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is "
    "automatically scaling your table or index so please try again shortly. If exceptions "
    "persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
PROVISIONED_THROTTLED = (
    "The level of configured provisioned throughput for the table was exceeded. Consider "
    "increasing your provisioning level with the UpdateTable API."
)


class CapacityMode(Enum):
    ON_DEMAND = "on-demand"  # the template's table (BillingMode PAY_PER_REQUEST)
    PROVISIONED = "provisioned"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _response(payload: dict[str, object]) -> Answer:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Length": str(len(body)),
    }
    return Answer(400, headers, body)


def refusal_response(
    operation: Operation,
    refusal: Refusal,
    mode: CapacityMode = CapacityMode.ON_DEMAND,
    table_arn: str = "",
) -> Answer:
    """The answer DynamoDB gives ``operation`` for ``refusal``."""
    throttled = refusal.outcome is Outcome.THROTTLED
    if operation.kind is Kind.WRITE:
        if not throttled:
            return _response(
                {"__type": f"{NAMESPACE}#TransactionConflictException", "message": CONFLICT_MESSAGE}
            )
        return _throttling_exception(mode, table_arn or operation.accesses[0].item.table)
    if throttled and mode is CapacityMode.ON_DEMAND:
        code, message = "ThrottlingError", ON_DEMAND_THROTTLED
    elif throttled:
        code, message = "ProvisionedThroughputExceeded", PROVISIONED_THROTTLED
    else:
        code, message = "TransactionConflict", CONFLICT_MESSAGE
    reasons: list[dict[str, str]] = [
        {"Code": code, "Message": message} if index in refusal.culprits else {"Code": "None"}
        for index in range(len(operation.accesses))
    ]
    listed = ", ".join(reason["Code"] for reason in reasons)
    return _response(
        {
            "__type": f"{NAMESPACE}#TransactionCanceledException",
            "CancellationReasons": reasons,
            "Message": "Transaction cancelled, please refer cancellation reasons for specific "
            f"reasons [{listed}]",
        }
    )


def _throttling_exception(mode: CapacityMode, resource: str) -> Answer:
    """A throttled plain write, with the ``ThrottlingReasons`` the API now returns."""
    reasons = [{"reason": "TableWriteKeyRangeThroughputExceeded", "resource": resource}]
    if mode is CapacityMode.ON_DEMAND:
        return _response(
            {
                "__type": "com.amazon.coral.availability#ThrottlingException",
                "message": ON_DEMAND_THROTTLED,
                "throttlingReasons": reasons,  # so spelt in this exception's model
            }
        )
    return _response(
        {
            "__type": f"{NAMESPACE}#ProvisionedThroughputExceededException",
            "message": PROVISIONED_THROTTLED,
            "ThrottlingReasons": reasons,
        }
    )
