"""CPU seconds by role (this process, DynamoDB Local, the API's worker processes).

On a 2-core machine every role competes for the same two cores, so CPU per operation
says more about where a rate comes from than the rate alone. Linux only (/proc);
elsewhere the figures are empty and the benchmarks say so.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    parent = int(fields[1])
    utime, stime = int(fields[11]), int(fields[12])
    return parent, (utime + stime) / _TICK


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                tree.setdefault(found[0], []).append(int(entry.name))
    return tree


def _descendants(root: int, tree: dict[int, list[int]]) -> list[int]:
    found: list[int] = []
    stack = list(tree.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(tree.get(pid, []))
    return found


@dataclass(frozen=True, slots=True)
class CpuSample:
    wall: float
    bench: float  # this process: client threads plus, for the API, the HTTP adapter
    engine: float  # DynamoDB Local
    workers: float  # every other descendant: the API's execution environments
    available: bool

    def __sub__(self, earlier: CpuSample) -> CpuSample:
        return CpuSample(
            wall=self.wall - earlier.wall,
            bench=self.bench - earlier.bench,
            engine=self.engine - earlier.engine,
            workers=self.workers - earlier.workers,
            available=self.available and earlier.available,
        )


def sample(engine_pid: int | None) -> CpuSample:
    wall = time.perf_counter()
    bench = time.process_time()
    if not PROC.is_dir():
        return CpuSample(wall, bench, 0.0, 0.0, available=False)
    tree = _children()
    engine_pids = set()
    if engine_pid is not None:
        engine_pids = {engine_pid, *_descendants(engine_pid, tree)}
    engine = workers = 0.0
    for pid in _descendants(os.getpid(), tree):
        found = _stat(pid)
        if found is None:
            continue
        if pid in engine_pids:
            engine += found[1]
        else:
            workers += found[1]
    return CpuSample(wall, bench, engine, workers, available=True)
