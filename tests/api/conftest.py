"""The API suite: the real handler, fed API Gateway events, on moto server and DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import api_function
import route_dependencies
from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.conftest import make_service
from tests.support.api_client import HandlerClient


@pytest.fixture
def service(
    engine_client: Any, engine_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> ReservationService:
    return make_service(engine_client, engine_table, clock, fast_retries)


@pytest.fixture
def api(service: ReservationService) -> Iterator[HandlerClient]:
    overrides = api_function.app.dependency_overrides
    overrides[route_dependencies.get_service] = lambda: service
    yield HandlerClient(api_function.lambda_handler)
    overrides.pop(route_dependencies.get_service, None)
