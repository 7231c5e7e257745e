"""DynamoDB's contention rules, as the AWS developer guide states them, for a proxy in
front of DynamoDB Local and for the discrete-event model (bench/model/table.py): one
implementation, a clock passed in (wall time or simulated time).

Conflicts ("Transaction conflict handling in DynamoDB"): while a ``TransactWriteItems``
is in flight its items are *ongoing*.

- A ``TransactWriteItems`` with an item that another ongoing ``TransactWriteItems``
  includes is cancelled: ``TransactionConflict`` on that item.
- A ``PutItem``, ``UpdateItem`` or ``DeleteItem`` on an item an ongoing
  ``TransactWriteItems`` includes is rejected with ``TransactionConflictException``.
- A ``TransactGetItems`` with an item that an ongoing ``TransactWriteItems`` or plain
  write includes is cancelled: ``TransactionConflict`` on that item.

Nobody waits and nothing is locked for the loser: it is refused at once and never
reaches the engine (optimistic concurrency). Cases the guide leaves open (a transaction
meeting an ongoing plain write, a ``GetItem`` meeting a transaction: "both can
succeed") are let through.

Throughput: one partition serves at most 1,000 write units per second (developer guide,
"Partitions"; re:Post "on-demand table throttling"). Each partition key value is a token
bucket of that rate holding ``burst_seconds`` of it; a write that would overdraw any
partition it touches is throttled whole. Different partition key values are taken to be
different partitions (adaptive capacity isolates a hot key); one key never gets more.
A refused request consumes no units: AWS does not document what a cancelled transaction
costs, and charging nothing is the optimistic reading.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from .requests import Access, ItemRef, Kind, Operation

PARTITION_WCU_PER_SECOND = 1000.0
_NONE: Counter[Kind] = Counter()  # what an item nobody has in flight has in flight


class Outcome(Enum):
    ADMITTED = "admitted"
    CONFLICT = "conflict"
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class Limits:
    """What the rules enforce; every part can be switched off (``None``/``False``)."""

    conflicts: bool = True
    partition_wcu_per_second: float | None = PARTITION_WCU_PER_SECOND
    burst_seconds: float = 1.0  # a bucket holds this many seconds of its rate


@dataclass(frozen=True, slots=True)
class Refusal:
    outcome: Outcome
    culprits: tuple[int, ...]  # indices of the accesses that caused it


@dataclass(eq=False, slots=True)
class Ticket:
    """An admitted operation; its items stay ongoing until :meth:`Rules.release`."""

    operation: Operation
    registered: tuple[ItemRef, ...]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class Stats:
    """Counts by (operation name, outcome); reset between measurements."""

    counts: Counter[tuple[str, Outcome]] = field(default_factory=Counter)

    def count(self, name: str, outcome: Outcome | None = None) -> int:
        return sum(
            n for (op, out), n in self.counts.items() if op == name and outcome in (None, out)
        )

    def rate(self, name: str, outcome: Outcome) -> float:
        total = self.count(name)
        return self.count(name, outcome) / total if total else 0.0


class Rules:
    """Admits or refuses operations; thread-safe (the proxy serves many connections)."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] | None = None):
        self.limits = limits or Limits()
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._ongoing: dict[ItemRef, Counter[Kind]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.stats = Stats()

    def admit(self, operation: Operation) -> Ticket | Refusal:
        with self._lock:
            verdict = self._throttled(operation) or self._conflicting(operation)
            if verdict is not None:
                self.stats.counts[(operation.name, verdict.outcome)] += 1
                return verdict
            self._charge(operation)
            registered = (
                ()
                if operation.kind is Kind.TRANSACT_READ
                else tuple(access.item for access in operation.accesses)
            )
            for item in registered:
                self._ongoing.setdefault(item, Counter())[operation.kind] += 1
            self.stats.counts[(operation.name, Outcome.ADMITTED)] += 1
            return Ticket(operation, registered)

    def release(self, ticket: Ticket) -> None:
        with self._lock:
            for item in ticket.registered:
                kinds = self._ongoing[item]
                kinds[ticket.operation.kind] -= 1
                if kinds.total() <= 0:
                    del self._ongoing[item]

    def ongoing(self, item: ItemRef) -> bool:
        with self._lock:
            return item in self._ongoing

    # --- the rules --------------------------------------------------------------------

    def _conflicting(self, operation: Operation) -> Refusal | None:
        if not self.limits.conflicts:
            return None
        # What an ongoing operation of each kind blocks (see the module's docstring).
        blockers = (
            {Kind.TRANSACTION, Kind.WRITE}
            if operation.kind is Kind.TRANSACT_READ
            else {Kind.TRANSACTION}
        )
        culprits = tuple(
            index
            for index, access in enumerate(operation.accesses)
            if any(self._ongoing.get(access.item, _NONE)[kind] > 0 for kind in blockers)
        )
        return Refusal(Outcome.CONFLICT, culprits) if culprits else None

    def _throttled(self, operation: Operation) -> Refusal | None:
        rate = self.limits.partition_wcu_per_second
        if rate is None:
            return None
        now = self._clock()
        needed = _units_by_partition(operation.accesses)
        short = {key for key, units in needed.items() if self._bucket(key, rate, now) < units}
        if not short:
            return None
        culprits = tuple(
            index
            for index, access in enumerate(operation.accesses)
            if (access.item.table, access.item.partition) in short
        )
        return Refusal(Outcome.THROTTLED, culprits)

    def _bucket(self, key: tuple[str, str], rate: float, now: float) -> float:
        """The tokens of a partition now, refilled since it was last looked at."""
        capacity = rate * self.limits.burst_seconds
        bucket = self._buckets.setdefault(key, _Bucket(capacity, now))
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        return bucket.tokens

    def _charge(self, operation: Operation) -> None:
        if self.limits.partition_wcu_per_second is None:
            return
        for key, units in _units_by_partition(operation.accesses).items():
            self._buckets[key].tokens -= units


def _units_by_partition(accesses: tuple[Access, ...]) -> dict[tuple[str, str], int]:
    needed: dict[tuple[str, str], int] = {}
    for access in accesses:
        if access.units:
            key = (access.item.table, access.item.partition)
            needed[key] = needed.get(key, 0) + access.units
    return needed
