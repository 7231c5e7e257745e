"""A function run on a fixed interval with a real scheduled event, as EventBridge would."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from .aws_events import scheduled_event
from .background import BackgroundFunction


class ScheduledFunction(BackgroundFunction):
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
        super().__init__(function, f"{function} every {interval_seconds:g}s", env)
        self.interval = interval_seconds
        self.quiet = quiet
        self.runs = 0
        self.last_result: Any = None
        # (started, finished, result) of every run, wall-clock: what a benchmark reads.
        self.ticks: list[tuple[float, float, Any]] = []

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            started = time.time()
            try:
                self.last_result = self.invoke(scheduled_event())
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
