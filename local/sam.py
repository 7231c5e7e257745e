"""The project's SAM CLI (its own venv, ``make sam-tools``), run offline, and its builds.

The tests build once per session and the cold-start benchmark builds before it measures;
both run the same command, so both look at what ``sam deploy`` would upload.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from local.template import ROOT, TEMPLATE

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

    @classmethod
    def at(cls, root: Path) -> Build:
        return cls(root, root / "ApiFunction", layer_python=root / "DomainLayer" / "python")


def tool_env() -> dict[str, str]:
    """This process's environment for the SAM venv: no project PYTHONPATH, no telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        env.pop(key, None)
    env.update(FAKE_AWS_ENV)
    env["SAM_CLI_TELEMETRY"] = "0"
    # The Makefile's build recipes run python3.11 from here (it has pip), as SAM would.
    env["PATH"] = f"{SAM_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def build_command(build_dir: Path, *resources: str) -> list[str]:
    """``sam build`` of the template (or only ``resources`` and their layers) into build_dir."""
    return [
        str(SAM), "build", *resources,
        "--template-file", str(TEMPLATE),
        "--build-dir", str(build_dir),
        # samconfig.toml says cached, and SAM then keeps .aws-sam/deps in the working
        # tree whatever --build-dir says; these builds leave nothing there.
        "--no-cached",
        "--region", REGION,
    ]  # fmt: skip


def run_tool(args: Sequence[str | Path], timeout: float) -> subprocess.CompletedProcess[str]:
    """A command of the SAM venv, from the repository's root, its output captured.

    Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds.
    """
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
