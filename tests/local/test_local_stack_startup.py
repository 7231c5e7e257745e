"""``make run`` as a developer uses it: ``python -m local.run`` in its own process, over HTTP.

What it prints and seeds as it starts (the demo catalogue, whose printed curl examples
work), how a signal stops it, the engine endpoint it is given, and the engine port that
the README's examples use.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from local.catalogue import DEMO_CATALOGUE
from local.engines import Engine, free_port, port_is_free
from local.template import ROOT
from tests.conftest import client_for
from tests.support.local_stack import (
    PYTHONPATH,
    Stack,
    alive,
    call,
    children,
    start_stack,
    token,
)

# --- the stack ----------------------------------------------------------------------------


def test_prints_the_api_the_engine_and_how_to_invoke_against_it(stack: Stack) -> None:
    out = stack.stdout()
    assert f"API        {stack.url}\n" in out
    assert f"Swagger    {stack.url}/swagger\n" in out
    table_name = re.search(r"TABLE_NAME=(\S+)", out)
    assert table_name, out
    assert "make invoke FN=api EVENT=events/" in out
    # The printed endpoint is the engine holding the table the API uses.
    client = client_for(stack.engine_endpoint)
    assert table_name.group(1) in client.list_tables()["TableNames"]


def test_seeds_the_demo_catalogue_and_its_curl_examples_work(stack: Stack) -> None:
    for stock in DEMO_CATALOGUE:
        assert re.search(
            rf"{stock.sku}\s+{stock.location}\s+{stock.on_hand}\s+0\s+{stock.on_hand}",
            stack.stdout(),
        )
    first = DEMO_CATALOGUE[0]
    before = call("GET", f"{stack.url}/inventory/{first.sku}").json
    expected = {s.location: s.on_hand for s in DEMO_CATALOGUE if s.sku == first.sku}
    assert {level["location"]: level["onHand"] for level in before["locations"]} == expected

    post, get = (
        line.strip() for line in stack.stdout().splitlines() if line.strip().startswith("curl ")
    )
    # As a developer pastes them: the printed `export TOKEN=$(make -s token ...)`, then curl.
    assert "export TOKEN=$(make -s token CHANNEL=storefront)" in stack.stdout()
    shell_env = {
        **os.environ,
        "TOKEN": token("storefront", ("reservations/write", "inventory/read")),
    }

    def shell(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", line],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
            env=shell_env,
        )

    created = shell(post)
    assert created.stdout.startswith("HTTP/1.1 201"), created.stdout
    replayed = shell(post)
    assert replayed.stdout.startswith("HTTP/1.1 200"), replayed.stdout
    inventory = shell(get)
    assert inventory.stdout.startswith("HTTP/1.1 200"), inventory.stdout
    body = json.loads(inventory.stdout.split("\n\n", 1)[1])  # text mode: CRLF read as LF
    held = json.loads(post.split("-d ", 1)[1].strip("'"))["items"][0]["quantity"]
    assert body["reserved"] == held
    assert body["available"] == sum(expected.values()) - held


# --- lifecycle ----------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_server_workers_and_engine(tmp_path: Path, signum: int) -> None:
    running = start_stack(tmp_path)
    try:
        workers = children(running.process.pid)
        assert len(workers) >= 2, workers  # two workers (and multiprocessing's tracker)
        engine_port = int(running.engine_endpoint.rsplit(":", 1)[1])
        # An idle keep-alive connection must not hold the shutdown up.
        idle = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        idle.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert idle.recv(64).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        code = running.stop(signum, timeout=10)
        elapsed = time.monotonic() - started
        idle.close()
    finally:
        running.stop(signal.SIGKILL)
    assert code == 0, running.stderr()
    assert elapsed < 9, elapsed  # an idle connection holding it up would reach the 10 s
    assert port_is_free(running.port)
    assert port_is_free(engine_port)
    # Workers are joined before exit; multiprocessing's tracker leaves once it sees EOF.
    deadline = time.monotonic() + 5
    while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]
    assert "stopped the API, its workers and the engine" in running.stderr()
    assert "Traceback" not in running.stderr(), running.stderr()


def test_uses_the_endpoint_it_is_given_and_seeds_only_a_table_it_created(
    tmp_path: Path, moto_server: Engine
) -> None:
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": moto_server.endpoint,
        "TABLE_NAME": f"mine-{uuid.uuid4().hex[:8]}",
    }
    first = start_stack(tmp_path, env)
    try:
        assert f"your endpoint at {moto_server.endpoint}" in first.stdout()
        assert "created and seeded" in first.stdout()
        assert f"export AWS_ENDPOINT_URL_DYNAMODB={moto_server.endpoint} " in first.stdout()
        assert env["TABLE_NAME"] in client_for(moto_server.endpoint).list_tables()["TableNames"]
        changed = call("PUT", f"{first.url}/inventory/MUG-BLUE/locations/WH-LONDON", {"onHand": 99})
        assert changed.status == 200
    finally:
        assert first.stop() == 0
    # The engine is not ours: it keeps running, and the table keeps what was written.
    second = start_stack(tmp_path, env)
    try:
        assert "already existed, left as is" in second.stdout()
        levels = call("GET", f"{second.url}/inventory/MUG-BLUE").json["locations"]
        assert {level["location"]: level["onHand"] for level in levels}["WH-LONDON"] == 99
    finally:
        assert second.stop() == 0


def test_make_run_puts_the_engine_on_the_readmes_port() -> None:
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "--engine-port 41873" in dry.stdout


def test_an_engine_port_in_use_is_refused_by_name() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        arguments = ["--port", str(free_port()), "--engine-port", str(busy)]
        done = subprocess.run(
            [sys.executable, "-m", "local.run", "--engine", "moto", *arguments],
            cwd=ROOT,
            env=env | {"PYTHONPATH": PYTHONPATH},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert f"cannot start moto: 127.0.0.1:{busy} is in use" in done.stderr
    assert "make run ENGINE_PORT=0" in done.stderr
