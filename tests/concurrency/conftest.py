from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.contention.proxy import ContentionProxy
from local.contention.rules import Outcome
from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.conftest import client_for, make_service
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


@pytest.fixture(params=["plain", "faithful"])
def racing(
    request: pytest.FixtureRequest,
    dynamodb_local: Any,
    local_client: Any,
    local_table: str,
    clock: ManualClock,
) -> Iterator[ReservationService]:
    """The service on DynamoDB Local, plainly and through the contention-faithful proxy
    (issue 17: a transaction touching an item another has in flight is cancelled, as in
    DynamoDB). Through the proxy, the race must have met a TransactionConflict."""
    if request.param == "plain":
        retry = RetryPolicy(attempts=8, base_delay=0.001, max_delay=0.01)
        yield make_service(local_client, local_table, clock, retry)
        return
    # Conflicts are what the proxy adds: enough jittered retries that a client gives up
    # (CONTENTION) only as rarely as in AWS.
    retry = RetryPolicy(attempts=25, base_delay=0.002, max_delay=0.05)
    with ContentionProxy(dynamodb_local.endpoint, seed=7) as proxy:
        yield make_service(client_for(proxy.endpoint), local_table, clock, retry)
        conflicts = sum(n for (_, outcome), n in proxy.rules.stats.counts.items()
                        if outcome is Outcome.CONFLICT)  # fmt: skip
        if request.node.get_closest_marker("may_not_conflict") is None:
            assert conflicts, "the race met no TransactionConflict: it did not race"


@pytest.fixture
def racing_arena(racing: ReservationService, local_table: str, clock: ManualClock) -> Arena:
    """An arena on ``racing``'s engine (plain, or through the proxy) and with its retries."""
    return Arena(racing._store.client, local_table, clock, racing._retry)
