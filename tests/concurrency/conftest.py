from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.conftest import make_service
from tests.support.arena import Arena


@pytest.fixture
def service(
    local_client: Any, local_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> ReservationService:
    """The service on DynamoDB Local: the only engine here that is safe under threads."""
    return make_service(local_client, local_table, clock, fast_retries)


@pytest.fixture
def arena(
    local_client: Any, local_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> Arena:
    """A fresh table on DynamoDB Local, with a service on the test's clock."""
    return Arena(local_client, local_table, clock, fast_retries)
