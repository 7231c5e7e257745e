"""The small-scale run the model is checked against: the service's own reserve, with its
own retry policy, through the contention proxy in front of DynamoDB Local, on this
machine, at the benchmark's client concurrency.

Five phases on one fresh table, about 40 s in all:

1. warm-up: every client on a sku of its own (no contention) replaying the reserve's
   captured transaction, until DynamoDB Local's JIT has settled (docs/performance.md,
   section 1);
2. the raw transaction, measured: CPU per attempt in this process (botocore and the
   proxy, under one interpreter lock);
   The same with every record held by a transaction that never ends: CPU per refusal.
3. the service's reserve, uncontended, measured: CPU per reserve here and in DynamoDB
   Local; with 2., this machine's parameters for the model;
4. every client on one hot sku with one stock record (1 bucket): what the model predicts.

With ``buckets=16`` the hot record is split into 16 buckets first (:func:`_seed`); the
comparison (``calibration.py``) runs per bucket count.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench import cpu
from bench.capture import Replay, capture
from bench.load import Client, LoadResult, run_load
from bench.reserve_requests import TEMPLATE_ID
from bench.stack import Stack, client
from local.contention.latency import Latency
from local.contention.proxy import ContentionProxy
from local.contention.requests import Access, Kind, Operation
from local.contention.rules import Outcome, Ticket
from reservations.bootstrap import build_service
from reservations.clock import SystemClock
from reservations.config import Settings
from reservations.http.models import CreateReservationRequest
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.keys import stock_key
from reservations.store.retry import RetryPolicy

LOCATION = "WH1"
HOT_SKU = "FLASH-HOT"
ON_HAND = 1_000_000_000
# DynamoDB Local's cost per transaction falls several times over its first thousand or
# so; measuring before it settles would give the model an engine slower than the one
# the hot phase meets.
WARM_UP_TRANSACTIONS = 1_200
WARM_UP_MAX_SECONDS = 30.0
WARM_UP_ROUND_SECONDS = 3.0
RAW_SECONDS = 3.0
REFUSED_SECONDS = 2.0
UNCONTENDED_SECONDS = 4.0
HOT_SECONDS = 8.0
MAX_OPERATIONS = 100_000


@dataclass(frozen=True, slots=True)
class Phase:
    label: str
    load: LoadResult
    cpu: cpu.CpuSample

    def cores(self, seconds: float) -> float:
        return seconds / self.cpu.wall if self.cpu.wall else 0.0


@dataclass(frozen=True, slots=True)
class Measurement:
    clients: int
    buckets: int
    uncontended: LoadResult
    attempt_seconds: float  # CPU per raw transaction in this process (botocore, proxy)
    refused_seconds: float  # the same for one the proxy refuses
    reserve_seconds: float  # CPU per reserve in this process beyond its one attempt
    engine_seconds: float  # CPU per reserve in DynamoDB Local
    hot: LoadResult
    attempts: int  # transactions the proxy judged in the hot phase
    conflicts: int
    throttled: int
    proxy_latency: Latency
    phases: tuple[Phase, ...] = ()

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / self.attempts if self.attempts else 0.0

    @property
    def throttle_rate(self) -> float:
        return self.throttled / self.attempts if self.attempts else 0.0


class _Reserver:
    """One client thread: a one-line reserve of one unit through the real service."""

    def __init__(self, service: ReservationService, sku: str) -> None:
        self._service = service
        self._sku = sku

    def __call__(self) -> None:
        # Contention when its retries ran out: an error of the load.
        self._service.reserve(_command(uuid.uuid4().hex, self._sku), "default")

    def close(self) -> None:
        pass


def _cold_sku(thread: int) -> str:
    return f"FLASH-COLD-{thread:02d}"


def _command(reservation_id: str, sku: str) -> Any:
    body = {"id": reservation_id, "items": [{"sku": sku, "location": LOCATION, "quantity": 1}]}
    return CreateReservationRequest.model_validate(body).to_command()


def _captured(endpoint: str, table_name: str, sku: str) -> dict[str, Any]:
    """The reserve's own TransactWriteItems for ``sku``, to replay as raw attempts."""
    settings = Settings(table_name=table_name)
    return capture(
        endpoint,
        lambda dynamodb: build_service(settings, dynamodb).reserve(
            _command(TEMPLATE_ID, sku), "default"
        ),
    )


