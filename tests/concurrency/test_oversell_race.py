"""Racing oversells on DynamoDB Local, plainly and through the contention-faithful proxy: the
bound holds under concurrency.

The oversell limit is a condition of the one stock update of each line, so concurrent
reserves cannot each read room under the bound and together pass it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from reservations.clock import ManualClock
from reservations.config import Settings
from reservations.errors import OversellLimit
from reservations.http.models import CreateReservationRequest
from reservations.service import ReservationService
from reservations.store import Store
from tests.concurrency.test_races import CLIENTS
from tests.support.invariants import check_invariants
from tests.support.race import persist, race

LIMIT = 100


def test_racing_oversells_stop_exactly_at_the_limit(
    racing: ReservationService, local_client: Any, local_table: str, clock: ManualClock
) -> None:
    settings = Settings(table_name=local_table, max_oversell_per_record=LIMIT)
    engine = Store(racing._store.client, local_table)  # racing's engine, with this limit
    service = ReservationService(engine, clock, settings, racing._retry)
    service.set_on_hand("HOT", "WH1", 20)
    line = {"sku": "HOT", "location": "WH1", "quantity": 10, "allowOversell": True}

    def client(number: int) -> Any:
        # Its own id: a retry after CONTENTION (a 503) answers the same hold.
        body = {"id": f"c{number}", "items": [line]}
        request = CreateReservationRequest.model_validate(body).to_command()
        return persist(lambda: service.reserve(request, "callcentre"), number)

    results = race(*(partial(client, number) for number in range(CLIENTS)))
    granted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, OversellLimit)]
    assert len(granted) + len(refused) == CLIENTS, [r for r in results if isinstance(r, Exception)]
    # 20 in stock and 100 below zero: exactly 12 lines of 10.
    assert len(granted) == 12
    level = service.inventory("HOT").locations[0]
    assert (level.on_hand, level.reserved, level.available) == (20, 120, -LIMIT)
    assert check_invariants(local_client, local_table).held[("HOT", "WH1")] == 120
