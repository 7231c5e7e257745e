"""What the model takes as given: DynamoDB's documented limits, the latency it assumes for
a transaction in AWS, this machine's measured figures, and one scenario to simulate.

Sources (AWS documentation, read 2026-12):

- Partition limits, 1,000 write units and 3,000 read units a second per partition:
  developer guide, "Understanding DynamoDB warm throughput in different scenarios"
  (warm-throughput-scenarios.html) and "Key range throughput exceeded (hot partitions)"
  (throttling-key-range-limit-exceeded-mitigation.html). Adaptive capacity isolates a hot
  item on its own partition but never lifts that cap ("Burst and adaptive capacity",
  burst-adaptive-capacity.html); split-for-heat splits a key *range*, and one partition
  key value cannot be split. Only writes are metered here: a reserve reads nothing.
- Transactional writes cost two write units per item per KB, a prepare and a commit
  ("Amazon DynamoDB Transactions: How it works", transaction-apis.html, "Capacity
  management for transactions"); ``local.contention.requests.write_units`` applies it.
- Conflicts: the same page, "Transaction conflict handling in DynamoDB";
  ``local.contention.rules`` applies them, and the model runs that very code.
- Latency: AWS documents no distribution for ``TransactWriteItems``, only "consistently
  low latency (typically in the single digit milliseconds)" for reads and writes
  (whitepaper "Comparing DynamoDB and HBase", architecture overview) and the two phases
  above. :data:`AWS_TRANSACTION_LATENCY` is an assumption built on both (see there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from local.contention.latency import Latency
from local.contention.rules import PARTITION_WCU_PER_SECOND, Limits
from reservations.store.retry import RetryPolicy

PARTITION_RCU_PER_SECOND = 3000.0  # documented; unused, since a reserve reads nothing
TRANSACT_WRITE_FACTOR = 2  # units per item per KB in a transaction (prepare + commit)

# One 3-item TransactWriteItems from a Lambda in the table's region, as the client sees
# it. A single-item write is single-digit milliseconds; a transaction is two rounds of
# replicated writes (prepare, commit) through a coordinator, so about twice that: median
# 10 ms, and a long tail to 30 ms at p99. An assumption, not a measurement.
AWS_TRANSACTION_LATENCY = Latency.parse("lognormal:median=10ms,p99=30ms")
# How much of that time the items are "ongoing" for other transactions: from the prepare
# that the stock bucket's storage node accepts to the commit it applies. The proxy holds
# them for the whole request (fraction 1), the pessimistic bound; the nominal reading
# is the prepare-to-commit half of the request.
NOMINAL_ONGOING_FRACTION = 0.5
PESSIMISTIC_ONGOING_FRACTION = 1.0
# DynamoDB documents the 1,000 units "per second" and nothing finer; the token bucket
# holds a tenth of a second, so a short simulated window cannot live off a full
# second's burst at its start.
AWS_BURST_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class AwsTiming:
    """Timing of one attempt in AWS: ``latency`` drawn per attempt, the middle
    ``ongoing_fraction`` of it with the items ongoing, the rest split before and after."""

    latency: Latency = AWS_TRANSACTION_LATENCY
    ongoing_fraction: float = NOMINAL_ONGOING_FRACTION


@dataclass(frozen=True, slots=True)
class LocalTiming:
    """Timing of one attempt on this machine, through the proxy to DynamoDB Local.

    Two serial servers: the benchmark's Python process (client threads and the proxy
    share one interpreter lock) spends ``reserve_seconds`` of CPU once per reserve (the
    service's own work), ``attempt_seconds`` on an admitted attempt (botocore and the
    proxy, forwarding included) and ``refused_seconds`` on a refused one, half of which
    comes before the proxy's verdict. DynamoDB Local runs admitted transactions one at a
    time, ``engine_seconds`` each on average (drawn with the spread of ``engine_shape``).
    ``proxy_latency`` is the proxy's own added pause.
    """

    reserve_seconds: float
    attempt_seconds: float
    refused_seconds: float
    engine_seconds: float
    engine_shape: float = 0.3  # sigma of the lognormal around the mean engine time
    proxy_latency: Latency = field(default_factory=Latency)


@dataclass(frozen=True, slots=True)
class Quantities:
    """How many units one reserve asks for: weights of 1, 2, 3, ... units."""

    weights: tuple[float, ...] = (1.0,)

    @property
    def largest(self) -> int:
        return len(self.weights)


# A flash sale mostly sells one per customer; a few take two or three, which is what
# makes a bucket short while the total still covers the line (the rebalance's case).
FLASH_SALE_QUANTITIES = Quantities((0.85, 0.1, 0.05))


@dataclass(frozen=True, slots=True)
class Scenario:
    """One simulated run on one (sku, location) split into ``buckets``.

    Open loop (``clients`` is None): requests arrive as a Poisson stream of
    ``arrivals_per_second`` for ``duration`` seconds, each a Lambda invocation of its own.
    Closed loop (``clients`` set): that many clients reserve one after another, as the
    benchmark's threads do. Figures count what arrives after ``warm_up``.
    """

    buckets: int = 1
    arrivals_per_second: float = 1000.0
    duration: float = 1.0
    warm_up: float = 0.2
    stock: int | None = None  # None: far more than the run can take
    quantities: Quantities = field(default_factory=Quantities)
    limits: Limits = field(
        default_factory=lambda: Limits(
            partition_wcu_per_second=PARTITION_WCU_PER_SECOND, burst_seconds=AWS_BURST_SECONDS
        )
    )
    timing: AwsTiming | LocalTiming = field(default_factory=AwsTiming)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clients: int | None = None
    seed: int = 17

    def but(self, **changes: object) -> Scenario:
        return replace(self, **changes)  # type: ignore[arg-type]
