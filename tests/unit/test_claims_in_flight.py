"""A claim (an idempotency key's, an ERP auto offset's) on an item that a transaction has
in flight: DynamoDB refuses the plain write with TransactionConflictException. The item's
claim holder is completing it, so the claim is in use, not a server error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reservations.store.idempotency import IdempotencyStore, KeyInUse
from reservations.store.leases import put_claim


class InFlight:
    def put_item(self, **_: Any) -> None:
        error = {"Error": {"Code": "TransactionConflictException", "Message": "ongoing"}}
        raise ClientError(error, "PutItem")  # type: ignore[arg-type]


def test_a_claim_on_an_item_in_flight_finds_something_there() -> None:
    assert put_claim(InFlight(), "t", {}, 0) == {}  # type: ignore[arg-type]


def test_an_idempotency_key_in_flight_is_in_use_for_a_second() -> None:
    keys = IdempotencyStore(InFlight(), "t", 3600, 30)  # type: ignore[arg-type]
    with pytest.raises(KeyInUse) as in_use:
        keys.claim("web", "k-1", "f", 1_000)
    assert in_use.value.retry_after == 1
