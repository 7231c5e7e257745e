"""Racing oversells on DynamoDB Local: the bound holds under concurrency.

The oversell limit is a condition of the one stock update of each line, so concurrent
reserves cannot each read room under the bound and together pass it.
"""

from __future__ import annotations

from typing import Any

from reservations.clock import ManualClock
from reservations.config import Settings
from reservations.errors import OversellLimit
from reservations.http.models import CreateReservationRequest
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from tests.concurrency.test_races import CLIENTS, race
from tests.support.invariants import check_invariants

LIMIT = 100


def test_racing_oversells_stop_exactly_at_the_limit(
    local_client: Any, local_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> None:
    settings = Settings(table_name=local_table, max_oversell_per_record=LIMIT)
    service = ReservationService(Store(local_client, local_table), clock, settings, fast_retries)
    service.set_on_hand("HOT", "WH1", 20)
    line = {"sku": "HOT", "location": "WH1", "quantity": 10, "allowOversell": True}
    request = CreateReservationRequest.model_validate({"items": [line]}).to_command()
    results = race([lambda: service.reserve(request, "callcentre")] * CLIENTS)
    granted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, OversellLimit)]
    assert len(granted) + len(refused) == CLIENTS, [r for r in results if isinstance(r, Exception)]
    # 20 in stock and 100 below zero: exactly 12 lines of 10.
    assert len(granted) == 12
    level = service.inventory("HOT").locations[0]
    assert (level.on_hand, level.reserved, level.available) == (20, 120, -LIMIT)
    assert check_invariants(local_client, local_table).held[("HOT", "WH1")] == 120
