"""The SAM CLI and cfn-lint, run from their own venv (``make sam-tools``) without network."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from local.sam import CFN_LINT, ROOT, SAM, SAM_VENV, run_tool


def require_sam_tools() -> None:
    """Fail (never skip) with what to run when the SAM venv is missing."""
    missing = [str(tool.relative_to(ROOT)) for tool in (SAM, CFN_LINT) if not tool.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: run `make sam-tools` to create {SAM_VENV.name}",
            pytrace=False,
        )


def run(args: Sequence[str | Path], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    try:
        return run_tool(args, timeout)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{' '.join(map(str, args))} timed out after {timeout}s:\n{error.output}")


def describe(result: subprocess.CompletedProcess[str]) -> str:
    command = " ".join(result.args)
    return f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
