"""The API suite: the real handler, fed API Gateway events, on moto server and DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import api_function
import route_dependencies
import sweeper_function
from local.apigw import LambdaContext
from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.conftest import make_service
from tests.support.api_client import HandlerClient
from tests.support.channel_holds import HOLD, STOREFRONT
from tests.support.lifecycle_requests import scheduled_event


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


@pytest.fixture
def held(api: HandlerClient) -> dict[str, Any]:
    """The storefront's hold on 2 of 10 SKU-A."""
    assert api.put("/inventory/SKU-A/locations/WH1", {"onHand": 10}).status == 200
    created = api.as_(STOREFRONT).post("/reservations", HOLD)
    assert created.status == 201, created.text
    assert created.json["channel"] == "storefront"
    body: dict[str, Any] = created.json
    return body


@pytest.fixture
def sweeper(service: ReservationService, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sweeper_function, "service", service)

    def sweep() -> dict[str, Any]:
        result: dict[str, Any] = sweeper_function.lambda_handler(
            scheduled_event(), LambdaContext("sweeper")
        )
        return result

    return sweep
