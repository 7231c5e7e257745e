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
LIVE = "### Not killed (target modules)"
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


@dataclass
class Sections:
    """The table's lines by module: its row, its equivalent mutants, its live ones."""

    rows: dict[str, str] = field(default_factory=dict)
    equivalent: list[tuple[str, str]] = field(default_factory=list)
    live: list[tuple[str, str]] = field(default_factory=list)


def sections(result: Tally) -> Sections:
    out = Sections()
    for name, row in result.rows.items():
        target = f"{TARGET:.0%}" if name in TARGETS else ""
        if not row.run:
            if name in TARGETS:
                out.rows[name] = f"| `{name}` | {row.mutants} | not run | | | | | {target} |"
            continue
        partial = f" ({row.not_run} not run)" if row.not_run else ""
        out.rows[name] = (
            f"| `{name}` | {row.mutants}{partial} | {row.killed} | {row.survived} | "
            f"{row.unreached} | {row.equivalent} | {row.score:.1%} | {target} |"
        )
    for mutant, equivalent in sorted(result.matched, key=lambda m: m[0].name):
        line = f"- `{short(mutant.where)}`: {code(mutant.before)} → {code(mutant.after)}: "
        out.equivalent.append((short(mutant.module), line + equivalent.reason))
    for name in TARGETS:
        for mutant in result.rows[name].live if name in result.rows else []:
            out.live.append(
                (
                    name,
                    f"- `{short(mutant.where)}` ({mutant.status}): "
                    f"{code(mutant.before)} → {code(mutant.after)}",
                )
            )
    return out


def render(table: Sections) -> str:
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
    lines += [table.rows[n] for n in sorted(table.rows, key=lambda n: (n not in TARGETS, n))]
    lines += ["", "### Equivalent mutants", ""]
    lines += [line for _, line in table.equivalent] or ["None."]
    lines += ["", LIVE, ""]
    lines += [line for _, line in table.live] or ["None."]
    lines += ["", END]
    return "\n".join(lines)


def parse(block: str) -> Sections:
    """The sections of a table rendered before."""
    out = Sections()
    part = out.equivalent
    for line in block.splitlines():
        if line == LIVE:
            part = out.live
        row = re.match(r"\| `([^`]+)` \|", line)
        if row:
            out.rows[row[1]] = line
        elif line.startswith("- `"):
            part.append(("", line))
    owners = sorted(out.rows, key=len, reverse=True)  # the longest name that prefixes it
    for items in (out.equivalent, out.live):
        items[:] = [
            (next((m for m in owners if line.startswith(f"- `{m}.")), ""), line)
            for _, line in items
        ]
    return out


def merged(earlier: Sections, now: Sections, ran: set[str]) -> Sections:
    """``now`` for the modules that ran, ``earlier`` for the rest: a run of some modules
    keeps what the table said of the others."""
    rows = {**now.rows, **{m: line for m, line in earlier.rows.items() if m not in ran}}
    order = sorted(rows, key=lambda n: (n not in TARGETS, n))

    def pick(new: list[tuple[str, str]], old: list[tuple[str, str]]) -> list[tuple[str, str]]:
        kept = [item for item in new if item[0] in ran]
        kept += [item for item in old if item[0] not in ran]
        rank = {m: i for i, m in enumerate(order)}
        return sorted(kept, key=lambda item: rank.get(item[0], len(rank)))

    return Sections(rows, pick(now.equivalent, earlier.equivalent), pick(now.live, earlier.live))


def write(result: Tally) -> None:
    """Replace the block between the markers of docs/testing.md with the rendered one,
    keeping what it said of the modules this run has no verdicts of."""
    text = DOC.read_text(encoding="utf-8")
    block = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    found = block.search(text)
    if not found:
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} block to fill")
    ran = {name for name, row in result.rows.items() if row.run}
    table = merged(parse(found[0]), sections(result), ran)
    DOC.write_text(block.sub(lambda _: render(table), text), encoding="utf-8")
