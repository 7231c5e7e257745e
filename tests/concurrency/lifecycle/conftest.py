"""The lifecycle races' fixtures: arenas of ``CartArena`` (tests/support/cart_arena.py),
in place of the plain ones of tests/concurrency/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.support.cart_arena import CartArena, Rounds


@pytest.fixture
def arena(
    local_client: Any, local_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> CartArena:
    return CartArena(local_client, local_table, clock, fast_retries)


@pytest.fixture
def rounds(arena: CartArena) -> Rounds:
    """Rounds of a race, each on a table of its own."""
    return arena.new_round


@pytest.fixture
def backstop(arena: CartArena, monkeypatch: pytest.MonkeyPatch) -> ReservationService:
    return arena.wire_stream_function(monkeypatch)


@pytest.fixture
def racing_arena(racing: ReservationService, local_table: str, clock: ManualClock) -> CartArena:
    """A cart arena on ``racing``'s engine: plainly, and through the contention proxy."""
    return CartArena(racing._store.client, local_table, clock, racing._retry)
