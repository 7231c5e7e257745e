"""README.md as a new user follows it: its marked blocks run against a ``make run`` of their
own (how blocks are marked and what ``# ->`` means: ``tests/support/readme.py``)."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from local.engines import free_port
from local.template import ROOT
from tests.support import readme

README = ROOT / "README.md"
START_TIMEOUT = 120.0
READY_LINE = "Ctrl-C stops everything."
ENGINE_LINE = re.compile(r"DynamoDB\s+moto at http://(127\.0\.0\.1:\d+)")
# What a fresh clone's shell would not have: the test session's own settings and endpoints.
NOT_A_USERS = ("AWS_", "POWERTOOLS_", "PYTHONPATH", "TABLE_NAME", "API_DOCS", "VIRTUAL_ENV")
NOT_A_USERS += ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
# Where jq is missing, enough of it for the README: `jq [-r] .a.b`.
JQ_STAND_IN = """#!{python}
import json, sys
raw = "-r" in sys.argv[1:]
value = json.load(sys.stdin)
for key in filter(None, [a for a in sys.argv[1:] if a != "-r"][0].split(".")):
    value = value[key]
print(value if raw and isinstance(value, str) else json.dumps(value))
"""


def user_env(tools: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_A_USERS)}
    path = env.get("PATH", "").split(os.pathsep)
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin.startswith(str(ROOT)):
        path = [p for p in path if p != venv_bin]  # nobody activated the venv
    if shutil.which("jq", path=os.pathsep.join(path)) is None:
        jq = tools / "jq"
        jq.write_text(JQ_STAND_IN.format(python=sys.executable))
        jq.chmod(0o755)
        path.insert(0, str(tools))
    env["PATH"] = os.pathsep.join(path)
    return env


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    ports: dict[str, str]
    env: dict[str, str] = field(repr=False)

    def stdout(self) -> str:
        return self.out.read_text()


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    """``make run`` as the README's first line says, on free ports (the README's 41873 for
    the engine is rewritten to the one it printed, as a developer reads it off the banner)."""
    folder = tmp_path_factory.mktemp("readme")
    env = user_env(folder)
    out, err = folder / "make-run.out", folder / "make-run.err"
    api = f"127.0.0.1:{free_port()}"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            ["make", "run", f"PORT={api.rsplit(':', 1)[1]}", "ENGINE_PORT=0"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    running = MakeRun(process, out, err, {readme.API_PORT: api}, env)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while READY_LINE not in running.stdout():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make run did not start:\n{running.stdout()}\n{err.read_text()}")
            time.sleep(0.2)
        engine = ENGINE_LINE.search(running.stdout())
        assert engine, running.stdout()
        running.ports[readme.ENGINE_PORT] = engine.group(1)
        yield running
    finally:
        # Ctrl-C in its terminal: the whole process group, as a terminal sends it.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_readme_marks_blocks_of_every_kind() -> None:
    blocks = readme.blocks(README.read_text())
    assert {(b.kind, b.language) for b in blocks} == {
        ("banner", "text"),
        ("run", "sh"),
        ("run", "python"),
    }
    expected = [c.expect for b in blocks if b.language == "sh" for c in readme.commands(b)]
    assert any(e.status for e in expected) and any(e.eventually for e in expected)


def test_an_answer_that_differs_from_the_readme_is_reported() -> None:
    expect = readme.parse_expect("201 `reserved`: prose")
    assert readme.unmet(expect, "HTTP/1.1 201 Created\r\n\r\n{}") == ["no 'reserved'"]
    assert readme.unmet(expect, 'HTTP/1.1 200 OK\r\n\r\n{"reserved":1}') == ["status 200, not 201"]
    assert readme.unmet(readme.parse_expect("200"), "200\n") == []


def test_the_banner_is_what_make_run_prints(make_run: MakeRun) -> None:
    [banner] = [b for b in readme.blocks(README.read_text()) if b.kind == "banner"]
    written = [readme.localize(line, make_run.ports).rstrip() for line in banner.lines]
    printed = [line.rstrip() for line in make_run.stdout().splitlines()]
    start = printed.index(written[0]) if written[0] in printed else 0
    shown = printed[start : start + len(written)]
    assert shown == written, "\n".join(difflib.unified_diff(written, shown, "README", "make run"))


def test_every_readme_command_answers_as_written(make_run: MakeRun, tmp_path: Path) -> None:
    shell = readme.Shell(ROOT, make_run.env, tmp_path / "exported.sh")
    for block in readme.blocks(README.read_text()):
        if block.kind != "run":
            continue
        if block.language == "python":
            script = tmp_path / f"readme-{block.line}.py"
            script.write_text(readme.localize("\n".join(block.lines), make_run.ports))
            steps = [readme.Command(f"'{sys.executable}' '{script}'", block.line)]
        else:
            steps = list(readme.commands(block))
        for step in steps:
            problem = shell.check(step, make_run.ports)
            assert not problem, f"{problem}\nmake run said:\n{make_run.err.read_text()[-3000:]}"
