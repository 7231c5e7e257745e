"""Many clients at once on DynamoDB Local, plainly and through the contention-faithful
proxy (``racing``): no oversell, no lost or doubled hold."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from reservations.commands import ReserveRequest
from reservations.errors import Contention, InsufficientStock
from reservations.http.models import CreateReservationRequest
from reservations.records import Status
from reservations.service import ReservationService
from tests.support.invariants import check_invariants

T = TypeVar("T")
CLIENTS = 32


def race(tasks: list[Callable[[], T]], workers: int = CLIENTS) -> list[T | Exception]:
    def run(task: Callable[[], T]) -> T | Exception:
        try:
            return task()
        except Exception as error:  # collected and asserted on by the caller
            return error

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, tasks))


def one(items: list[tuple[str, int]], **extra: Any) -> ReserveRequest:
    return CreateReservationRequest.model_validate(
        {"items": [{"sku": sku, "location": "WH1", "quantity": q} for sku, q in items], **extra}
    ).to_command()


def through_the_proxy(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params.get("racing") == "faithful")


def unexpected(results: list[Any], request: pytest.FixtureRequest) -> list[Exception]:
    """Errors no client should see. Through the proxy a client may also give up under
    conflicts (CONTENTION, a 503 to retry), as on a hot item in AWS; never plainly."""
    allowed: tuple[type[Exception], ...] = (InsufficientStock,)
    if through_the_proxy(request):
        allowed += (Contention,)
    return [r for r in results if isinstance(r, Exception) and not isinstance(r, allowed)]


def test_clients_race_for_the_last_units(
    racing: ReservationService, local_client: Any, local_table: str, request: Any
) -> None:
    racing.set_on_hand("HOT", "WH1", 10)
    results = race([lambda: racing.reserve(one([("HOT", 1)]), "default")] * (CLIENTS * 2))
    assert unexpected(results, request) == []
    granted = [r for r in results if not isinstance(r, Exception)]
    rejected = [r for r in results if isinstance(r, InsufficientStock)]
    gave_up = [r for r in results if isinstance(r, Contention)]
    assert len(granted) + len(rejected) + len(gave_up) == CLIENTS * 2
    # Never oversold, and none refused while stock remained (holds are never given back
    # here, so a refusal means all 10 were taken).
    assert len(granted) <= 10 and (not rejected or len(granted) == 10)
    if not through_the_proxy(request):
        assert len(granted) == 10
    held = check_invariants(local_client, local_table).held
    assert held.get(("HOT", "WH1"), 0) == len(granted)
    level = racing.inventory("HOT").locations[0]
    assert (level.on_hand, level.reserved) == (10, len(granted))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_overlapping_carts_with_cancels(
    racing: ReservationService, local_client: Any, local_table: str, seed: int, request: Any
) -> None:
    rng = random.Random(seed)
    skus = ["A", "B", "C", "D"]
    for sku in skus:
        racing.set_on_hand(sku, "WH1", 15)
    carts = [
        [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(2, 3))]
        for _ in range(CLIENTS * 2)
    ]
    results = race([lambda cart=cart: racing.reserve(one(cart), "default") for cart in carts])
    assert unexpected(results, request) == []
    granted = [r.reservation for r in results if not isinstance(r, Exception)]
    # Cancel half of the granted holds while new carts race for what they free.
    to_cancel = granted[::2]
    more = [lambda cart=cart: racing.reserve(one(cart), "default") for cart in carts[:CLIENTS]]
    cancels = [lambda r=r: racing.cancel(r.id) for r in to_cancel]
    mixed = race(more + cancels)
    assert unexpected(mixed, request) == []
    held = check_invariants(local_client, local_table).held
    for sku in skus:
        assert held.get((sku, "WH1"), 0) <= 15, sku
    cancelled = mixed[len(more) :]
    for reservation, outcome in zip(to_cancel, cancelled, strict=True):
        if not isinstance(outcome, Contention):  # a cancel that gave up changed nothing
            assert racing.get(reservation.id).status is Status.CANCELLED


def test_the_same_checkout_id_from_many_clients_holds_once(
    racing: ReservationService, local_client: Any, local_table: str, request: Any
) -> None:
    racing.set_on_hand("HOT", "WH1", 100)
    same = one([("HOT", 3)], id="checkout-42")
    results = race([lambda: racing.reserve(same, "default") for _ in range(CLIENTS)])
    assert unexpected(results, request) == []
    outcomes = [r for r in results if not isinstance(r, Exception)]
    if not through_the_proxy(request):
        assert len(outcomes) == CLIENTS
    assert sum(1 for r in outcomes if r.created) == 1
    assert {r.reservation.id for r in outcomes} == {"checkout-42"}
    assert check_invariants(local_client, local_table).held[("HOT", "WH1")] == 3


# The first cancel to write ends the hold; the others mostly read it ended and write
# nothing, so whether two transactions overlap is up to the scheduler.
@pytest.mark.may_not_conflict
def test_concurrent_cancels_release_once(
    racing: ReservationService, local_client: Any, local_table: str, request: Any
) -> None:
    racing.set_on_hand("HOT", "WH1", 10)
    reservation = racing.reserve(one([("HOT", 4)]), "default").reservation
    results = race([lambda: racing.cancel(reservation.id) for _ in range(CLIENTS)])
    assert unexpected(results, request) == []
    assert all(r.status is Status.CANCELLED for r in results if not isinstance(r, Exception))
    check_invariants(local_client, local_table)
    level = racing.inventory("HOT").locations[0]
    assert (level.reserved, level.available) == (0, 10)


def test_stock_sets_racing_with_reserves_keep_available_exact(
    racing: ReservationService, local_client: Any, local_table: str, request: Any
) -> None:
    racing.set_on_hand("HOT", "WH1", 50)
    reserves = [lambda: racing.reserve(one([("HOT", 1)]), "default") for _ in range(CLIENTS)]
    sets = [lambda n=n: racing.set_on_hand("HOT", "WH1", n) for n in range(40, 40 + CLIENTS)]
    mixed = race([task for pair in zip(reserves, sets, strict=True) for task in pair])
    assert unexpected(mixed, request) == []
    check_invariants(local_client, local_table)
