"""One reserve of one line on the hot sku, as the service would run it with sharded stock:
the service's own retry policy around each contended write, a new bucket after a short
one, a rebalance when no bucket has enough though the total does."""

from __future__ import annotations

import functools
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from reservations.store.retry import RetryPolicy

from .buckets import Buckets
from .table import Answer, SimulatedTable

# A reserve that keeps finding its bucket emptied by others re-plans at most this often
# before it answers CONTENTION, like one whose retries ran out.
MAX_PLANS = 64


def backoff(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """``RetryPolicy.delay`` with the model's seeded generator: full jitter up to
    ``min(max_delay, base_delay * 2**attempt)``."""
    return rng.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))


@dataclass(slots=True)
class Tally:
    """What became of the requests that arrived in the measured window."""

    arrived: int = 0
    granted: int = 0
    # Grants made in the window, whenever their request arrived: the throughput. Under
    # overload the window's own requests are granted partly after it, once the
    # arrivals have stopped and contention eased, which would flatter the rate.
    committed_in_window: int = 0
    granted_units: int = 0
    refused: int = 0  # for want of stock: the total was short
    gave_up: int = 0  # CONTENTION: the retries ran out
    gave_up_with_stock: int = 0  # ... while the total still covered the line
    rebalances: int = 0
    latencies: list[float] = field(default_factory=list)


class Reserve:
    def __init__(
        self,
        env: simpy.Environment,
        table: SimulatedTable,
        buckets: Buckets,
        policy: RetryPolicy,
        rng: random.Random,
        tally: Tally,
        window: tuple[float, float],
    ) -> None:
        self.env = env
        self.table = table
        self.buckets = buckets
        self.policy = policy
        self.rng = rng
        self.tally = tally
        self.window = window

    def __call__(self, quantity: int, counted: bool) -> Generator[simpy.Event, Any, bool]:
        """Hold ``quantity`` units; True when granted. ``counted``: in the window."""
        started = self.env.now
        tally = self.tally if counted else Tally()
        tally.arrived += 1
        contended = 0
        plans = 0
        yield from self.table.service_work()
        while True:
            if self.buckets.total < quantity:
                tally.refused += 1
                return False
            bucket = self.buckets.choose(self.rng, quantity)
            if bucket is None:
                answer = yield from self._rebalance(quantity, tally)
            else:
                operation = self.table.reserve_operation(bucket)
                take = functools.partial(self.buckets.take, bucket, quantity)
                answer = yield from self.table.transact(operation, take)
                if answer is Answer.COMMITTED:
                    if self.window[0] <= self.env.now < self.window[1]:
                        self.tally.committed_in_window += 1
                    tally.granted += 1
                    tally.granted_units += quantity
                    tally.latencies.append(self.env.now - started)
                    return True
            if answer in (Answer.CONFLICT, Answer.THROTTLED):
                # with_retries: nothing was written; wait, then a new plan (a new bucket)
                contended += 1
                if contended == self.policy.attempts:
                    return self._give_up(quantity, tally)
                yield self.env.timeout(backoff(self.policy, contended - 1, self.rng))
                continue
            plans += 1  # a short bucket, or a rebalance done or outrun: plan again now
            if plans > MAX_PLANS:
                return self._give_up(quantity, tally)

    def _rebalance(self, quantity: int, tally: Tally) -> Generator[simpy.Event, Any, Answer]:
        move = self.buckets.plan_move(quantity)
        if move is None:
            return Answer.SHORT  # the next plan sees the total short and refuses
        tally.rebalances += 1
        operation = self.table.move_operation(move.buckets)
        answer = yield from self.table.transact(operation, lambda: self.buckets.apply(move))
        return Answer.SHORT if answer is Answer.COMMITTED else answer

    def _give_up(self, quantity: int, tally: Tally) -> bool:
        tally.gave_up += 1
        if self.buckets.total >= quantity:
            tally.gave_up_with_stock += 1
        return False
