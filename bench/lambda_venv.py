"""A virtual environment standing in for the Lambda runtime: Python and boto3, no more.

The layer's packages come from the built layer itself (``bench.lambda_artifact``), on
``PYTHONPATH`` as Lambda puts ``/opt/python``. Nothing else: no pip, no setuptools (whose
``.pth`` file would run at every interpreter start), no dev tools. Created once under
``.cache/bench-venv`` and reused while its recipe (Python, boto3) holds. pip compiles
boto3's bytecode as it installs it; the runtime's boto3 is taken to come compiled too.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from local.engines import CACHE

VENV = CACHE / "bench-venv"
STAMP = "bench-recipe.json"
INSTALL_TIMEOUT_SECONDS = 600


def recipe() -> dict[str, str]:
    """What the venv must be made of; a change of any of it rebuilds it."""
    return {
        "python": platform.python_version(),
        # The runtime's SDK stands in as the version this project develops against.
        "boto3": metadata.version("boto3"),
    }


def python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure(venv: Path = VENV) -> tuple[Path, bool]:
    """The venv's interpreter, and whether it had to be built now."""
    wanted = recipe()
    stamp = venv / STAMP
    if python(venv).exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text(encoding="utf-8")) == wanted:
                return python(venv), False
        except ValueError:
            pass
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    # This interpreter's pip installs into the other one: the venv gets no pip of its own.
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python(venv)),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            f"boto3=={wanted['boto3']}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    if installed.returncode != 0:
        raise RuntimeError(f"could not build {venv}: {installed.stderr.strip()[-2000:]}")
    stamp.write_text(json.dumps(wanted, indent=2), encoding="utf-8")
    return python(venv), True


def packages(venv: Path = VENV) -> dict[str, str]:
    """Distribution name -> version of what the venv holds."""
    listed = subprocess.run(
        [
            str(python(venv)),
            "-I",  # not the working directory (the repo's own egg-info), only the venv
            "-c",
            "import json, importlib.metadata as m; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found: dict[str, str] = json.loads(listed.stdout)
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))
