"""The model's curves as a PNG for docs/performance.md (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: the benchmark runs without a screen

import matplotlib.pyplot as plt

from .simulation import Result
from .sweep import (
    GRID_ARRIVALS,
    GRID_BUCKETS,
    RECOMMENDED_BUCKETS,
    TARGET_P99,
    TARGET_RATE,
    Sweep,
)


def draw(sweep: Sweep, path: Path) -> None:
    figure, ((rate, p99), (conflicts, lost)) = plt.subplots(2, 2, figsize=(11, 8), dpi=110)
    colours = plt.get_cmap("viridis")

    def curves(results: list[Result], **style: Any) -> None:
        rate.plot(GRID_ARRIVALS, [r.rate for r in results], **style)
        style.pop("label", None)  # one legend, on the rate's axes
        p99.plot(GRID_ARRIVALS, [r.p99 * 1000 for r in results], **style)
        conflicts.plot(GRID_ARRIVALS, [r.conflict_rate * 100 for r in results], **style)
        gave_up = [100 * r.tally.gave_up / max(1, r.tally.arrived) for r in results]
        lost.plot(GRID_ARRIVALS, gave_up, **style)

    for index, buckets in enumerate(GRID_BUCKETS):
        curves(
            [sweep.grid[(buckets, arrivals)] for arrivals in GRID_ARRIVALS],
            color=colours(index / max(1, len(GRID_BUCKETS) - 1)),
            marker="o",
            markersize=3,
            label=f"{buckets} bucket{'s' if buckets > 1 else ''}",
        )
    curves(
        [sweep.levers[(RECOMMENDED_BUCKETS, arrivals)] for arrivals in GRID_ARRIVALS],
        color="red",
        linewidth=2,
        marker="s",
        markersize=4,
        label=f"{RECOMMENDED_BUCKETS} buckets, the sharded path's retries (recommended)",
    )
    rate.plot(GRID_ARRIVALS, GRID_ARRIVALS, color="grey", linestyle=":", label="every request")
    rate.axhline(TARGET_RATE, color="black", linestyle="--", linewidth=1, label="target")
    p99.axhline(TARGET_P99 * 1000, color="black", linestyle="--", linewidth=1, label="target")
    for axes, title, unit in (
        (rate, "granted holds/s", "holds/s"),
        (p99, "p99 latency of a granted reserve (retries included)", "ms"),
        (conflicts, "TransactionConflict, share of attempts", "%"),
        (lost, "gave up (CONTENTION) after the retries, share of requests", "%"),
    ):
        axes.set_xscale("log")
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("arrivals/s on one sku")
        axes.set_ylabel(unit)
        axes.grid(True, which="both", alpha=0.3)
    rate.set_yscale("log")
    p99.set_yscale("log")
    rate.legend(fontsize=7, loc="upper left")
    figure.suptitle(
        "One hot sku in DynamoDB, modelled: stock split into buckets, the service's retries, "
        "and the recommendation in red (nominal conflict window)",
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
