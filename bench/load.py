"""A bounded closed-loop load: N client threads, each doing one operation after another.

Every thread gets its own client (its own connection), all start together on a barrier,
and each stops at the deadline or after ``max_operations`` of its own, whichever comes
first. Threads are joined with a timeout, so a run always ends.
"""

from __future__ import annotations

import statistics
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

MAX_ERROR_SAMPLES = 5
JOIN_GRACE_SECONDS = 60.0


class Client(Protocol):
    def __call__(self) -> None:
        """One operation; raises when it did not do what it should."""

    def close(self) -> None: ...


@dataclass(slots=True)
class LoadResult:
    label: str
    threads: int
    operations: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0  # CPU seconds spent in the client threads themselves
    error_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.operations / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[min(len(cuts) - 1, max(0, round(q * 1000) - 1))]

    def merge(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            label=self.label,
            threads=self.threads,
            operations=self.operations + other.operations,
            errors=self.errors + other.errors,
            elapsed=self.elapsed + other.elapsed,
            latencies=self.latencies + other.latencies,
            client_cpu=self.client_cpu + other.client_cpu,
            error_samples=(self.error_samples + other.error_samples)[:MAX_ERROR_SAMPLES],
        )


def run_load(
    label: str,
    make_client: Callable[[int], Client],
    *,
    threads: int,
    duration: float,
    max_operations: int,
    window: Callable[[str], None] | None = None,
) -> LoadResult:
    """Run ``threads`` clients for ``duration`` seconds; only successful operations count.
    ``window`` is told "start" as the clients are released and "end" once they are
    joined, before they close: what it measures between leaves out building the clients."""
    result = LoadResult(label=label, threads=threads)
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    clients = [make_client(index) for index in range(threads)]

    def drive(client: Client) -> None:
        latencies: list[float] = []
        errors = 0
        samples: list[str] = []
        try:
            barrier.wait(timeout=JOIN_GRACE_SECONDS)
        except threading.BrokenBarrierError:
            return
        cpu_started = time.thread_time()
        deadline = time.perf_counter() + duration
        for _ in range(max_operations):
            started = time.perf_counter()
            if started >= deadline:
                break
            try:
                client()
            except Exception as error:
                errors += 1
                if len(samples) < MAX_ERROR_SAMPLES:
                    samples.append("".join(traceback.format_exception_only(error)).strip())
                time.sleep(0.01)  # a failing target is not hammered in a tight loop
                continue
            latencies.append(time.perf_counter() - started)
        cpu = time.thread_time() - cpu_started
        with lock:
            result.operations += len(latencies)
            result.errors += errors
            result.latencies.extend(latencies)
            result.client_cpu += cpu
            result.error_samples.extend(samples[: MAX_ERROR_SAMPLES - len(result.error_samples)])

    workers = [
        threading.Thread(target=drive, args=(client,), name=f"{label}-{index}", daemon=True)
        for index, client in enumerate(clients)
    ]
    try:
        for worker in workers:
            worker.start()
        if window is not None:
            window("start")
        barrier.wait(timeout=JOIN_GRACE_SECONDS)
        started = time.perf_counter()
        for worker in workers:
            worker.join(
                timeout=max(0.0, started + duration + JOIN_GRACE_SECONDS - time.perf_counter())
            )
        result.elapsed = time.perf_counter() - started
        if window is not None:
            window("end")
        if any(worker.is_alive() for worker in workers):
            raise RuntimeError(f"{label}: client threads still running {JOIN_GRACE_SECONDS}s late")
    finally:
        barrier.abort()
        for client in clients:
            client.close()
    return result
