"""Tasks released at the same moment, for the race tests on DynamoDB Local."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from reservations.errors import Contention
from reservations.store import MessageInProgress

T = TypeVar("T")


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


def persist(task: Callable[[], T], what: object) -> T:
    """``task`` again after CONTENTION (a 503 the client retries) or while another delivery
    of the same message is at work (SQS sends it again): a task given here must be safe to
    repeat (absolute values, receipts, reservation ids)."""
    for _ in range(200):
        try:
            return task()
        except (Contention, MessageInProgress):
            time.sleep(0.02)
    raise AssertionError(f"{what} kept failing")
