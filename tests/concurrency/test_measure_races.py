"""Measure writes, ERP adjustments and reserves racing on one stock record under the supply
formula ``onHand + inbound - outbound - safetyStock``, on DynamoDB Local, plainly and
through the contention-faithful proxy (``racing``): no update of a measure or of
``reserved`` is lost, no reserve is granted past ``available``, and the drift check
(``available == formula(measures) - reserved``, ``reserved`` = what live holds hold) is
clean after each race. The first two races run on a record split into buckets too (issue
17): writes then spread what they add over the buckets and gather what they take.

Every writer is an execution environment of its own (its own ``Store``, so its own
remembered view of the record, as separate Lambda environments have): an absolute write
from a view another environment has made stale is refused once and computed again from the
refusal's old image (docs/architecture.md, "Supply measures").
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from typing import Any, Generic, TypeVar

import pytest

from reservations.clock import ManualClock
from reservations.config import Settings
from reservations.erp import Effect, ErpService, Outcome
from reservations.erp_messages import StockAdjust, StockSet
from reservations.errors import InsufficientStock
from reservations.http.models import CreateReservationRequest
from reservations.records import StockLevel
from reservations.service import ReservationService, ReserveResult
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from reservations.supply import STANDARD_MEASURES, parse
from tests.support.invariants import check_invariants
from tests.support.race import persist, race

T = TypeVar("T")
FORMULA = parse("onHand + inbound - outbound - safetyStock")
LOCATION = "WH1"


# --- the deployment and its environments --------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """The racing engine (DynamoDB Local, or the proxy in front of it), the table, and what
    every new execution environment is built with."""

    client: Any
    table: str
    now: float
    retry: RetryPolicy

    def _settings(self) -> Settings:
        return Settings(table_name=self.table, supply_formula=FORMULA)

    def _store(self) -> Store:
        return Store(self.client, self.table, formula=FORMULA)

    def environment(self) -> ReservationService:
        """A new environment of the API: it has seen no stock record yet."""
        return ReservationService(
            self._store(), ManualClock(self.now), self._settings(), self.retry
        )

    def erp(self) -> ErpService:
        """A new environment of the ERP function."""
        return ErpService(self._store(), ManualClock(self.now), self._settings(), self.retry)

    def check(self) -> dict[tuple[str, str], int]:
        """The drift check under the formula; what live holds hold, per record."""
        return check_invariants(self.client, self.table, FORMULA).held


@pytest.fixture
def deployment(racing: ReservationService, local_table: str, clock: ManualClock) -> Deployment:
    # ``racing`` is on the default formula: only its engine (plain or through the proxy, whose
    # conflicts it asserts) and its retries are used here, by environments of their own.
    return Deployment(racing._store.client, local_table, clock.now(), racing._retry)


# --- what the racers send ------------------------------------------------------------------


def cart(sku: str, quantity: int, reservation_id: str) -> Any:
    return CreateReservationRequest.model_validate(
        {"id": reservation_id, "items": [{"sku": sku, "location": LOCATION, "quantity": quantity}]}
    ).to_command()


def adjust(adjustment_id: str, sku: str, measure: str, delta: int) -> StockAdjust:
    return StockAdjust.model_validate(
        {"type": "stock.adjust", "schemaVersion": 1, "adjustmentId": adjustment_id,
         "sku": sku, "location": LOCATION, "measure": measure, "delta": delta}
    )  # fmt: skip


def snapshot(sku: str, measure: str, value: int, sequence: int) -> StockSet:
    return StockSet.model_validate(
        {"type": "stock.set", "schemaVersion": 1, "sku": sku, "location": LOCATION,
         "measure": measure, "value": value, "sequence": sequence}
    )  # fmt: skip


def deliver(erp: ErpService, message: StockAdjust | StockSet) -> Callable[[], Outcome]:
    return lambda: persist(lambda: erp.apply(message), message)


def shopper(
    environment: ReservationService, sku: str, quantity: int, reservation_id: str
) -> Callable[[], ReserveResult]:
    """A reserve with its own id: a retry after CONTENTION answers the same hold, so whether
    it was granted is never in doubt."""
    request = cart(sku, quantity, reservation_id)
    return lambda: persist(lambda: environment.reserve(request, "web"), reservation_id)


@dataclass(frozen=True)
class Timed(Generic[T]):
    """A task's outcome and when it ran: what ended before another started took effect
    before it, and what took effect while it ran started before it ended."""

    started: float
    ended: float
    result: T | Exception


def timed(task: Callable[[], T]) -> Callable[[], Timed[T]]:
    def run() -> Timed[T]:
        started = time.monotonic()
        try:
            result: T | Exception = task()
        except Exception as error:  # asserted on by the caller
            result = error
        return Timed(started, time.monotonic(), result)

    return run


class Baton:
    """Turns taken in order by several environments, so the last value of a measure they
    write is known while each writes from a view the others have made stale."""

    def __init__(self) -> None:
        self._turn = 0
        self._moved = threading.Condition()

    def take(self, turn: int, write: Callable[[], T]) -> T:
        with self._moved:
            if not self._moved.wait_for(lambda: self._turn == turn, timeout=60):
                raise AssertionError(f"turn {turn} never came")
        try:
            return write()
        finally:
            with self._moved:
                self._turn += 1
                self._moved.notify_all()


def level(deployment: Deployment, sku: str) -> StockLevel:
    return deployment.environment().stock_level(sku, LOCATION)


def measures(stock: StockLevel) -> dict[str, int]:
    return {name: stock.measure(name) or 0 for name in STANDARD_MEASURES}


def failures(results: list[Any], allowed: tuple[type[Exception], ...] = ()) -> list[Exception]:
    return [r for r in results if isinstance(r, Exception) and not isinstance(r, allowed)]


def subset_sums(deltas: list[int]) -> Iterator[int]:
    for size in range(len(deltas) + 1):
        for chosen in combinations(deltas, size):
            yield sum(chosen)


# --- 1. every measure is exactly what was written to it ------------------------------------

ADJUSTED = ("onHand", "inbound", "safetyStock")
OWNERS = 4  # environments writing outbound absolutely, in turns


@pytest.mark.parametrize("shards", [1, 8], ids=["record", "8 buckets"])
def test_adjustments_absolute_writes_reserves_and_cancels_lose_no_update(
    deployment: Deployment, shards: int
) -> None:
    sku = "M1"
    rng = random.Random(11)
    start = {"onHand": 500, "inbound": 10, "outbound": 0, "safetyStock": 5}
    setup = deployment.environment()
    setup.set_measures(sku, LOCATION, start)
    setup.sharding.reshard(sku, LOCATION, shards)  # 8: writes spread and gather (issue 17)
    placed = [setup.reserve(cart(sku, 2, f"placed-{n}"), "web").reservation.id for n in range(6)]
    messages = [
        adjust(f"adj-{n}", sku, rng.choice(ADJUSTED), rng.choice([-3, -2, -1, 1, 2, 4]))
        for n in range(18)
    ]
    deliveries = [deliver(deployment.erp(), m) for m in messages for _ in range(2)]  # SQS: twice
    outbound = [rng.randint(0, 30) for _ in range(3 * OWNERS)]
    baton = Baton()

    def owner(environment: ReservationService, turns: range) -> list[StockLevel]:
        def write(value: int) -> StockLevel:
            return environment.set_measures(sku, LOCATION, {"outbound": value})

        return [
            baton.take(turn, partial(persist, partial(write, outbound[turn]), f"turn {turn}"))
            for turn in turns
        ]

    owners = [
        partial(owner, deployment.environment(), range(first, len(outbound), OWNERS))
        for first in range(OWNERS)
    ]
    quantities = [rng.randint(1, 3) for _ in range(16)]
    shoppers = [
        shopper(deployment.environment(), sku, q, f"shopper-{n}") for n, q in enumerate(quantities)
    ]
    cancelled = placed[::2]
    cancels = [
        partial(persist, partial(deployment.environment().cancel, rid), rid) for rid in cancelled
    ]
    tasks: list[Callable[[], Any]] = [*deliveries, *owners, *shoppers, *cancels]
    rng.shuffle(tasks)

    results = race(*tasks)

    assert failures(results) == []
    outcomes = [r for r in results if isinstance(r, Outcome)]
    assert len(outcomes) == 2 * len(messages)
    # Each adjustment took effect once; its other delivery was recognised as a duplicate.
    effects = Counter(o.effect for o in outcomes)
    assert effects == {Effect.APPLIED: len(messages), Effect.DUPLICATE: len(messages)}
    granted = [r for r in results if isinstance(r, ReserveResult)]
    assert sorted(r.reservation.id for r in granted) == sorted(
        f"shopper-{n}" for n in range(len(quantities))
    )

    expected = dict(start)
    for message in messages:
        expected[message.measure] += message.delta
    expected["outbound"] = outbound[-1]
    reserved = sum(quantities) + 2 * (len(placed) - len(cancelled))
    stock = level(deployment, sku)
    assert stock.shards == shards
    assert measures(stock) == expected
    assert stock.reserved == reserved
    assert stock.available == FORMULA.supply(expected) - reserved
    assert deployment.check()[(sku, LOCATION)] == reserved


# --- 2. scarce stock while safety stock rises: never oversold ------------------------------

SHOPPERS = 32
RAISES = 8  # ERP adjustments of safetyStock by +1, each taking one unit of supply
SUPPLY = 20 - 5  # onHand 20, safetyStock 5


@pytest.mark.parametrize(
    ("seed", "shards"), [(1, 1), (2, 1), (1, 4)], ids=["1-record", "2-record", "1-4 buckets"]
)
def test_scarce_stock_is_never_oversold_while_safety_stock_rises(
    deployment: Deployment, seed: int, shards: int
) -> None:
    sku = "M2"
    rng = random.Random(seed)
    setup = deployment.environment()
    setup.set_measures(sku, LOCATION, {"onHand": 20, "safetyStock": 5})
    setup.sharding.reshard(sku, LOCATION, shards)  # 4: raises gather units from buckets
    raises = [
        timed(deliver(deployment.erp(), adjust(f"safety-{n}", sku, "safetyStock", 1)))
        for n in range(RAISES)
    ]
    shoppers = [
        timed(shopper(deployment.environment(), sku, 1, f"shopper-{n}")) for n in range(SHOPPERS)
    ]
    tasks = [*raises, *shoppers]
    rng.shuffle(tasks)

    results: list[Timed[Any]] = race(*tasks)

    adjusted = [t for t in results if isinstance(t.result, Outcome)]
    granted = [t for t in results if isinstance(t.result, ReserveResult)]
    refused = [t for t in results if isinstance(t.result, InsufficientStock)]
    assert failures([t.result for t in results], (InsufficientStock,)) == []
    effects = [t.result.effect for t in results if isinstance(t.result, Outcome)]
    assert effects == [Effect.APPLIED] * RAISES
    assert len(granted) + len(refused) == SHOPPERS

    # Nothing oversold: reserves only ever took what was available; the raises took the
    # rest, down past zero if they came last, as a rise of safety stock may.
    assert len(granted) <= SUPPLY and refused  # 32 shoppers for at most 15 units
    stock = level(deployment, sku)
    assert stock.shards == shards
    assert measures(stock) == {"onHand": 20, "inbound": 0, "outbound": 0, "safetyStock": 13}
    assert stock.reserved == len(granted)
    assert stock.available == SUPPLY - RAISES - len(granted)
    assert deployment.check()[(sku, LOCATION)] == len(granted)

    # Linearizability, from what the clocks prove: a grant found a unit left after all that
    # had ended before it started; a refusal found none, so what had started before it
    # ended (raises and grants) took all 15.
    def ended_before(moment: float) -> int:
        return sum(1 for t in [*adjusted, *granted] if t.ended < moment)

    def started_before(moment: float) -> int:
        return sum(1 for t in [*adjusted, *granted] if t.started < moment)

    for grant in granted:
        assert SUPPLY - ended_before(grant.started) >= 1, grant
    for refusal in refused:
        assert started_before(refusal.ended) >= SUPPLY, refusal
    assert len(granted) >= SUPPLY - RAISES  # a refusal came only once the 15 were gone


# --- 3. the same measure from many environments at once -------------------------------------

WRITERS = 6  # environments writing safetyStock absolutely at once, 3 times each
SNAPSHOTS = 10  # the ERP's stock.set of inbound, sequences 1..10, in any order


@pytest.mark.parametrize("seed", [1, 2])
def test_one_measure_written_at_once_from_many_environments_keeps_available_exact(
    deployment: Deployment, seed: int
) -> None:
    sku = "M3"
    rng = random.Random(seed)
    start = {"onHand": 40, "inbound": 0, "outbound": 0, "safetyStock": 0}
    deployment.environment().set_measures(sku, LOCATION, start)
    written = [[rng.randint(0, 12) for _ in range(3)] for _ in range(WRITERS)]

    def writer(environment: ReservationService, values: list[int]) -> list[StockLevel]:
        def write(value: int) -> StockLevel:
            return environment.set_measures(sku, LOCATION, {"safetyStock": value})

        return [persist(partial(write, value), f"safetyStock {value}") for value in values]

    writers = [partial(writer, deployment.environment(), values) for values in written]
    # Relative changes of the same measure (and of onHand) between the absolute ones.
    messages = [
        adjust(f"adj-{n}", sku, rng.choice(["safetyStock", "onHand"]), rng.choice([-2, -1, 2, 3]))
        for n in range(8)
    ]
    inbound = {sequence: rng.randint(0, 20) for sequence in range(1, SNAPSHOTS + 1)}
    snapshots = [snapshot(sku, "inbound", value, seq) for seq, value in inbound.items()]
    sent: list[StockAdjust | StockSet] = [*messages, *snapshots]
    erp_tasks = [deliver(deployment.erp(), m) for m in sent]
    shoppers = [
        shopper(deployment.environment(), sku, rng.randint(1, 3), f"shopper-{n}") for n in range(24)
    ]
    tasks: list[Callable[[], Any]] = [*writers, *erp_tasks, *shoppers]
    rng.shuffle(tasks)

    results = race(*tasks)

    assert failures(results, (InsufficientStock,)) == []
    outcome_of = {id(task): result for task, result in zip(tasks, results, strict=True)}
    stale = 0
    for message, task in zip(sent, erp_tasks, strict=True):
        effect = outcome_of[id(task)].effect
        if isinstance(message, StockSet) and message.sequence < SNAPSHOTS:
            assert effect in (Effect.APPLIED, Effect.STALE), message
            stale += effect is Effect.STALE
        else:  # every adjustment, and the newest snapshot whatever came before it
            assert effect is Effect.APPLIED, message
    assert stale, "every snapshot came in order: the snapshots did not race"
    granted = [r for r in results if isinstance(r, ReserveResult)]
    reserved = sum(line.quantity for r in granted for line in r.reservation.lines)

    stock = level(deployment, sku)
    found = measures(stock)
    assert found["onHand"] == 40 + sum(m.delta for m in messages if m.measure == "onHand")
    assert found["inbound"] == inbound[SNAPSHOTS]  # the newest snapshot, never rolled back
    assert found["outbound"] == 0
    # The last absolute write, moved by the adjustments that came after it.
    safety = [m.delta for m in messages if m.measure == "safetyStock"]
    assert found["safetyStock"] in {
        value + moved for values in written for value in values for moved in subset_sums(safety)
    }
    assert stock.reserved == reserved
    assert stock.available == FORMULA.supply(found) - reserved  # no delta lost
    assert deployment.check()[(sku, LOCATION)] == reserved
