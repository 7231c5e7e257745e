"""Bounded, jittered retries of writes that are safe to repeat.

Real DynamoDB cancels transactions with ``TransactionConflict`` under contention and can
time out after it has committed. Each write here is repeated with the same
``ClientRequestToken`` and is guarded by conditions, so a repeat never applies twice.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from ..errors import Contention
from .transact import WriteConflict

T = TypeVar("T")

# Errors after which the write may or may not have been applied, or was refused only for now.
_AMBIGUOUS = (ReadTimeoutError, ConnectionClosedError)
_RETRYABLE_CODES = frozenset(
    {
        "TransactionInProgressException",
        # A plain write on an item an ongoing transaction holds; botocore does not retry it.
        "TransactionConflictException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "InternalServerError",
        "RequestLimitExceeded",
    }
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.02
    max_delay: float = 0.5

    def delay(self, attempt: int) -> float:
        # "Full jitter": spreads racing writers apart instead of retrying in lockstep.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


# The sharded path's policy (docs/architecture.md, "Sharded stock"): its next attempt goes
# to another bucket, so waiting buys little; more attempts instead, each cheap. The
# flash-sale model (docs/performance.md, section 6) checks it at 64 buckets.
SHARDED_RETRY = RetryPolicy(attempts=18, base_delay=0.002, max_delay=0.05)


def is_ambiguous(error: Exception) -> bool:
    """The write may have been applied: repeat it with the same token."""
    if isinstance(error, _AMBIGUOUS):
        return True
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in _RETRYABLE_CODES
    return False


def with_retries(
    write: Callable[[str], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``write(token)`` until it succeeds, fails for good, or the attempts run out.

    After an ambiguous failure the same ``ClientRequestToken`` is sent again, so DynamoDB
    answers a repeat of a committed transaction without applying it twice. After a
    conflict (the transaction was certainly not applied) a fresh token is used, since a
    token is bound to its first outcome for ten minutes.
    """
    token = uuid.uuid4().hex
    for attempt in range(policy.attempts):
        try:
            return write(token)
        except Exception as error:
            if isinstance(error, WriteConflict):
                token = uuid.uuid4().hex
            elif not is_ambiguous(error):
                raise
            if attempt + 1 == policy.attempts:
                raise Contention(f"gave up after {policy.attempts} attempts: {error}") from error
            sleep(policy.delay(attempt))
    raise AssertionError("unreachable")
