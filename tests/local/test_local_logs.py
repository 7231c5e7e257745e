"""What ``make run`` logs: one short line per request, the functions' structured logs only
when asked for, and a client that hangs up early as one line, not a traceback."""

from __future__ import annotations

import json
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local.engines import Engine
from local.request_log import CLIENT_LEFT, request_line, reservation_of
from local.run import functions_log_level, parse_args
from local.server import LocalApi
from tests.conftest import client_for, fresh_table
from tests.support.local_stack import call, start_stack

# --- the line ------------------------------------------------------------------------------


def answer(body: object) -> dict[str, object]:
    return {"statusCode": 201, "body": json.dumps(body)}


def test_the_hold_comes_from_the_path_or_from_a_new_holds_answer() -> None:
    assert reservation_of("GET", "/reservations/r-1/confirm?x=1", None, None) == "r-1"
    created = answer({"id": "r-2", "status": "ACTIVE"})
    assert reservation_of("POST", "/reservations", b'{"id": "r-2"}', created) == "r-2"
    # Without an id of its own, a new hold's id is in the answer alone.
    assert reservation_of("POST", "/reservations", b'{"items": []}', created) == "r-2"
    # Refused, it is the id the client asked for.
    refused = {"statusCode": 409, "body": '{"error": "INSUFFICIENT_STOCK"}'}
    assert reservation_of("POST", "/reservations", b'{"id": "r-3"}', refused) == "r-3"
    assert reservation_of("POST", "/reservations", b"[" * 100_000, refused) is None
    assert reservation_of("GET", "/reservations?orderId=o-1", None, answer({"id": "x"})) is None
    assert reservation_of("GET", "/inventory/MUG-BLUE", None, answer({"id": "x"})) is None


def test_the_line_is_method_path_status_time_and_hold() -> None:
    line = request_line("POST", "/reservations", 201, 12.34, "r-2")
    assert line == "POST /reservations 201 12.3ms reservation=r-2"
    left = request_line("GET", "/inventory/A", 200, 1.0, client_left=True)
    assert left == f"GET /inventory/A 200 1.0ms ({CLIENT_LEFT})"


# --- a client that hangs up ----------------------------------------------------------------


@pytest.fixture(scope="module")
def loud_api(moto_server: Engine) -> Iterator[LocalApi]:
    """The API with its request lines on, as ``make run`` has it."""
    for table in fresh_table(client_for(moto_server.endpoint)):
        env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": table}
        with LocalApi(port=0, workers=1, env=env) as running:
            yield running


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client killed mid-request does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def mid_headers(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n")
    time.sleep(0.2)
    reset(sock)


def mid_body(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /reservations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    time.sleep(0.2)
    reset(sock)


def before_the_answer(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
    reset(sock)


@pytest.mark.parametrize("hang_up", [mid_headers, mid_body, before_the_answer])
def test_a_client_that_hangs_up_is_one_line(
    loud_api: LocalApi, hang_up: Callable[[int], None], capfd: pytest.CaptureFixture[str]
) -> None:
    port = int(loud_api.url.rsplit(":", 1)[1])
    hang_up(port)
    # The next request's line shows the server has written whatever it had to say.
    deadline = time.monotonic() + 10
    logged = ""
    while "GET /swagger " not in logged:
        assert time.monotonic() < deadline, logged
        time.sleep(0.5)
        assert call("GET", f"{loud_api.url}/swagger").status == 200
        logged += capfd.readouterr().err
    before_next = logged.split("GET /swagger ", 1)[0].strip().splitlines()
    assert "Traceback" not in logged, logged
    assert len(before_next) == 1, logged
    if hang_up is before_the_answer and " 200 " in before_next[0]:
        # The answer went out before the reset arrived: the request's own line, no more.
        assert before_next[0].startswith("GET /openapi.json 200 "), logged
    else:
        assert CLIENT_LEFT in before_next[0], logged


def test_a_reset_after_the_last_answer_is_not_a_client_that_left(
    loud_api: LocalApi, capfd: pytest.CaptureFixture[str]
) -> None:
    port = int(loud_api.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert sock.recv(64).startswith(b"HTTP/1.1 200")
    time.sleep(0.2)  # the rest of the answer is written; the connection is idle
    reset(sock)
    assert call("GET", f"{loud_api.url}/swagger").status == 200
    time.sleep(0.2)
    lines = capfd.readouterr().err.strip().splitlines()
    assert lines[0].startswith("GET /openapi.json 200 "), lines
    assert lines[1].startswith("GET /swagger 200 "), lines
    assert len(lines) == 2, lines


# --- the functions' own logs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({}, "WARNING"),
        ({"VERBOSE": "1"}, "DEBUG"),
        ({"VERBOSE": "0"}, "WARNING"),
        ({"LOG_LEVEL": "info"}, "INFO"),
        ({"LOG_LEVEL": "ERROR", "VERBOSE": "1"}, "ERROR"),
    ],
)
def test_the_functions_log_level(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], level: str
) -> None:
    for name in ("VERBOSE", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert functions_log_level(parse_args([])) == level


def test_a_log_level_python_does_not_have_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(SystemExit):
        parse_args([])


def structured(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_verbose_brings_back_the_functions_structured_log(tmp_path: Path) -> None:
    running = start_stack(tmp_path, {"VERBOSE": "1"})
    try:
        line = {"sku": "MUG-BLUE", "location": "WH-LONDON", "quantity": 1}
        hold = {"id": f"v-{uuid.uuid4().hex[:8]}", "items": [line]}
        assert call("POST", f"{running.url}/reservations", hold).status == 201
        deadline = time.monotonic() + 10
        while not [e for e in structured(running.stdout()) if e.get("message") == "request"]:
            assert time.monotonic() < deadline, running.stdout()
            time.sleep(0.1)
        [logged] = [e for e in structured(running.stdout()) if e.get("message") == "request"]
        assert (logged["method"], logged["status"], logged["channel"]) == (
            "POST",
            201,
            "storefront",
        )
        # The short line stays (the server writes it once the answer has gone).
        while "POST /reservations 201 " not in running.stderr():
            assert time.monotonic() < deadline, running.stderr()
            time.sleep(0.1)
    finally:
        assert running.stop() == 0, running.stderr()


def test_a_stop_signal_is_not_swallowed_by_code_that_catches_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CI saw `make run` ignore SIGTERM: it landed while botocore built a client, inside an
    ``except Exception``. The signal now raises a BaseException and also leaves a request
    that the final wait sees."""
    import signal

    from local import stop_signals

    monkeypatch.setattr(stop_signals, "requested", [])
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # no real handlers touched

    def library_code_interrupted_by(signum: int) -> None:
        try:
            stop_signals.on_signal(signum, None)
        except Exception:  # what a library may do around the code the signal interrupts
            pytest.fail("Stopped was caught as an Exception")

    for signum in (signal.SIGINT, signal.SIGTERM):
        with pytest.raises(stop_signals.Stopped):
            library_code_interrupted_by(signum)
    assert stop_signals.requested == ["SIGINT", "SIGTERM"]
    with pytest.raises(stop_signals.Stopped, match="SIGINT"):
        stop_signals.wait_for_stop()  # a swallowed raise still ends the wait
