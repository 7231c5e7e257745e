"""``sam build`` output: the layer and the function, importable the way Lambda loads them."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.apigw import proxy_event
from local.sam import FAKE_AWS_ENV, Build

# What the python3.11 Lambda runtime itself provides on top of the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

# Runs in a bare interpreter (-I -S: no site-packages, no PYTHONPATH) with sys.path in
# Lambda's order: function, layer, runtime, standard library. Sockets are disabled.
PROBE = r"""
import json, socket, sys

function_dir, layer_dir, runtime_dir, event_path, out_path = sys.argv[1:6]
sys.path[:] = [function_dir, layer_dir, runtime_dir, *sys.path]


def no_network(*args, **kwargs):
    raise OSError(f"network access from the probe: {args!r}")


socket.socket.connect = no_network
socket.create_connection = no_network
socket.getaddrinfo = no_network

# Every module compiled from source instead of loaded from its .pyc. Lambda cannot write
# bytecode to /var/task or /opt, so it would compile these at every cold start.
import importlib._bootstrap_external as bootstrap_external

compiled = []
source_to_code = bootstrap_external.SourceLoader.source_to_code


def spy(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return source_to_code(self, data, path, *args, **kwargs)


bootstrap_external.SourceLoader.source_to_code = spy

import api_function

# The handler pauses the garbage collector while it is imported and freezes what init
# built: the collector must be back on, with nothing of init left for it to scan.
import gc
collector_enabled = gc.isenabled()
tracked_after_init = len(gc.get_objects())  # the frozen ones are not listed
frozen = gc.get_freeze_count()


class Context:
    function_name = "api"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:api"
    aws_request_id = "probe"
    log_group_name = "/aws/lambda/api"
    log_stream_name = "probe"

    def get_remaining_time_in_millis(self):
        return 10_000


with open(event_path) as handle:
    response = api_function.lambda_handler(json.load(handle), Context())
files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})
with open(out_path, "w") as handle:
    json.dump(
        {
            "response": response,
            "files": files,
            "compiled": compiled,
            "runtime": runtime_dir,
            "stdlib": sys.path[3:],
            "collector_enabled": collector_enabled,
            "tracked_after_init": tracked_after_init,
            "frozen": frozen,
        },
        handle,
    )
