"""What a benchmark hands back, printed as Markdown and optionally written into the doc.

Each benchmark returns one :class:`Section`. ``docs/performance.md`` holds a pair of
markers per section (``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->``); ``--write-doc``
replaces what is between them and leaves the prose around them alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""

    def markdown(self) -> str:
        lines = []
        if self.caption:
            lines += [self.caption, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("| " + " | ".join("---" for _ in self.headers) + " |")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Target:
    """A figure the issue asks for; ``hard`` ones fail the run when missed."""

    name: str
    wanted: str
    measured: str
    met: bool
    hard: bool = False

    @property
    def verdict(self) -> str:
        return "met" if self.met else "**missed**"


@dataclass(slots=True)
class Section:
    name: str  # the marker in docs/performance.md
    title: str
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (made, destination): files such as plots that --write-doc copies into docs/.
    images: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(target.hard and not target.met for target in self.targets)

    def markdown(self) -> str:
        parts: list[str] = []
        if self.summary:
            parts.append("\n".join(self.summary))
        parts += [table.markdown() for table in self.tables]
        if self.targets:
            parts.append(
                Table(
                    ["target", "wanted", "measured", "verdict"],
                    [[t.name, t.wanted, t.measured, t.verdict] for t in self.targets],
                ).markdown()
            )
        if self.notes:
            parts.append("\n".join(f"- {note}" for note in self.notes))
        return "\n\n".join(parts)


def console(section: Section) -> str:
    rule = "=" * len(section.title)
    return f"\n{section.title}\n{rule}\n\n{section.markdown()}\n"


class MissingMarkers(Exception):
    pass


def _markers(name: str) -> re.Pattern[str]:
    """The opening marker's line, what follows up to the closing marker, and that marker."""
    return re.compile(
        rf"(<!-- bench:{re.escape(name)} -->\n)(?:.*?\n)?(<!-- /bench:{re.escape(name)} -->)",
        re.DOTALL,
    )


def _keeping_markers(block: str) -> Callable[[re.Match[str]], str]:
    def replace(found: re.Match[str]) -> str:
        # Blank lines around the block: Markdown then never runs a table into a marker.
        return f"{found.group(1)}\n{block.strip()}\n\n{found.group(2)}"

    return replace


def write_doc(path: Path, blocks: dict[str, str]) -> None:
    """Replace the generated block of every name in ``blocks``; the rest is kept as is."""
    text = path.read_text(encoding="utf-8")
    missing = [name for name in blocks if not _markers(name).search(text)]
    if missing:
        raise MissingMarkers(
            f"{path} lacks the markers of {', '.join(missing)}: add "
            + " and ".join(f"'<!-- bench:{n} -->' ... '<!-- /bench:{n} -->'" for n in missing)
        )
    for name, block in blocks.items():
        text = _markers(name).sub(_keeping_markers(block), text)
    path.write_text(text, encoding="utf-8")


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}/s"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
