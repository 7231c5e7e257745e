"""Run one :class:`Scenario` and say what came of it."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from .buckets import Buckets
from .parameters import Quantities, Scenario
from .reserve import Reserve, Tally
from .table import Answer, SimulatedTable, percentile

# A closed-loop client whose reserve failed waits this long before the next, as the
# benchmark's load threads do (bench/load.py).
CLIENT_PAUSE_AFTER_ERROR = 0.01


@dataclass(frozen=True, slots=True)
class Result:
    scenario: Scenario
    tally: Tally
    answers: dict[Answer, int]
    oversold: int
    conserved: bool
    left: int | None  # units left at the end (None: unlimited stock)
    finished: float  # simulated seconds until the last request was answered

    @property
    def window(self) -> float:
        return self.scenario.duration

    @property
    def rate(self) -> float:
        """Granted holds a second: grants made in the window."""
        return self.tally.committed_in_window / self.window

    @property
    def attempts(self) -> int:
        return sum(self.answers.values())

    def share(self, answer: Answer) -> float:
        return self.answers.get(answer, 0) / self.attempts if self.attempts else 0.0

    @property
    def conflict_rate(self) -> float:
        return self.share(Answer.CONFLICT)

    @property
    def throttle_rate(self) -> float:
        return self.share(Answer.THROTTLED)

    @property
    def granted_share(self) -> float:
        return self.tally.granted / self.tally.arrived if self.tally.arrived else 1.0

    def latency(self, q: float) -> float:
        return percentile(self.tally.latencies, q)

    @property
    def p99(self) -> float:
        return self.latency(0.99)


class _Quantity:
    def __init__(self, quantities: Quantities) -> None:
        self._cumulative = list(itertools.accumulate(quantities.weights))

    def draw(self, rng: random.Random) -> int:
        point = rng.random() * self._cumulative[-1]
        return min(bisect.bisect_right(self._cumulative, point), len(self._cumulative) - 1) + 1


def simulate(scenario: Scenario) -> Result:
    rng = random.Random(scenario.seed)
    env = simpy.Environment()
    table = SimulatedTable(env, scenario, rng)
    buckets = Buckets(scenario.buckets, scenario.stock)
    tally = Tally()
    start, end = scenario.warm_up, scenario.warm_up + scenario.duration
    reserve = Reserve(env, table, buckets, scenario.retry, rng, tally, (start, end))
    quantity = _Quantity(scenario.quantities)

    def open_loop() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(scenario.arrivals_per_second))
            if env.now >= end:
                return
            env.process(reserve(quantity.draw(rng), counted=env.now >= start))

    def closed_loop() -> Generator[simpy.Event, Any, None]:
        while env.now < end:
            granted = yield from reserve(quantity.draw(rng), counted=env.now >= start)
            if not granted and buckets.total > 0:
                yield env.timeout(CLIENT_PAUSE_AFTER_ERROR)
            if buckets.total == 0:
                return

    if scenario.clients is None:
        env.process(open_loop())
    else:
        for _ in range(scenario.clients):
            env.process(closed_loop())
    env.run()
    return Result(
        scenario,
        tally,
        dict(table.answers),
        buckets.oversold,
        buckets.conserved,
        None if scenario.stock is None else buckets.total,
        env.now,
    )
