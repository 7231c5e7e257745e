"""Tasks released at the same moment, for the race tests on DynamoDB Local."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def race(*tasks: Callable[[], Any]) -> list[Any]:
    """Run every task at once (released together by a barrier); results or exceptions."""
    barrier = threading.Barrier(len(tasks))

    def run(task: Callable[[], Any]) -> Any:
        barrier.wait(timeout=60)
        try:
            return task()
        except Exception as error:  # the caller asserts on every outcome
            return error

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(run, tasks))
