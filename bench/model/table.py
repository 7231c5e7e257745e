"""DynamoDB on simulated time: each ``TransactWriteItems`` attempt is judged by the very
rules the contention proxy enforces (``local.contention.rules``, on SimPy's clock), and
takes the time :mod:`bench.model.parameters` says an attempt takes in AWS or here."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Generator
from enum import Enum
from typing import Any

import simpy

from local.contention.requests import Access, ItemRef, Kind, Operation, write_units
from local.contention.rules import Outcome, Refusal, Rules

from .parameters import AwsTiming, LocalTiming, Scenario

TABLE = "reservations"
STOCK_ITEM_UNITS = write_units(None, transactional=True)  # an Update, counted as 1 KB

Process = Generator[simpy.Event, Any, "Answer"]


class Answer(Enum):
    COMMITTED = "committed"
    CONFLICT = "TransactionConflict"
    THROTTLED = "throttled"
    SHORT = "ConditionalCheckFailed"  # the condition on a bucket's available failed


def bucket_item(bucket: int) -> ItemRef:
    """Each bucket on its own partition key, as part 2 of the issue requires."""
    return ItemRef(TABLE, f"S:STOCK#HOT#WH1#{bucket}", "S:STOCK")


class SimulatedTable:
    """Judges and times transaction attempts; counts their answers."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, rng: random.Random) -> None:
        self.env = env
        self.rules = Rules(scenario.limits, clock=lambda: env.now)
        self.timing = scenario.timing
        self.rng = rng
        self.answers: Counter[Answer] = Counter()
        self.counting_from = scenario.warm_up
        self._ids = itertools.count()
        # This machine: the benchmark's interpreter and DynamoDB Local each do one thing
        # at a time, so both are servers with a queue.
        self._python = simpy.Resource(env, capacity=1)
        self._engine = simpy.Resource(env, capacity=1)

    # --- what a request touches ----------------------------------------------------------

    def reserve_operation(self, bucket: int) -> Operation:
        """The reserve's header, its hold line and one stock bucket. Header and line are
        new items on partition keys of their own that never near the limit, so they are
        not metered (metering them would only grow the rules' table of partitions)."""
        n = next(self._ids)
        accesses = (
            Access(ItemRef(TABLE, f"S:RES#{n}", "S:HEADER"), 0),
            Access(bucket_item(bucket), STOCK_ITEM_UNITS),
            Access(ItemRef(TABLE, f"S:RES#{n}", "S:LINE#0"), 0),
        )
        return Operation("TransactWriteItems", Kind.TRANSACTION, accesses)

    @staticmethod
    def move_operation(buckets: tuple[int, ...]) -> Operation:
        """A rebalance: every bucket it moves units between, each conditioned and updated."""
        accesses = tuple(Access(bucket_item(b), STOCK_ITEM_UNITS) for b in buckets)
        return Operation("TransactWriteItems", Kind.TRANSACTION, accesses)

    # --- one reserve, one attempt ---------------------------------------------------------

    def service_work(self) -> Generator[simpy.Event, Any, None]:
        """The service's own work on a reserve, outside its requests: here, CPU under the
        interpreter lock; in AWS, a Lambda's own, which waits on nobody (left out)."""
        if isinstance(self.timing, LocalTiming):
            yield from self._serve(self._python, self.timing.reserve_seconds)

    def transact(self, operation: Operation, commit: Callable[[], bool]) -> Process:
        """One attempt. ``commit`` checks the conditions and applies the writes at the end
        of the ongoing window, atomically (nothing else runs between); False: a condition
        failed and nothing was written."""
        if isinstance(self.timing, AwsTiming):
            answer = yield from self._in_aws(self.timing, operation, commit)
        else:
            answer = yield from self._on_this_machine(self.timing, operation, commit)
        if self.env.now >= self.counting_from:
            self.answers[answer] += 1
        return answer

    def _in_aws(
        self, timing: AwsTiming, operation: Operation, commit: Callable[[], bool]
    ) -> Process:
        total = timing.latency.sample(self.rng)
        ongoing = total * timing.ongoing_fraction
        edge = (total - ongoing) / 2  # to the items' storage nodes, and back
        yield self.env.timeout(edge)
        verdict = self.rules.admit(operation)
        if isinstance(verdict, Refusal):
            yield self.env.timeout(edge)  # refused at the prepare: only the way back
            return _refused(verdict)
        yield self.env.timeout(ongoing)
        applied = commit()
        self.rules.release(verdict)
        yield self.env.timeout(edge)
        return Answer.COMMITTED if applied else Answer.SHORT

    def _on_this_machine(
        self, timing: LocalTiming, operation: Operation, commit: Callable[[], bool]
    ) -> Process:
        before = timing.refused_seconds / 2  # botocore builds it, the proxy parses it
        yield from self._serve(self._python, before)
        verdict = self.rules.admit(operation)
        if isinstance(verdict, Refusal):
            yield from self._serve(self._python, before)  # the refusal, and its parsing
            return _refused(verdict)
        pause = timing.proxy_latency.sample(self.rng)
        if pause > 0:
            yield self.env.timeout(pause)
        sigma = timing.engine_shape
        engine = timing.engine_seconds * self.rng.lognormvariate(-(sigma**2) / 2, sigma)
        yield from self._serve(self._engine, engine)
        applied = commit()
        after = max(0.0, timing.attempt_seconds - before) / 2
        # The proxy's thread needs the interpreter again to read the engine's answer
        # before it lets go of the items: waiting for it keeps them ongoing.
        yield from self._serve(self._python, after)
        self.rules.release(verdict)
        yield from self._serve(self._python, after)  # botocore parses the answer
        return Answer.COMMITTED if applied else Answer.SHORT

    def _serve(self, server: simpy.Resource, seconds: float) -> Generator[simpy.Event, Any, None]:
        with server.request() as turn:
            yield turn
            yield self.env.timeout(max(0.0, seconds))


def _refused(verdict: Refusal) -> Answer:
    return Answer.THROTTLED if verdict.outcome is Outcome.THROTTLED else Answer.CONFLICT


def percentile(values: list[float], q: float) -> float:
    """Nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
