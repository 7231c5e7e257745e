"""A function run on a fixed interval with a real scheduled event, as EventBridge would.

Like the API, the handler runs in its own worker process (handlers keep per-invocation
state in module globals), so it shares nothing with the server but the engine.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .aws_events import scheduled_event
from .invoke import find_function
from .server import _worker_invoke, worker_pool


class ScheduledFunction:
    def __init__(
        self,
        function: str,
        interval_seconds: float,
        env: Mapping[str, str] | None = None,
        *,
        quiet: bool = False,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("the interval must be positive")
        self.function = find_function(function)
        self.name = f"{function} every {interval_seconds:g}s"
        self.interval = interval_seconds
        self.quiet = quiet
        self._env = dict(env or {})
        self._stopping = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.last_result: Any = None
        # (started, finished, result) of every run, wall-clock: what a benchmark reads.
        self.ticks: list[tuple[float, float, Any]] = []

    def start(self) -> None:
        self._pool = worker_pool(self.function, self._env)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            pool = self._pool
            if pool is None:
                return
            started = time.time()
            try:
                self.last_result = pool.submit(_worker_invoke, scheduled_event()).result()
            except Exception as error:  # a failed tick is logged; the next one tries again
                print(f"{self.name}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                continue
            self.runs += 1
            self.ticks.append((started, time.time(), self.last_result))
            expired = (
                self.last_result.get("expired", 0) if isinstance(self.last_result, dict) else 0
            )
            if expired and not self.quiet:
                print(f"{self.function.name}: {self.last_result}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
