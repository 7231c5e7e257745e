"""``make drift``: 0 clean, 1 on drift, 2 with one line when it could not check, run as a
developer runs it, with no region or credentials of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping

import botocore.session
import pytest

from local.catalogue import seed
from local.engines import Engine, free_port
from local.template import ROOT, ensure_table
from reservations.bootstrap import CLIENT_CONFIG
from reservations.store import Store
from reservations.store.keys import stock_key
from tests.conftest import client_for
from tests.support.local_stack import PYTHONPATH


def drift(env: Mapping[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    # As in a fresh shell: no AWS settings but those given (the export line of `make run`).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_NAME"))}
    return subprocess.run(
        list(command) or [sys.executable, "-m", "local.drift"],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": PYTHONPATH, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def seeded(moto_server: Engine) -> Iterator[dict[str, str]]:
    client = client_for(moto_server.endpoint)
    name = f"drift-{uuid.uuid4().hex[:8]}"
    ensure_table(client, name)
    seed(Store(client, name))
    yield {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": name}
    client.delete_table(TableName=name)


def test_a_clean_table_exits_0(seeded: dict[str, str]) -> None:
    done = drift(seeded)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no drift"


def test_drift_exits_1_and_lists_each_difference(seeded: dict[str, str]) -> None:
    client_for(seeded["AWS_ENDPOINT_URL"]).update_item(
        TableName=seeded["TABLE_NAME"],
        Key=stock_key("MUG-BLUE", "WH-LONDON"),
        UpdateExpression="SET reserved = :r",
        ExpressionAttributeValues={":r": {"N": "4"}},
    )
    done = drift(seeded)
    assert done.returncode == 1, done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("DRIFT ")]
    assert len(problems) == 2, done.stdout  # available != onHand - reserved; nothing holds 4
    assert all("MUG-BLUE" in line for line in problems)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "no endpoint to check"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:{closed}"}, "Could not connect"),
        ({"AWS_ENDPOINT_URL": "{moto}", "TABLE_NAME": "no-such-table"}, "no table no-such-table"),
    ],
    ids=["no-endpoint", "nothing-listening", "no-table"],
)
def test_when_it_cannot_check_it_exits_2_with_one_line(
    moto_server: Engine, env: dict[str, str], says: str
) -> None:
    filled = {k: v.format(closed=free_port(), moto=moto_server.endpoint) for k, v in env.items()}
    done = drift(filled)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("drift: ") and says in done.stderr, done.stderr


def test_make_drift_runs_on_a_fresh_shell(seeded: dict[str, str]) -> None:
    done = drift(seeded, "make", "-s", "drift")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no drift"
    # make reports any failure as its own 2; the check's one line comes first.
    failed = drift({}, "make", "-s", "drift")
    assert failed.returncode == 2
    assert failed.stderr.splitlines()[0].startswith("drift: no endpoint to check")
    assert "Traceback" not in failed.stderr


def test_on_dynamodb_local_it_finds_the_table_make_run_made(dynamodb_local: Engine) -> None:
    # DynamoDB Local keeps one set of tables per access key and region: made with the local
    # stack's placeholders, a table is seen only with the same ones, which drift applies.
    client = botocore.session.get_session().create_client(
        "dynamodb",
        endpoint_url=dynamodb_local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=CLIENT_CONFIG,
    )
    name = f"drift-{uuid.uuid4().hex[:8]}"
    ensure_table(client, name)
    try:
        seed(Store(client, name))
        done = drift({"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint, "TABLE_NAME": name})
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0].startswith("5 stock records")
    finally:
        client.delete_table(TableName=name)
