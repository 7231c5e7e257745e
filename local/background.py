"""A function the local stack runs beside the API: a sweeper on a schedule, a queue consumer.

A thread of this process decides when to invoke it (its ``_loop``); the handler itself runs
in a worker process of its own (``local.workers``), like the API's, never in a thread of
this process: handlers keep per-invocation state in module globals. An invocation gets the
function's timeout, as in Lambda; one whose worker dies or times out fails alone, and the
next one runs in a new worker. Started after the API, stopped before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .invoke import find_function
from .workers import WorkerPool


class BackgroundFunction:
    def __init__(self, function: str, name: str, env: Mapping[str, str] | None = None) -> None:
        self.function = find_function(function)
        self.name = name
        self._env = dict(env or {})
        self._stopping = threading.Event()
        self._pool: WorkerPool | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._pool = WorkerPool(self.function, self._env).start()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result for one event, from the worker; raises what it raised, or
        why the invocation failed (local.workers: WorkerDied, InvocationTimeout)."""
        pool = self._pool
        if pool is None:
            raise RuntimeError(f"{self.name} is not running")
        return pool.invoke(event, timeout=self.function.timeout_seconds)

    def worker_pids(self) -> list[int]:
        pool = self._pool
        return [] if pool is None else pool.pids()

    def stop(self, join_timeout: float | None = None) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=join_timeout)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()

    def _loop(self) -> None:
        raise NotImplementedError


def stop_together(stoppers: Iterable[Callable[[], None]]) -> None:
    """Each stop at once, in a thread of its own: each waits on its own worker, long poll
    or stream read, and a stack of several must not stop in their sum (``make run``'s
    Ctrl-C, which tests/local/test_local_stack_startup.py wants done within seconds)."""
    threads = [threading.Thread(target=stop, name="stop") for stop in stoppers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
