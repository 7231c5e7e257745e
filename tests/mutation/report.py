"""The mutation table of docs/testing.md, rendered from mutmut's results (never by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version

from .equivalence import Equivalent
from .equivalents import EQUIVALENTS
from .results import KILLED, NOT_RUN, PACKAGE, ROOT, UNREACHED, Mutant

DOC = ROOT / "docs" / "testing.md"
BEGIN = "<!-- mutation:begin -->"
END = "<!-- mutation:end -->"
TARGET = 0.90
# The modules whose score the fast tiers must keep at TARGET (issue 20).
TARGETS = (
    "lifecycle",
    "transitions",
    "access",
    "http.request_guard",
    "store.retry",
    "store.stock",
    "store.measure_writes",
    "store.stock_conditions",
    "store.shards",
    "store.bucket_reads",
    "store.placement",
    "store.receipts",
    "store.leases",
)


@dataclass
class Row:
    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    unreached: int = 0
    equivalent: int = 0
    not_run: int = 0
    live: list[Mutant] = field(default_factory=list)  # neither killed nor equivalent

    @property
    def run(self) -> bool:
        return self.not_run < self.mutants

    @property
    def score(self) -> float:
        counted = self.killed + self.survived + self.unreached
        return self.killed / counted if counted else 1.0


@dataclass
class Tally:
    rows: dict[str, Row]
    matched: list[tuple[Mutant, Equivalent]]
    stale: list[Equivalent]  # listed, but no live mutant of a module that ran is it

    def below_target(self) -> list[Row]:
        return [
            row
            for name, row in self.rows.items()
            if name in TARGETS and row.run and (row.not_run or row.score < TARGET)
        ]


def short(module: str) -> str:
    return module.removeprefix(f"{PACKAGE}.")


def tally(mutants: Iterable[Mutant], equivalents: Sequence[Equivalent] = EQUIVALENTS) -> Tally:
    rows: dict[str, Row] = {}
    matched: list[tuple[Mutant, Equivalent]] = []
    used: set[Equivalent] = set()
    for mutant in mutants:
        row = rows.setdefault(short(mutant.module), Row(short(mutant.module)))
        row.mutants += 1
        if mutant.status in KILLED:
            row.killed += 1
            continue
        if mutant.status in NOT_RUN:
            row.not_run += 1
            continue
        same = next((e for e in equivalents if e.matches(mutant)), None)
        if same is not None:
            row.equivalent += 1
            matched.append((mutant, same))
            used.add(same)
            continue
        if mutant.status in UNREACHED:
            row.unreached += 1
        else:
            row.survived += 1
        row.live.append(mutant)
    ran = {name for name, row in rows.items() if row.run}
    stale = [e for e in equivalents if e not in used and e.module in ran]
    return Tally(rows, matched, stale)


def code(text: str) -> str:
    """Markdown inline code of a line or two of Python (which may hold backticks)."""
    text = text.replace("\n", " ⏎ ") or "(nothing)"
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(result: Tally) -> str:
    lines = [
        BEGIN,
        "",
        f"mutmut {version('mutmut')}, fast tiers only (the selection in `pyproject.toml`,",
        "`[tool.mutmut]`). Score: killed / (killed + survived + not reached); equivalent",
        "mutants are left out, each listed below with its reason. Targets: "
        f"{TARGET:.0%} for the modules marked.",
        "",
        "| module | mutants | killed | survived | not reached | equivalent | score | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in sorted(result.rows, key=lambda n: (n not in TARGETS, n)):
        row = result.rows[name]
        target = f"{TARGET:.0%}" if name in TARGETS else ""
        if not row.run:
            if name in TARGETS:
                lines.append(f"| `{name}` | {row.mutants} | not run | | | | | {target} |")
            continue
        partial = f" ({row.not_run} not run)" if row.not_run else ""
        lines.append(
            f"| `{name}` | {row.mutants}{partial} | {row.killed} | {row.survived} | "
            f"{row.unreached} | {row.equivalent} | {row.score:.1%} | {target} |"
        )
    lines += ["", "### Equivalent mutants", ""]
    if not result.matched:
        lines.append("None.")
    for mutant, equivalent in sorted(result.matched, key=lambda m: m[0].name):
        lines.append(
            f"- `{short(mutant.where)}`: {code(mutant.before)} → {code(mutant.after)}: "
            f"{equivalent.reason}"
        )
    lines += ["", "### Not killed (target modules)", ""]
    live = [m for name in TARGETS if name in result.rows for m in result.rows[name].live]
    if not live:
        lines.append("None.")
    for mutant in live:
        lines.append(
            f"- `{short(mutant.where)}` ({mutant.status}): "
            f"{code(mutant.before)} → {code(mutant.after)}"
        )
    lines += ["", END]
    return "\n".join(lines)


def write(result: Tally) -> None:
    """Replace the block between the markers of docs/testing.md with the rendered one."""
    text = DOC.read_text(encoding="utf-8")
    block = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not block.search(text):
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} block to fill")
    DOC.write_text(block.sub(lambda _: render(result), text), encoding="utf-8")
