"""Knobs of one ``python -m bench`` run, shared by every benchmark."""

from __future__ import annotations

from dataclasses import dataclass

# Two worker processes per core: while one waits on DynamoDB the other computes, and
# DynamoDB Local and the HTTP adapter still get their share of the two cores.
DEFAULT_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Options:
    threads: int = 16  # client threads of the throughput benchmark, for both paths
    duration: float = 4.0  # seconds of each measured round, per path
    rounds: int = 4  # rounds of every path, in alternating order (even: fair to both ends)
    workers: int = DEFAULT_WORKERS  # API worker processes (execution environments)
    cold_runs: int = 25  # interleaved runs of each cold-start command (a shared VM is noisy)
    cold_warm_ups: int = 2  # runs of each command before measuring (files in the page cache)
