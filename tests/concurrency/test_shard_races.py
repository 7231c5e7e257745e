"""64 clients, each an environment of its own, on one sharded sku with scarce stock, on
DynamoDB Local, plainly and through the contention-faithful proxy (issue 17 part 2;
docs/architecture.md, "Sharded stock"):
exactly the stock is granted, no line is refused while stock remains, and the drift check,
which sums the buckets, is clean; reshards during a race neither lose nor make a unit."""

from __future__ import annotations

import contextlib
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reservations.clock import ManualClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.errors import Contention, InsufficientStock
from reservations.service import ReservationService
from reservations.store import Store
from tests.conftest import make_service
from tests.support.invariants import check_invariants

CLIENTS = 64
BUCKETS = 16
STOCK = 150  # about two holds a client, and some clients' last units in a few buckets
MAX_TRIES = 40  # a client's reserves, granted or given up for contention
RESHARD_RACERS = 24  # clients reserving and cancelling while a thread reshards


def test_sixty_four_clients_get_exactly_the_stock_of_a_sharded_sku(
    racing: ReservationService, local_client: Any, local_table: str, clock: ManualClock
) -> None:
    racing.set_on_hand("HOT", "WH1", STOCK)
    Store(local_client, local_table).shards.reshard("HOT", "WH1", BUCKETS, int(clock.now()))
    # Each client an execution environment of its own, as concurrent requests are in
    # Lambda: its own view of the buckets and its own bucket to start from.
    engine, retry = racing._store.client, racing._retry
    environments = [make_service(engine, local_table, clock, retry) for _ in range(CLIENTS)]

    def client(number: int) -> tuple[int, list[tuple[int, int]], int]:
        granted, gave_up = 0, 0
        environment = environments[number]
        for attempt in range(MAX_TRIES):
            line = ReserveLine("HOT", "WH1", 1 + (number + attempt) % 2)
            request = ReserveRequest((line,), id=f"c{number}-{attempt}")
            try:
                environment.reserve(request, "web")
            except InsufficientStock as refused:
                # Refused: the total as one serializable read saw it did not cover the line.
                seen = [(item.requested, item.available) for item in refused.items]
                return granted, seen, gave_up
            except Contention:
                gave_up += 1
                continue
            granted += line.quantity
        return granted, [], gave_up

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    assert sum(granted for granted, _, _ in results) == STOCK
    # Every client stopped at a refusal, so none ran out of tries on CONTENTION (a 503 it
    # retried) while stock remained; and each refusal saw too little for its line.
    gave_up = sum(count for _, _, count in results)
    assert all(seen for _, seen, _ in results), f"{gave_up} give-ups"
    refusals = [refusal for _, seen, _ in results for refusal in seen]
    assert all(available < requested for requested, available in refusals)
    level = racing.stock_level("HOT", "WH1")
    assert (level.reserved, level.available, level.shards) == (STOCK, 0, BUCKETS)
    report = check_invariants(local_client, local_table)
    assert report.held[("HOT", "WH1")] == STOCK


def test_reshards_during_a_race_neither_lose_nor_make_a_unit(
    racing: ReservationService, local_client: Any, local_table: str
) -> None:
    racing.set_on_hand("HOT", "WH1", STOCK)
    racing.sharding.reshard("HOT", "WH1", 8)
    stop, resharded = threading.Event(), threading.Event()

    def resharder() -> int:
        done = 0
        for count in itertools.cycle([16, 4, 1, 32, 8]):
            if stop.is_set():
                return done
            try:
                racing.sharding.reshard("HOT", "WH1", count)
                done += 1
                resharded.set()
            except Contention:
                continue  # outrun by reserves: the next count
        return done

    def client(number: int) -> list[str]:
        kept: list[str] = []
        for attempt in range(10):
            if attempt == 5:  # halfway, at least one reshard has landed among the holds
                resharded.wait(timeout=60)
            request = ReserveRequest((ReserveLine("HOT", "WH1", 1),), id=f"m{number}-{attempt}")
            with contextlib.suppress(InsufficientStock, Contention):
                kept.append(racing.reserve(request, "web").reservation.id)
            if len(kept) > 1 and attempt % 3 == 2:  # gives back to a bucket that may be closed
                cancel(kept.pop(0))
        return kept

    def cancel(reservation_id: str) -> None:
        for _ in range(MAX_TRIES):
            with contextlib.suppress(Contention):
                racing.cancel(reservation_id)
                return
        raise AssertionError(f"{reservation_id} could not be cancelled")

    with ThreadPoolExecutor(max_workers=RESHARD_RACERS + 1) as pool:
        reshards = pool.submit(resharder)
        try:
            kept = list(pool.map(client, range(RESHARD_RACERS)))
        finally:
            stop.set()
    assert reshards.result() >= 1
    holding = sum(len(held) for held in kept)
    level = racing.stock_level("HOT", "WH1")
    assert (level.reserved, level.available) == (holding, STOCK - holding)
    report = check_invariants(local_client, local_table)
    assert report.held[("HOT", "WH1")] == holding
