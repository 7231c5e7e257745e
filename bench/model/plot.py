"""The model's curves as a PNG for docs/performance.md (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: the benchmark runs without a screen

import matplotlib.pyplot as plt

from .sweep import GRID_ARRIVALS, GRID_BUCKETS, TARGET_P99, TARGET_RATE, Sweep


def draw(sweep: Sweep, path: Path) -> None:
    figure, ((rate, p99), (conflicts, lost)) = plt.subplots(2, 2, figsize=(11, 8), dpi=110)
    colours = plt.get_cmap("viridis")
    for index, buckets in enumerate(GRID_BUCKETS):
        results = [sweep.grid[(buckets, arrivals)] for arrivals in GRID_ARRIVALS]
        style = {
            "color": colours(index / max(1, len(GRID_BUCKETS) - 1)),
            "marker": "o",
            "markersize": 3,
            "label": f"{buckets} bucket{'s' if buckets > 1 else ''}",
        }
        rate.plot(GRID_ARRIVALS, [r.rate for r in results], **style)
        p99.plot(GRID_ARRIVALS, [r.p99 * 1000 for r in results], **style)
        conflicts.plot(GRID_ARRIVALS, [r.conflict_rate * 100 for r in results], **style)
        lost.plot(
            GRID_ARRIVALS,
            [100 * r.tally.gave_up / max(1, r.tally.arrived) for r in results],
            **style,
        )
    rate.plot(GRID_ARRIVALS, GRID_ARRIVALS, color="grey", linestyle=":", label="every request")
    rate.axhline(TARGET_RATE, color="red", linestyle="--", linewidth=1, label="target")
    p99.axhline(TARGET_P99 * 1000, color="red", linestyle="--", linewidth=1, label="target")
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
        "One hot sku in DynamoDB, modelled: stock split into buckets, the service's retries "
        "(nominal conflict window)",
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
