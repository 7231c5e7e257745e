"""Unit tests run the domain on moto in-process: fast, single-threaded only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from local.engines import lift_moto_transact_get_limit
from reservations.clock import ManualClock
from reservations.erp import ErpService
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from tests.conftest import client_for, fresh_table, make_erp_service, make_service
from tests.support.sharding import shard_a


@pytest.fixture
def moto_client() -> Iterator[Any]:
    lift_moto_transact_get_limit()
    with mock_aws():
        yield client_for("https://dynamodb.us-east-1.amazonaws.com")


@pytest.fixture
def moto_table(moto_client: Any) -> Iterator[str]:
    yield from fresh_table(moto_client)


@pytest.fixture
def service(
    moto_client: Any, moto_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> ReservationService:
    return make_service(moto_client, moto_table, clock, fast_retries)


@pytest.fixture
def erp(
    moto_client: Any, moto_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> ErpService:
    return make_erp_service(moto_client, moto_table, clock, fast_retries)


@pytest.fixture
def sharded(moto_client: Any, moto_table: str) -> Store:
    return shard_a(Store(moto_client, moto_table))
