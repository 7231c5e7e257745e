"""Cold start: a whole fresh interpreter importing the handler, against the floor of the
frameworks it is built on (and, for reading, a bare boto3 client).

Lambda's init phase imports the handler module; ``api_function`` builds its DynamoDB
client there. The yardstick is the smallest useful function: ``import boto3;
boto3.client('dynamodb')``. The handler is imported from what ``sam build`` makes
(``bench.lambda_artifact``), with the function's folder and then the layer's on the path as
Lambda orders them, by an interpreter that has only what the runtime has (Python and
boto3, ``bench.lambda_venv``). The environment is Lambda-like (region, fake credentials,
the template's variables), the working directory is the function's, and no bytecode is
written, as Lambda cannot. Commands alternate, after warm-up runs. A bare ``pass`` shows
what the interpreter alone costs; another command the floor of this design: the
frameworks the handler is built on (botocore, Powertools' resolver with validation,
pydantic) without any project code; another the same handler from an artifact without
bytecode, to show what shipping it saves.

Each command runs twice over: as ``python -c`` exits, and ended with ``os._exit`` the way
Lambda ends a sandbox, without the interpreter's teardown. Teardown is no part of a cold
start, yet it grows with what was imported and with what the collector still tracks, so
it can tilt the whole-process ratio either way. The target counts as met only if both
readings meet it.

No network at import: credentials come from the environment, instance metadata is
disabled, and the endpoint points at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from local.engines import CACHE, free_port
from local.invoke import find_function
from local.sam import Build

from . import import_phases, lambda_artifact, lambda_venv
from .options import Options
from .report import Section, Table, Target, fmt_ms
from .stack import FAKE_AWS_ENV, Stack

NAME = "cold-start"
TITLE = "Cold start: import api_function vs the frameworks' own floor"
# The handler may cost at most this much more than the frameworks it is built on
# (Powertools' resolver with validation, pydantic, one client) imported alone.
TARGET_RATIO = 1.10
FLOOR = "frameworks"
IMPORTTIME_RUNS = 3
TOP = 10
RUN_TIMEOUT_SECONDS = 60

HANDLER = "import api_function"
BOTO3 = "import boto3; boto3.client('dynamodb')"
# What api_function does around its imports (see its first and last lines): the garbage
# collector paused, and what init built frozen before it resumes.
PAUSED = "import gc; gc.disable(); {code}; gc.freeze(); gc.enable()"
# The floor of this design: what api_function cannot do without, and none of its own code.
# A botocore DynamoDB client, Powertools' REST resolver with validation (its package
# imports Logger, Metrics and every resolver; validation brings the OpenAPI params and
# pydantic) and pydantic models, imported as api_function imports (collector paused).
# Whatever the handler costs beyond this is the project's.
FRAMEWORKS = PAUSED.format(
    code="import botocore.session; botocore.session.get_session().create_client('dynamodb'); "
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; "
    "from aws_lambda_powertools.event_handler.openapi.params import Body, Path; "
    "from pydantic import BaseModel; APIGatewayRestResolver(enable_validation=True)"
)
# Not the yardstick, for reading only: how much of the handler's lead the pause alone
# would give the bare client too.
BOTO3_PAUSED = PAUSED.format(code=BOTO3)
BARE = "pass"
# Appended to a command: the process ends without the interpreter's teardown, as a Lambda
# sandbox does (it is frozen between invocations and killed at the end).
NO_TEARDOWN = "; import os; os._exit(0)"


class ImportsFrom(Enum):
    """What a command has on PYTHONPATH besides the runtime."""

    FUNCTION = "the built function, then its layer"
    FUNCTION_WITHOUT_BYTECODE = "the same without any __pycache__"
    LAYER = "the built layer alone"
    RUNTIME = "nothing"


@dataclass(frozen=True, slots=True)
class Command:
    label: str
    code: str
    imports_from: ImportsFrom
    shown: str = ""  # in the table instead of the code, when that is too long to read


COMMANDS = (
    Command("handler", HANDLER, ImportsFrom.FUNCTION),
    Command(
        "handler-without-bytecode",
        HANDLER,
        ImportsFrom.FUNCTION_WITHOUT_BYTECODE,
        shown="`import api_function` from the same artifact without its `__pycache__` "
        "(what SAM's python3.11 builder makes; Lambda cannot write the bytecode itself)",
    ),
    Command("boto3", BOTO3, ImportsFrom.RUNTIME),
    Command(
        "frameworks",
        FRAMEWORKS,
        ImportsFrom.LAYER,
        shown="the floor: a botocore DynamoDB client, Powertools' REST resolver with "
        "validation and pydantic, no project code, collector paused as in api_function",
    ),
    Command(
        "boto3-paused",
        BOTO3_PAUSED,
        ImportsFrom.RUNTIME,
        shown="for reading only: the yardstick with the collector paused as in api_function",
    ),
    Command("interpreter", BARE, ImportsFrom.RUNTIME),
)


@dataclass(frozen=True, slots=True)
class Artifacts:
    built: Build
    without_bytecode: Build

    def of(self, command: Command) -> Build:
        return (
            self.without_bytecode
            if command.imports_from is ImportsFrom.FUNCTION_WITHOUT_BYTECODE
            else self.built
        )


def environment(command: Command, artifacts: Artifacts) -> dict[str, str]:
    build = artifacts.of(command)
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        # Lambda's /var/task and /opt are read-only: what has no .pyc is compiled every time.
        "PYTHONDONTWRITEBYTECODE": "1",
        **find_function("api").environment,
        **FAKE_AWS_ENV,
        "TABLE_NAME": "bench-cold-start",
        # Nothing should be sent at import; if something were, it would go nowhere.
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}",
        "AWS_CONFIG_FILE": str(CACHE / "bench-no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(CACHE / "bench-no-aws-credentials"),
    }
    paths = {
        ImportsFrom.FUNCTION: [build.function, build.layer_python],  # /var/task, /opt/python
        ImportsFrom.FUNCTION_WITHOUT_BYTECODE: [build.function, build.layer_python],
        ImportsFrom.LAYER: [build.layer_python],
        ImportsFrom.RUNTIME: [],
    }[command.imports_from]
    if paths:
        env["PYTHONPATH"] = ":".join(str(path) for path in paths)
    return env


def _run(
    python: Path, command: Command, artifacts: Artifacts, *flags: str, teardown: bool = True
) -> tuple[float, str]:
    """Wall time of one whole process, and its stderr."""
    code = command.code if teardown else command.code + NO_TEARDOWN
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), *flags, "-c", code],
        env=environment(command, artifacts),
        # Lambda's working directory is /var/task; python -c puts it first on sys.path.
        cwd=artifacts.of(command).function,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"`{command.code}` failed: {done.stderr.strip()[-2000:]}")
    return elapsed, done.stderr


@dataclass(slots=True)
class Imported:
    module: str
    depth: int
    self_us: list[int] = field(default_factory=list)
    cumulative_us: list[int] = field(default_factory=list)


def parse_importtime(stderr: str, into: dict[str, Imported]) -> None:
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        parts = line.split("|")
        if len(parts) != 3:
            continue
        self_us, cumulative_us, raw_name = parts[0].split(":")[1], parts[1], parts[2]
        name = raw_name.strip()
        depth = (len(raw_name) - len(raw_name.lstrip()) - 1) // 2
        found = into.setdefault(name, Imported(name, depth))
        found.self_us.append(int(self_us))
        found.cumulative_us.append(int(cumulative_us))


def run(stack: Stack, options: Options) -> Section:
    del stack  # no engine: nothing is called at import
    python, venv_built = lambda_venv.ensure()
    artifacts = Artifacts(*lambda_artifact.build())
    handler = next(c for c in COMMANDS if c.label == "handler")
    for command in COMMANDS:
        for _ in range(options.cold_warm_ups):
            _run(python, command, artifacts)
    times: dict[tuple[str, bool], list[float]] = defaultdict(list)
    runs = [(command, teardown) for teardown in (True, False) for command in COMMANDS]
    for round_ in range(options.cold_runs):
        # A B C ..., then ... C B A: no command always runs right after another.
        order = runs if round_ % 2 == 0 else runs[::-1]
        for command, teardown in order:
            elapsed = _run(python, command, artifacts, teardown=teardown)[0]
            times[(command.label, teardown)].append(elapsed)
    imports: dict[str, Imported] = {}
    for _ in range(IMPORTTIME_RUNS):
        parse_importtime(_run(python, handler, artifacts, "-X", "importtime")[1], imports)
    phases = import_phases.measure(
        python, environment(handler, artifacts), artifacts.built.function
    )
    return _section(options, times, imports, phases, venv_built, artifacts.built)


def _median_ms(values: list[int]) -> float:
    return statistics.median(values) / 1000


def _package(module: str) -> str:
    top = module.split(".", 1)[0]
    return "(standard library)" if top in sys.stdlib_module_names else top


def _section(
    options: Options,
    times: dict[tuple[str, bool], list[float]],
    imports: dict[str, Imported],
    phases: list[tuple[str, float]],
    venv_built: bool,
    build: Build,
) -> Section:
    medians = {key: statistics.median(values) for key, values in times.items()}

    def ratio(label: str, teardown: bool, against: str = "boto3") -> float:
        return medians[(label, teardown)] / medians[(against, teardown)]

    runtime = lambda_venv.packages()
    layer = lambda_artifact.layer_packages(build)
    section = Section(NAME, TITLE)
    section.summary = [
        f"Whole-process wall time of `python -c ...`, {options.cold_runs} runs of each command "
        f"interleaved, after {options.cold_warm_ups} warm-up runs of each; each command both "
        "as `python -c` exits and ended by `os._exit(0)` without the interpreter's teardown, "
        "as a Lambda sandbox ends; no bytecode written, as in Lambda. The handler comes from "
        "`sam build ApiFunction` (`.cache/bench-build`): the function's folder, then the "
        "layer's, on `PYTHONPATH`; the layer holds "
        + ", ".join(f"{name} {version}" for name, version in layer.items())
        + ". The runtime is the venv `.cache/bench-venv` "
        f"({'built for this run' if venv_built else 'reused'}): "
        + ", ".join(f"{name} {version}" for name, version in runtime.items())
        + ".",
    ]
    rows = []
    for command in COMMANDS:
        values = times[(command.label, True)]
        rows.append(
            [
                command.shown or f"`{command.code}`",
                f"**{fmt_ms(medians[(command.label, True)])}**",
                f"{fmt_ms(min(values))} to {fmt_ms(max(values))}",
                f"{ratio(command.label, True):.2f}",
                f"{ratio(command.label, True, FLOOR):.2f}",
                f"**{fmt_ms(medians[(command.label, False)])}**",
                f"{ratio(command.label, False):.2f}",
                f"{ratio(command.label, False, FLOOR):.2f}",
            ]
        )
    section.tables.append(
        Table(
            [
                "python -c",
                "median",
                "range",
                "vs boto3",
                "vs floor",
                "median, no teardown",
                "vs boto3, no teardown",
                "vs floor, no teardown",
            ],
            rows,
        )
    )
    for teardown, reading in ((True, "as python -c exits"), (False, "without teardown")):
        section.targets.append(
            Target(
                f"cold start, handler / the frameworks' floor, {reading}",
                f"<= {TARGET_RATIO}",
                f"{ratio('handler', teardown, FLOOR):.2f} "
                f"({fmt_ms(medians[('handler', teardown)])} "
                f"vs {fmt_ms(medians[(FLOOR, teardown)])})",
                ratio("handler", teardown, FLOOR) <= TARGET_RATIO,
            )
        )
    counted = [(phase, seconds) for phase, seconds in phases if not phase.startswith("(")]
    import_total = sum(seconds for _, seconds in counted)
    section.tables.append(
        Table(
            ["import phase, in this order", "median", "share of the import"],
            [
                [
                    phase,
                    fmt_ms(seconds),
                    "-" if phase.startswith("(") else f"{seconds / import_total:.0%}",
                ]
                for phase, seconds in phases
            ],
            caption=f"Where the handler's import goes: one process imports these in turn, "
            f"each step costing only what earlier ones did not import (median of "
            f"{import_phases.RUNS} processes; the whole import is {fmt_ms(import_total)}, the "
            "rest of the process is the interpreter's start and exit):",
        )
    )
    root = imports.get("api_function")
    total_ms = _median_ms(root.cumulative_us) if root else 0.0
    top = sorted(imports.values(), key=lambda i: -_median_ms(i.cumulative_us))[:TOP]
    section.tables.append(
        Table(
            ["module", "depth", "cumulative", "self", "share of api_function"],
            [
                [
                    f"`{i.module}`",
                    str(i.depth),
                    f"{_median_ms(i.cumulative_us):.1f} ms",
                    f"{_median_ms(i.self_us):.1f} ms",
                    f"{_median_ms(i.cumulative_us) / total_ms:.0%}" if total_ms else "-",
                ]
                for i in top
            ],
            caption=f'`python -X importtime -c "{HANDLER}"`, top {TOP} by cumulative time '
            f"(median of {IMPORTTIME_RUNS} runs; importtime itself slows imports down, so read "
            "the shares rather than the absolute numbers). `api_function`'s self time is its "
            "module body, mostly creating its DynamoDB client.",
        )
    )
    by_package: dict[str, float] = defaultdict(float)
    for i in imports.values():
        by_package[_package(i.module)] += _median_ms(i.self_us)
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    shown, rest = ranked[:TOP], ranked[TOP:]
    self_total = sum(by_package.values())
    package_rows = [
        [name if name.startswith("(") else f"`{name}`", f"{ms:.1f} ms", f"{ms / self_total:.0%}"]
        for name, ms in shown
    ]
    if rest:
        rest_ms = sum(ms for _, ms in rest)
        package_rows.append(
            [
                f"{len(rest)} other packages",
                f"{rest_ms:.1f} ms",
                f"{rest_ms / self_total:.0%}",
            ]
        )
    section.tables.append(
        Table(
            ["top-level package", "self time, summed", "share"],
            package_rows,
            caption="The same runs, self time summed by top-level package (where the time goes):",
        )
    )
    return section
