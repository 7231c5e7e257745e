"""Runs README.md's command blocks as written, for ``tests/local/test_readme.py``.

A fenced block is run when the line before its opening fence is ``<!-- readme-test -->``
(an HTML comment: GitHub shows nothing): a ``sh`` block command by command in bash, a
``python`` block as a file given to the project's Python. Blocks run in README order as one
user in one terminal would: in the clone's root, each command seeing what earlier ones
set. ``<!-- readme-test: banner -->`` before a ``text`` block says it is what ``make run``
prints, line for line.

Blocks are written for ``make run``'s default port, ``127.0.0.1:3000``, and for the engine
at ``127.0.0.1:41873`` as the banner shows it; the test rewrites both to the ports of the
stack it started.

After a command, ``# -> EXPECT`` says what it answers and ``# ~> EXPECT`` what it answers
once something asynchronous (the ERP queue) has happened: such a command is run again until
it does, for up to ``EVENTUALLY_SECONDS``. EXPECT is an optional HTTP status (``201``: the
status line of ``curl -i``, or else the first line of the output), then any `fragments` in
backticks that the output must contain; the rest is prose for the reader. Every command must
exit with 0.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MARK = re.compile(r"<!--\s*readme-test(?::\s*(?P<kind>[\w-]+))?\s*-->")
EXPECTATION = re.compile(r"\s#\s*(?P<arrow>->|~>)\s*(?P<expect>.*)$")
STATUS = re.compile(r"(?P<status>[1-5]\d\d)\b")
FRAGMENT = re.compile(r"`([^`]+)`")
# The ports the README is written for, and the names of what listens there.
API_PORT, ENGINE_PORT = "127.0.0.1:3000", "127.0.0.1:41873"
EVENTUALLY_SECONDS = 20.0
COMMAND_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Block:
    kind: str  # "run" or "banner"
    language: str
    line: int  # of the first line inside the fence, 1-based
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Expect:
    status: int | None = None
    fragments: tuple[str, ...] = ()
    eventually: bool = False


@dataclass(frozen=True)
class Command:
    text: str
    line: int
    expect: Expect = field(default_factory=Expect)


def blocks(markdown: str) -> list[Block]:
    lines = markdown.splitlines()
    found = []
    for index, line in enumerate(lines):
        mark = MARK.fullmatch(line.strip())
        if mark is None:
            continue
        fence = lines[index + 1] if index + 1 < len(lines) else ""
        if not fence.startswith("```"):
            raise ValueError(f"README.md:{index + 1}: a readme-test mark must precede a fence")
        end = next((j for j in range(index + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"README.md:{index + 2}: the fence is never closed")
        found.append(
            Block(
                kind=mark.group("kind") or "run",
                language=fence[3:].strip(),
                line=index + 3,
                lines=tuple(lines[index + 2 : end]),
            )
        )
    return found


def parse_expect(text: str, eventually: bool = False) -> Expect:
    status = STATUS.match(text.strip())
    return Expect(
        status=int(status.group("status")) if status else None,
        fragments=tuple(FRAGMENT.findall(text)),
        eventually=eventually,
    )


def commands(block: Block) -> Iterator[Command]:
    """A shell block's commands, continuation lines joined, with what each should answer."""
    pending: list[str] = []
    start = block.line
    for offset, line in enumerate(block.lines):
        if not pending:
            start = block.line + offset
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            pending.append(line)
            continue
        pending.append(line)
        text = "\n".join(pending)
        pending = []
        found = EXPECTATION.search(text)
        expect = (
            parse_expect(found.group("expect"), eventually=found.group("arrow") == "~>")
            if found
            else Expect()
        )
        yield Command(text, start, expect)
    if pending:
        raise ValueError(f"README.md:{start}: the block ends inside a continued command")


def status_of(output: str) -> str:
    first = output.lstrip().splitlines()[0] if output.strip() else ""
    if first.startswith("HTTP/"):
        return first.split()[1]
    return first.strip()


def unmet(expect: Expect, output: str) -> list[str]:
    """What the output fails to show of ``expect``; empty when it meets it."""
    problems = []
    if expect.status is not None and status_of(output) != str(expect.status):
        problems.append(f"status {status_of(output) or '(none)'}, not {expect.status}")
    problems += [f"no {fragment!r}" for fragment in expect.fragments if fragment not in output]
    return problems


def localize(text: str, ports: Mapping[str, str]) -> str:
    for written, actual in ports.items():
        text = text.replace(written, actual)
    return text


@dataclass
class Shell:
    """One user's terminal: each command runs in bash with what earlier ones set."""

    cwd: Path
    env: Mapping[str, str]
    state: Path

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        if not self.state.exists():
            self.state.write_text("")
        # set -a exports every assignment, so `export -p` carries plain ones (HOLD=...) too.
        script = (
            f"set -a\n. '{self.state}'\nset -eo pipefail\n{command}\nexport -p > '{self.state}'\n"
        )
        return subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )

    def check(self, command: Command, ports: Mapping[str, str]) -> str:
        """Runs the command (again, while a ``~>`` expectation is unmet); a description
        of what went wrong, or an empty string."""
        text = localize(command.text, ports)
        deadline = time.monotonic() + (EVENTUALLY_SECONDS if command.expect.eventually else 0)
        while True:
            done = self.run(text)
            output = done.stdout + done.stderr
            problems = [f"exit code {done.returncode}"] if done.returncode else []
            problems += unmet(command.expect, done.stdout)
            if not problems:
                return ""
            if done.returncode or time.monotonic() >= deadline:
                return f"README.md:{command.line}: {'; '.join(problems)}\n$ {text}\n{output}"
            time.sleep(0.25)
