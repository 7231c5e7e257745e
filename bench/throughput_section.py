"""The throughput benchmark's report: its tables, targets and notes from the runs that
:mod:`.throughput` measured."""

from __future__ import annotations

from typing import Any

from .options import Options
from .report import Section, Table, Target, fmt_ms, fmt_rate
from .reserve_requests import LINES_PER_RESERVATION, describe_transaction
from .throughput import (
    FOUR_MEASURES,
    NAME,
    TARGET_FORMULA_RATIO,
    TARGET_RATIO,
    TARGET_UNLOCATED_RATIO,
    TITLE,
    WARM_UP_ENGINE_TRANSACTIONS,
    LoadPath,
    Measured,
)


def section_of(
    options: Options,
    template: dict[str, Any],
    paths: tuple[LoadPath, ...],
    runs: dict[str, list[Measured]],
    notes: list[str],
) -> Section:
    totals = {key: sum(measured[1:], measured[0]) for key, measured in runs.items()}
    rate = {key: total.load.rate for key, total in totals.items()}
    ratio = rate["api"] / rate["raw"] if rate["raw"] else 0.0
    capped = rate["api"] / rate["raw-capped"] if rate["raw-capped"] else 0.0
    unlocated = rate["api-unlocated"] / rate["api"] if rate["api"] else 0.0
    by_formula = rate["api-formula"] / rate["api"] if rate["api"] else 0.0
    section = Section(NAME, TITLE)
    section.summary = [
        f"{options.threads} client threads for the raw path and for the API, "
        f"{options.rounds} rounds of {options.duration:g} s per path in alternating order "
        f"after a warm-up (raw while the API's workers start, and on to at least "
        f"{WARM_UP_ENGINE_TRANSACTIONS:,} transactions, then the API), one DynamoDB Local, "
        "one table. "
        f"Each reserve holds {LINES_PER_RESERVATION} lines; its TransactWriteItems has "
        f"{describe_transaction(template)}. The API runs in {options.workers} worker "
        "processes (execution environments).",
    ]
    rows = []
    for path in paths:
        load = totals[path.key].load
        rows.append(
            [
                path.label,
                str(path.threads),
                "-" if path.workers is None else str(path.workers),
                f"{load.operations:,}",
                str(load.errors),
                f"**{fmt_rate(load.rate)}**",
                fmt_ms(load.percentile(0.5)),
                fmt_ms(load.percentile(0.99)),
            ]
        )
    section.tables.append(
        Table(
            ["path", "client threads", "workers", "granted", "errors", "rate", "p50", "p99"], rows
        )
    )
    section.tables.append(
        Table(
            ["round", *(path.key for path in paths), "API / raw"],
            [
                [
                    str(i + 1),
                    *(fmt_rate(runs[path.key][i].load.rate) for path in paths),
                    _ratio(runs["api"][i].load.rate, runs["raw"][i].load.rate),
                ]
                for i in range(options.rounds)
            ],
            caption="Per round (rates):",
        )
    )
    if all(total.cpu.available for total in totals.values()):
        section.tables.append(_cpu_table(paths, totals))
    section.targets.append(
        Target("API rate / raw rate", f">= {TARGET_RATIO}", f"{ratio:.2f}", ratio >= TARGET_RATIO)
    )
    section.targets.append(
        Target(
            "without a location / with, both through the API",
            f">= {TARGET_UNLOCATED_RATIO}",
            f"{unlocated:.2f}",
            unlocated >= TARGET_UNLOCATED_RATIO,
        )
    )
    section.targets.append(
        Target(
            f"with a 4-measure supply formula ({FOUR_MEASURES}) / with onHand alone, "
            "both through the API (issue 15)",
            f">= {TARGET_FORMULA_RATIO}",
            f"{by_formula:.2f}",
            by_formula >= TARGET_FORMULA_RATIO,
        )
    )
    section.notes += [
        f"API rate / raw rate at {raw_capped_threads(paths)} threads (the same number of "
        f"transactions in flight as the API's workers allow): {capped:.2f}.",
        *notes,
    ]
    for path in paths:
        for sample in totals[path.key].load.error_samples:
            section.notes.append(f"{path.key} error: `{sample}`")
    return section


def raw_capped_threads(paths: tuple[LoadPath, ...]) -> int:
    return next(path.threads for path in paths if path.key == "raw-capped")


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "-"


def _cpu_table(paths: tuple[LoadPath, ...], totals: dict[str, Measured]) -> Table:
    rows = []
    for path in paths:
        measured = totals[path.key]
        ops = measured.load.operations or 1
        client_cpu = measured.load.client_cpu
        adapter = max(0.0, measured.cpu.bench - client_cpu)
        total = measured.cpu.bench + measured.cpu.engine + measured.cpu.workers
        busy = total / measured.cpu.wall if measured.cpu.wall else 0.0
        is_api = path.workers is not None
        rows.append(
            [
                path.key,
                fmt_ms(client_cpu / ops),
                fmt_ms(adapter / ops) if is_api else "-",
                fmt_ms(measured.cpu.workers / ops) if is_api else "-",
                fmt_ms(measured.cpu.engine / ops),
                fmt_ms(total / ops),
                f"{busy:.2f}",
            ]
        )
    return Table(
        [
            "path",
            "client threads",
            "HTTP adapter",
            "handler workers",
            "DynamoDB Local",
            "total",
            "cores busy",
        ],
        rows,
        caption="CPU time per granted reserve, by process (from /proc; all of them share "
        "the machine's cores):",
    )
