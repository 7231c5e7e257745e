"""The local stack the benchmarks share: a DynamoDB Local per benchmark, fake credentials,
clients.

Everything listens on 127.0.0.1. Credentials are fake on purpose: with no endpoint set a
request fails authentication rather than reaching a real account.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from local.engines import DYNAMODB_LOCAL_PACKAGE, DynamoDBLocal, dynamodb_local_jar
from local.template import ensure_table
from reservations.bootstrap import dynamodb_client
from reservations.store import Store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

REGION = "us-east-1"

# What every process of a benchmark sees: the bench itself, API workers, cold-start runs.
FAKE_AWS_ENV = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def apply_fake_aws_env() -> None:
    """Set the fake credentials in this process (and so in every child it starts)."""
    os.environ.update(FAKE_AWS_ENV)


def client(endpoint: str) -> DynamoDBClient:
    """A DynamoDB client configured as the service's own (pool, timeouts, retries)."""
    return dynamodb_client(endpoint_url=endpoint, region_name=REGION)


@dataclass
class Stack:
    """One DynamoDB Local at a time, started on first use; `fresh_engine` between benchmarks."""

    _engine: DynamoDBLocal | None = None

    @property
    def endpoint(self) -> str:
        if self._engine is None:
            apply_fake_aws_env()
            self._engine = DynamoDBLocal()
        return self._engine.endpoint

    @property
    def pid(self) -> int | None:
        """The engine's process id, for CPU accounting; None before it starts."""
        if self._engine is None:
            return None
        process: subprocess.Popen[bytes] = self._engine._process
        return process.pid

    def new_table(self, purpose: str) -> str:
        """A fresh table with the template's definition, dropped with the engine."""
        name = f"bench-{purpose}-{uuid.uuid4().hex[:8]}"
        ensure_table(client(self.endpoint), name)
        return name

    def seed(self, table_name: str, stock: dict[tuple[str, str], int]) -> None:
        table = Store(client(self.endpoint), table_name)
        for (sku, location), on_hand in stock.items():
            table.stock.set_on_hand(sku, location, on_hand, now=0)

    def function_env(self, table_name: str) -> dict[str, str]:
        """Environment of the API function's execution environments."""
        return {
            **FAKE_AWS_ENV,
            "TABLE_NAME": table_name,
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
        }

    def fresh_engine(self) -> None:
        """A new DynamoDB Local for the next benchmark. One engine serves each benchmark's
        side-by-side comparison; across benchmarks, the thousands of items one leaves
        behind (deleted tables included) were seen to slow the next one several times."""
        self.stop()

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.stop()
            self._engine = None


# --- the machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _java_version() -> str:
    java = shutil.which("java")
    if java is None:
        return "not found"
    shown = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False, timeout=30
    )
    first = (shown.stderr or shown.stdout).strip().splitlines()
    return first[0] if first else "unknown"


def _dynamodb_local_version() -> str:
    try:
        jar = dynamodb_local_jar()
    except Exception as error:  # reported, not fatal: the machine block is informative
        return f"unavailable ({error})"
    built = jar.parent.name.removeprefix("dynamodb_local_")
    return f"{built} (npm {DYNAMODB_LOCAL_PACKAGE})"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "-"


def machine() -> dict[str, str]:
    return {
        "cores (nproc)": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": _java_version(),
        "DynamoDB Local": _dynamodb_local_version(),
        "boto3 / botocore": f"{_version('boto3')} / {_version('botocore')}",
        "aws-lambda-powertools": _version("aws-lambda-powertools"),
        "pydantic": _version("pydantic"),
    }
