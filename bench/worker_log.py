"""Where the throughput bench's API workers print (EMF metrics, as Lambda would send them to
CloudWatch), so it never lands among the bench's tables."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from local.engines import CACHE
from local.template import ROOT

WORKER_STDOUT = CACHE / "bench-api-workers.log"


@contextlib.contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Point file descriptor 1 at ``path`` meanwhile: child processes started now keep it.

    The handler prints what Lambda would send to CloudWatch (EMF metrics) to stdout;
    the API's workers write that to a log rather than into the benchmark's tables.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with path.open("wb") as log:
            os.dup2(log.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as log:
            return sum(1 for _ in log)
    except OSError:
        return 0


def shown(path: Path) -> str:
    """The path from the repository root, or whole where RESERVATIONS_CACHE moved it out."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