def _seed(stack: Stack, table_name: str, clients: int, buckets: int) -> None:
    stock = {(HOT_SKU, LOCATION): ON_HAND}
    stock.update({(_cold_sku(t), LOCATION): ON_HAND for t in range(clients)})
    stack.seed(table_name, stock)
    if buckets > 1:  # as PUT /inventory/... with "shards" does (docs/architecture.md)
        store = Store(client(stack.endpoint), table_name)
        store.shards.reshard(HOT_SKU, LOCATION, buckets, int(time.time()))


def measure(
    stack: Stack, clients: int, buckets: int = 1, latency: Latency | None = None
) -> Measurement:
    table_name = stack.new_table("model")
    _seed(stack, table_name, clients, buckets)
    settings = Settings(table_name=table_name)
    proxy_latency = latency or Latency()
    with ContentionProxy(stack.endpoint, latency=proxy_latency, seed=17) as proxy:

        def service() -> ReservationService:
            # Its own client (connection pool) per thread, as each Lambda has its own.
            store = Store(client(proxy.endpoint), table_name)
            return ReservationService(store, SystemClock(), settings, RetryPolicy())

        def cold(thread: int) -> Client:
            return _Reserver(service(), _cold_sku(thread))

        def hot(thread: int) -> Client:
            return _Reserver(service(), HOT_SKU)

        templates = [_captured(stack.endpoint, table_name, _cold_sku(t)) for t in range(clients)]

        def raw(thread: int) -> Client:
            return Replay(client(proxy.endpoint), templates[thread], TEMPLATE_ID)

        phases: list[Phase] = []

        def phase(label: str, make: Any, seconds: float) -> tuple[LoadResult, cpu.CpuSample]:
            # CPU between the clients' release and their join: building 16 botocore
            # clients costs about a second of CPU, which is no attempt's.
            samples: dict[str, cpu.CpuSample] = {}

            def window(moment: str) -> None:
                samples[moment] = cpu.sample(stack.pid)

            load = run_load(
                label,
                make,
                threads=clients,
                duration=seconds,
                max_operations=MAX_OPERATIONS,
                window=window,
            )
            spent = samples["end"] - samples["start"]
            phases.append(Phase(label, load, spent))
            return load, spent

        warmed, started = 0, time.monotonic()
        while warmed < WARM_UP_TRANSACTIONS and time.monotonic() - started < WARM_UP_MAX_SECONDS:
            warmed += phase("warm-up", raw, WARM_UP_ROUND_SECONDS)[0].operations
        replayed, raw_cpu = phase("raw", raw, RAW_SECONDS)
        # Every cold stock record held by a transaction that never ends: each replay is
        # refused, and costs this process only what a refusal costs.
        held = tuple(
            Access(proxy.key_schema.ref(table_name, stock_key(_cold_sku(t), LOCATION)), 0)
            for t in range(clients)
        )
        holder = proxy.rules.admit(Operation("hold", Kind.TRANSACTION, held))
        assert isinstance(holder, Ticket)
        refused, refused_cpu = phase("refused", raw, REFUSED_SECONDS)
        proxy.rules.release(holder)
        uncontended, spent = phase("uncontended", cold, UNCONTENDED_SECONDS)
        proxy.reset_stats()
        contended, _ = phase("hot", hot, HOT_SECONDS)
        stats = proxy.rules.stats
        name = "TransactWriteItems"
        attempts = stats.count(name)
        conflicts = stats.count(name, Outcome.CONFLICT)
        throttled = stats.count(name, Outcome.THROTTLED)
    done = max(1, uncontended.operations)
    attempt = raw_cpu.bench / max(1, replayed.operations)
    return Measurement(
        clients=clients,
        buckets=buckets,
        uncontended=uncontended,
        attempt_seconds=attempt,
        refused_seconds=refused_cpu.bench / max(1, refused.errors),
        reserve_seconds=max(0.0, spent.bench / done - attempt),
        engine_seconds=spent.engine / done,
        hot=contended,
        attempts=attempts,
        conflicts=conflicts,
        throttled=throttled,
        proxy_latency=proxy_latency,
        phases=tuple(phases),
    )
