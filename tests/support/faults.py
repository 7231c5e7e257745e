"""A fault for the tests of retries: the function dies after its write committed."""

from __future__ import annotations

from typing import Any

TRANSACT = "dynamodb.TransactWriteItems"


class CrashAfterCommit:
    """The function dies right after DynamoDB committed its transaction, once (register it
    on ``after-call.<TRANSACT>`` of the client)."""

    def __init__(self) -> None:
        self.armed = True

    def __call__(self, **_: Any) -> None:
        if self.armed:
            self.armed = False
            raise RuntimeError("the function died after its write committed")
