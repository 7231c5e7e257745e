"""Where a cold start of the handler goes, phase by phase, without importtime's overhead.

One fresh interpreter imports the handler's dependencies in a fixed order and notes the
clock after each step; a module imported by an earlier step costs nothing later, so the
steps add up to the whole import. Medians over a few processes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

RUNS = 5
TIMEOUT_SECONDS = 60

# Runs inside the Lambda-like venv; prints [[phase, seconds], ...] as JSON.
SCRIPT = """
import gc
gc.disable()  # as api_function's first lines do; its last ones freeze and resume
import importlib, json, time
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
def load(*names):
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:  # another Powertools version: that phase is smaller
            pass
load("botocore.session", "botocore.config")
mark("botocore")
# ``import pydantic`` alone loads little (its names are lazy): BaseModel's machinery too.
load("pydantic", "pydantic.main", "pydantic.fields", "pydantic.types")
mark("pydantic (BaseModel, fields, types)")
load("aws_lambda_powertools", "aws_lambda_powertools.metrics", "aws_lambda_powertools.logging")
mark("Powertools: Logger, Metrics")
load("aws_lambda_powertools.event_handler")
mark("Powertools: event handler package (every resolver)")
# What api_function's imports and enable_validation load; not the OpenAPI models or the
# Swagger UI, which reservations.http.docs loads on the first request for them.
load(
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.event_handler.openapi.exceptions",
    "aws_lambda_powertools.event_handler.openapi.types",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
)
mark("Powertools: OpenAPI params and validation")
import pkgutil, reservations
load(*(m.name for m in pkgutil.iter_modules(reservations.__path__, "reservations.")))
mark("domain layer (every reservations module, the ERP's too)")
import api_function
mark("api_function's module body (its DynamoDB client, the resolver)")
from reservations.bootstrap import dynamodb_client
dynamodb_client()
mark("(for scale: a second DynamoDB client in the same process)")
print(json.dumps([[b[0], b[1] - a[1]] for a, b in zip(marks, marks[1:])]))
"""


def measure(python: Path, env: Mapping[str, str], cwd: Path) -> list[tuple[str, float]]:
    """(phase, median seconds) in import order."""
    seconds: dict[str, list[float]] = defaultdict(list)
    for _ in range(RUNS):
        done = subprocess.run(
            [str(python), "-c", SCRIPT],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_SECONDS,
        )
        if done.returncode != 0:
            raise RuntimeError(f"import phases failed: {done.stderr.strip()[-2000:]}")
        for phase, value in json.loads(done.stdout.strip().splitlines()[-1]):
            seconds[phase].append(value)
    return [(phase, statistics.median(values)) for phase, values in seconds.items()]
