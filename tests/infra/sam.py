"""The SAM CLI and cfn-lint, run from their own venv (``make sam-tools``) without network."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_VENV = ROOT / ".venv-sam"
SAM = SAM_VENV / "bin" / "sam"
CFN_LINT = SAM_VENV / "bin" / "cfn-lint"
REGION = "us-east-1"

FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Build:
    """Where ``sam build --build-dir`` put the artifacts (named by logical id)."""

    root: Path
    function: Path
    layer_python: Path


def require_sam_tools() -> None:
    """Fail (never skip) with what to run when the SAM venv is missing."""
    missing = [str(tool.relative_to(ROOT)) for tool in (SAM, CFN_LINT) if not tool.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: run `make sam-tools` to create {SAM_VENV.name}",
            pytrace=False,
        )


def tool_env() -> dict[str, str]:
    """This process's environment for the SAM venv: no project PYTHONPATH, no telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        env.pop(key, None)
    env.update(FAKE_AWS_ENV)
    env["SAM_CLI_TELEMETRY"] = "0"
    env["PATH"] = f"{SAM_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(args: Sequence[str | Path], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [str(arg) for arg in args],
            cwd=ROOT,
            env=tool_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{' '.join(map(str, args))} timed out after {timeout}s:\n{error.output}")


def describe(result: subprocess.CompletedProcess[str]) -> str:
    command = " ".join(result.args)
    return f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
