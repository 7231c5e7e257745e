"""A function the local stack runs beside the API: a sweeper on a schedule, a queue consumer.

A thread of this process decides when to invoke it (its ``_loop``); the handler itself runs
in a worker process of its own, like the API's, never in a thread of this process: handlers
keep per-invocation state in module globals. Started after the API, stopped before it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .invoke import find_function
from .server import invoke_in_worker, worker_pool


class BackgroundFunction:
    def __init__(self, function: str, name: str, env: Mapping[str, str] | None = None) -> None:
        self.function = find_function(function)
        self.name = name
        self._env = dict(env or {})
        self._stopping = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._pool = worker_pool(self.function, self._env)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result for one event, from the worker; raises what it raised."""
        pool = self._pool
        if pool is None:
            raise RuntimeError(f"{self.name} is not running")
        return pool.submit(invoke_in_worker, event).result()

    def stop(self, join_timeout: float | None = None) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=join_timeout)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        raise NotImplementedError
