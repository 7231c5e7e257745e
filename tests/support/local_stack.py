"""``make run`` (``python -m local.run``) started in its own process for a test, and what
the tests of the local stack use on it: HTTP calls with a local token, the processes it runs,
the lines it prints."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from local.auth import issue_token
from local.engines import free_port
from local.template import ROOT

START_TIMEOUT = 90.0
READY_LINE = "Ctrl-C stops everything."
PYTHONPATH = os.pathsep.join(str(ROOT / p) for p in ("layers/domain", "functions/api", "."))


# --- HTTP ---------------------------------------------------------------------------------

# The channel every call below acts as unless it sends its own Authorization header; its
# token is signed with the local development key, which `make run` verifies.
CALLER_SCOPES = (
    "reservations/read",
    "reservations/write",
    "inventory/read",
    "inventory/write",
)


def token(channel: str = "storefront", scopes: tuple[str, ...] = CALLER_SCOPES) -> str:
    return issue_token(channel, scopes)


def bearer(channel: str = "storefront", scopes: tuple[str, ...] = CALLER_SCOPES) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(channel, scopes)}"}


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    url: str,
    body: Any = None,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **bearer(), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


# --- processes ----------------------------------------------------------------------------


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (the stack's workers), from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    port: int
    out: Path
    err: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    @property
    def engine_endpoint(self) -> str:
        found = re.search(r"export AWS_ENDPOINT_URL(?:_DYNAMODB)?=(\S+)", self.stdout())
        assert found, self.stdout()
        return found.group(1)

    # Generous: a loaded runner stops a stack slowly; how fast it stops is the signal tests'.
    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Its own session: the group is the stack and its workers, nothing else.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_stack(logs: Path, env: Mapping[str, str] | None = None) -> Stack:
    port = free_port()
    # Neither endpoints nor the test session's log level: `make run` chooses its own.
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_ENDPOINT_URL") and key != "POWERTOOLS_LOG_LEVEL"
    }
    full_env |= {
        "PYTHONPATH": PYTHONPATH,
        "PYTHONUNBUFFERED": "1",
        "TABLE_NAME": f"reservations-{uuid.uuid4().hex[:8]}",
        **(env or {}),
    }
    name = uuid.uuid4().hex[:8]
    out, err = logs / f"run-{name}.out", logs / f"run-{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run", "--engine", "moto", "--port", str(port)],
            cwd=ROOT,
            env=full_env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    stack = Stack(process, port, out, err)
    deadline = time.monotonic() + START_TIMEOUT
    while READY_LINE not in stack.stdout():
        if process.poll() is not None or time.monotonic() > deadline:
            stack.stop(signal.SIGKILL)
            pytest.fail(f"local.run did not start:\n{stack.stdout()}\n{stack.stderr()}")
        time.sleep(0.1)
    return stack


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:10]}"


def read_until_closed(sock: socket.socket) -> str:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received.decode()


def printed(stack: Stack, label: str) -> str:
    found = re.search(rf"^  {label}\s+(\S+)$", stack.stdout(), re.M)
    assert found, stack.stdout()
    return found.group(1)


def wait_for(found: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result
