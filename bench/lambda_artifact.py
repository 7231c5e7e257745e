"""The API function and its layer as ``sam build`` makes them: what a cold start imports.

Built afresh for each run into ``.cache/bench-build`` with the project's SAM CLI (``make
sam-tools``), the same command as the tests' build, so the benchmark imports exactly the
code and bytecode that ``sam deploy`` would upload. A copy without any ``__pycache__``
shows what a cold start costs when the artifact ships no bytecode (SAM's own python3.11
builder ships none), since Lambda cannot write it to its read-only /var/task and /opt.
"""

from __future__ import annotations

import shutil
from importlib import metadata

from local.engines import CACHE
from local.sam import SAM, Build, build_command, run_tool
from local.template import ROOT

BUILD_DIR = CACHE / "bench-build"
WITHOUT_BYTECODE_DIR = CACHE / "bench-build-without-bytecode"
BUILD_TIMEOUT_SECONDS = 600


def build() -> tuple[Build, Build]:
    """The API function's artifact as built, and the same without its bytecode."""
    if not SAM.exists():
        raise RuntimeError(f"{SAM.relative_to(ROOT)} not found: run `make sam-tools`")
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    done = run_tool(build_command(BUILD_DIR, "ApiFunction"), BUILD_TIMEOUT_SECONDS)  # + layer
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed: {(done.stdout + done.stderr).strip()[-3000:]}")
    shutil.rmtree(WITHOUT_BYTECODE_DIR, ignore_errors=True)
    shutil.copytree(BUILD_DIR, WITHOUT_BYTECODE_DIR, ignore=shutil.ignore_patterns("__pycache__"))
    return Build.at(BUILD_DIR), Build.at(WITHOUT_BYTECODE_DIR)


def layer_packages(build: Build) -> dict[str, str]:
    """Distribution name -> version of what the layer holds."""
    found = {
        dist.metadata["Name"]: dist.version
        for dist in metadata.distributions(path=[str(build.layer_python)])
    }
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))