"""


def runtime_dir(target: Path) -> Path:
    """boto3 and its dependencies only, as the Lambda runtime ships them (symlinks)."""
    target.mkdir(exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None, f"{name} missing from the test venv"
        assert spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = target / source.name
        if not link.exists():
            link.symlink_to(source, target_is_directory=source.is_dir())
    return target


def test_layer_holds_the_domain_package_and_its_dependencies(sam_build: Build) -> None:
    python = sam_build.layer_python
    assert (python / "reservations" / "store" / "reservations.py").is_file()
    assert (python / "reservations" / "service.py").is_file()
    for package in ("pydantic", "pydantic_core", "aws_lambda_powertools", "ulid"):
        assert (python / package / "__init__.py").is_file(), f"{package} missing from the layer"
    # The tests and dev tools are not part of the artifact.
    assert not list(python.glob("moto*"))
    assert not list(python.glob("pytest*"))


def test_function_holds_only_its_handler_and_routes(sam_build: Build) -> None:
    sources = Path(__file__).parents[2] / "functions" / "api"
    assert sorted(p.name for p in sam_build.function.iterdir()) == sorted(
        ["__pycache__", "console", *(p.name for p in sources.glob("*.py"))]
    )
    # The operator console's files, as they are in the source.
    console = sorted(p.name for p in (sources / "console").iterdir())
    assert sorted(p.name for p in (sam_build.function / "console").iterdir()) == console
    assert "api_function.py" in {p.name for p in sam_build.function.iterdir()}
    assert not (sam_build.function / "reservations").exists(), "the domain belongs in the layer"


@pytest.mark.parametrize("artifact", ["function", "layer"])
def test_every_module_ships_with_bytecode_never_checked_against_its_source(
    sam_build: Build, artifact: str
) -> None:
    root = sam_build.function if artifact == "function" else sam_build.layer_python
    sources = sorted(root.rglob("*.py"))
    assert sources
    missing, checked = [], []
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            missing.append(source.relative_to(root))
            continue
        header = cached.read_bytes()[:8]
        # PEP 552: the magic number of this (the runtime's) Python, then flags; 0b01 is
        # "hash-based, not checked", 0b11 "checked", 0 "timestamp-based".
        if header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:], "little") != 1:
            checked.append(source.relative_to(root))
    assert not missing, f"{len(missing)} modules without bytecode: {missing[:5]}"
    assert not checked, f"{len(checked)} .pyc files not unchecked-hash for 3.11: {checked[:5]}"


def run_probe(function_dir: Path, layer_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """Imports the handler as Lambda would (no bytecode written) and serves one request."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(proxy_event("GET", "/openapi.json")))
    out = tmp_path / "out.json"
    runtime = runtime_dir(tmp_path / "runtime")
    env = {
        **FAKE_AWS_ENV,
        "TABLE_NAME": "reservations-probe",
        "POWERTOOLS_SERVICE_NAME": "reservations",
        "POWERTOOLS_METRICS_NAMESPACE": "SoftReservations",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # As a stage deployed with EnableApiDocs=true: the document needs no token.
        "API_DOCS_ENABLED": "true",
        "PATH": os.environ.get("PATH", ""),
    }
    result = subprocess.run(
        [
            # -B: nothing written, as in Lambda, whose code and layers are read-only.
            sys.executable, "-I", "-S", "-B", "-c", PROBE,
            str(function_dir), str(layer_dir), str(runtime), str(event), str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    probe: dict[str, Any] = json.loads(out.read_text())
    return probe


def compiled_from(probe: dict[str, Any], *roots: Path) -> list[str]:
    return [f for f in probe["compiled"] if any(f.startswith(f"{root}{os.sep}") for root in roots)]


def test_built_function_imports_and_serves_from_the_layer_alone(
    sam_build: Build, tmp_path: Path
) -> None:
    probe = run_probe(sam_build.function, sam_build.layer_python, tmp_path)

    assert probe["collector_enabled"], "the garbage collector was left paused after init"
    # Init's objects (tens of thousands) are frozen; what the collector still tracks is
    # what came after, not the whole init again in the first request's collection.
    assert probe["frozen"] > 10_000, probe["frozen"]
    assert probe["tracked_after_init"] < probe["frozen"] / 10, {
        k: probe[k] for k in ("frozen", "tracked_after_init")
    }
    response = probe["response"]
    assert response["statusCode"] == 200, response
    document = json.loads(response["body"])
    assert "/reservations" in document["paths"]

    runtime = probe["runtime"]
    allowed = [str(sam_build.function), str(sam_build.layer_python), runtime]
    allowed += [p for p in probe["stdlib"] if p]
    strays = [f for f in probe["files"] if not any(f.startswith(p + os.sep) for p in allowed)]
    assert not strays, f"modules loaded from outside the artifact: {strays[:10]}"
    loaded_from = {
        name: [f for f in probe["files"] if f"{os.sep}{name}{os.sep}" in f][:1]
        for name in ("reservations", "pydantic", "pydantic_core", "aws_lambda_powertools", "ulid")
    }
    for name, files in loaded_from.items():
        assert files, f"{name} was not imported"
        assert files[0].startswith(str(sam_build.layer_python)), (name, files)
    assert any(f.startswith(str(sam_build.function)) for f in probe["files"])
    compiled = compiled_from(probe, sam_build.function, sam_build.layer_python)
    assert not compiled, f"{len(compiled)} modules compiled at import: {compiled[:5]}"


def test_bytecode_is_still_used_after_the_zip_round_trip_of_a_deploy(
    sam_build: Build, tmp_path: Path
) -> None:
    # `sam deploy` zips the artifact and Lambda unpacks it; source mtimes do not survive
    # exactly (zip keeps 2 s steps; Python's zipfile sets none at all), so timestamp-based
    # .pyc files would look stale and every cold start would compile the modules again.
    unpacked = {}
    for name, directory in (("function", sam_build.function), ("layer", sam_build.layer_python)):
        archive = shutil.make_archive(str(tmp_path / name), "zip", directory)
        unpacked[name] = tmp_path / f"{name}-unpacked"
        shutil.unpack_archive(archive, unpacked[name])
    probe = run_probe(unpacked["function"], unpacked["layer"], tmp_path)

    assert probe["response"]["statusCode"] == 200, probe["response"]
    assert any(f.startswith(f"{unpacked['layer']}{os.sep}reservations") for f in probe["files"])
    compiled = compiled_from(probe, unpacked["function"], unpacked["layer"])
    assert not compiled, f"{len(compiled)} modules compiled at import: {compiled[:5]}"


@pytest.mark.parametrize(
    ("name", "uri"), [("ApiFunction", "CodeUri"), ("DomainLayer", "ContentUri")]
)
def test_built_template_points_at_the_build(sam_build: Build, name: str, uri: str) -> None:
    built = (sam_build.root / "template.yaml").read_text()
    assert re.search(rf"^\s+{uri}: {name}$", built, re.MULTILINE), f"{name} {uri} not rewritten"
    assert (sam_build.root / name).is_dir()
