"""Many clients at once on DynamoDB Local: no oversell, no lost or doubled hold."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from reservations.commands import ReserveRequest
from reservations.errors import InsufficientStock
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


def request(items: list[tuple[str, int]], **extra: Any) -> ReserveRequest:
    return CreateReservationRequest.model_validate(
        {"items": [{"sku": sku, "location": "WH1", "quantity": q} for sku, q in items], **extra}
    ).to_command()


def unexpected(results: list[Any]) -> list[Exception]:
    return [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientStock)]


def test_clients_race_for_the_last_units(
    service: ReservationService, local_client: Any, local_table: str
) -> None:
    service.set_on_hand("HOT", "WH1", 10)
    results = race([lambda: service.reserve(request([("HOT", 1)]), "default")] * (CLIENTS * 2))
    assert unexpected(results) == []
    granted = [r for r in results if not isinstance(r, Exception)]
    rejected = [r for r in results if isinstance(r, InsufficientStock)]
    assert len(granted) == 10
    assert len(rejected) == CLIENTS * 2 - 10
    held = check_invariants(local_client, local_table).held
    assert held[("HOT", "WH1")] == 10
    level = service.inventory("HOT").locations[0]
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_overlapping_carts_with_cancels(
    service: ReservationService, local_client: Any, local_table: str, seed: int
) -> None:
    rng = random.Random(seed)
    skus = ["A", "B", "C", "D"]
    for sku in skus:
        service.set_on_hand(sku, "WH1", 15)
    carts = [
        [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(2, 3))]
        for _ in range(CLIENTS * 2)
    ]
    results = race([lambda cart=cart: service.reserve(request(cart), "default") for cart in carts])
    assert unexpected(results) == []
    granted = [r.reservation for r in results if not isinstance(r, Exception)]
    # Cancel half of the granted holds while new carts race for what they free.
    to_cancel = granted[::2]
    more = [lambda cart=cart: service.reserve(request(cart), "default") for cart in carts[:CLIENTS]]
    cancels = [lambda r=r: service.cancel(r.id) for r in to_cancel]
    mixed = race(more + cancels)
    assert unexpected(mixed) == []
    held = check_invariants(local_client, local_table).held
    for sku in skus:
        assert held.get((sku, "WH1"), 0) <= 15, sku
    for reservation in to_cancel:
        assert service.get(reservation.id).status is Status.CANCELLED


def test_the_same_checkout_id_from_many_clients_holds_once(
    service: ReservationService, local_client: Any, local_table: str
) -> None:
    service.set_on_hand("HOT", "WH1", 100)
    same = request([("HOT", 3)], id="checkout-42")
    results = race([lambda: service.reserve(same, "default") for _ in range(CLIENTS)])
    assert unexpected(results) == []
    outcomes = [r for r in results if not isinstance(r, Exception)]
    assert len(outcomes) == CLIENTS
    assert sum(1 for r in outcomes if r.created) == 1
    assert {r.reservation.id for r in outcomes} == {"checkout-42"}
    assert check_invariants(local_client, local_table).held[("HOT", "WH1")] == 3


def test_concurrent_cancels_release_once(
    service: ReservationService, local_client: Any, local_table: str
) -> None:
    service.set_on_hand("HOT", "WH1", 10)
    reservation = service.reserve(request([("HOT", 4)]), "default").reservation
    results = race([lambda: service.cancel(reservation.id) for _ in range(CLIENTS)])
    assert [r for r in results if isinstance(r, Exception)] == []
    assert all(r.status is Status.CANCELLED for r in results if not isinstance(r, Exception))
    check_invariants(local_client, local_table)
    level = service.inventory("HOT").locations[0]
    assert (level.reserved, level.available) == (0, 10)


def test_stock_sets_racing_with_reserves_keep_available_exact(
    service: ReservationService, local_client: Any, local_table: str
) -> None:
    service.set_on_hand("HOT", "WH1", 50)
    reserves = [lambda: service.reserve(request([("HOT", 1)]), "default") for _ in range(CLIENTS)]
    sets = [lambda n=n: service.set_on_hand("HOT", "WH1", n) for n in range(40, 40 + CLIENTS)]
    mixed = race([task for pair in zip(reserves, sets, strict=True) for task in pair])
    assert unexpected(mixed) == []
    check_invariants(local_client, local_table)
