"""``make run`` as a developer uses it: ``python -m local.run`` in its own process, over HTTP."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from local.auth import issue_token
from local.catalogue import DEMO_CATALOGUE
from local.engines import Engine, free_port
from local.template import ROOT
from tests.conftest import client_for, sqs_client_for

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


def port_is_free(port: int) -> bool:
    """A new server can listen on it (closed connections may still sit in TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A fast sweeper, so a test can watch an abandoned hold give its stock back.
    running = start_stack(tmp_path_factory.mktemp("local-stack"), {"SWEEP_INTERVAL_SECONDS": "0.5"})
    yield running
    assert running.stop() == 0, running.stderr()


def sku() -> str:
    return f"SKU-{uuid.uuid4().hex[:10]}"


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


def test_reservation_round_trip_over_http(stack: Stack) -> None:
    item = sku()
    assert call("PUT", f"{stack.url}/inventory/{item}/locations/WH1", {"onHand": 5}).status == 200
    request = {"id": f"order-{item}", "items": [{"sku": item, "location": "WH1", "quantity": 2}]}

    created = call("POST", f"{stack.url}/reservations", request)
    assert created.status == 201, created.body
    assert created.headers["Content-Type"] == "application/json"
    assert created.headers["x-amzn-RequestId"]
    replay = call("POST", f"{stack.url}/reservations", request)
    assert replay.status == 200, replay.body
    assert replay.json == created.json

    inventory = call("GET", f"{stack.url}/inventory/{item}").json
    assert (inventory["onHand"], inventory["reserved"], inventory["available"]) == (5, 2, 3)
    fetched = call("GET", f"{stack.url}/reservations/{request['id']}")
    assert fetched.status == 200
    assert fetched.json["status"] == "ACTIVE"

    cancelled = call("DELETE", f"{stack.url}/reservations/{request['id']}")
    assert cancelled.status == 200, cancelled.body
    assert cancelled.json["status"] == "CANCELLED"
    inventory = call("GET", f"{stack.url}/inventory/{item}").json
    assert (inventory["reserved"], inventory["available"]) == (0, 5)
    # One short line per request, naming the hold; the functions' JSON log stays quiet.
    hold = f"reservation={request['id']}"
    assert re.search(rf"^POST /reservations 201 [\d.]+ms {hold}$", stack.stderr(), re.M)
    assert re.search(
        rf"^DELETE /reservations/{request['id']} 200 [\d.]+ms {hold}$", stack.stderr(), re.M
    )
    assert not [line for line in stack.stdout().splitlines() if line.startswith("{")]


def test_the_sweeper_frees_an_abandoned_hold_through_its_handler(stack: Stack) -> None:
    item = sku()
    call("PUT", f"{stack.url}/inventory/{item}/locations/WH1", {"onHand": 4})
    request = {"items": [{"sku": item, "location": "WH1", "quantity": 3}], "expiresInSeconds": 1}
    reservation = call("POST", f"{stack.url}/reservations", request).json
    assert call("GET", f"{stack.url}/inventory/{item}").json["available"] == 1
    assert "sweeper    every 0.5s" in stack.stdout()
    deadline = time.monotonic() + 10
    while call("GET", f"{stack.url}/inventory/{item}").json["available"] != 4:
        assert time.monotonic() < deadline, "the local sweeper did not release the expired hold"
        time.sleep(0.2)
    # Released by the sweeper's transition (not merely read as expired): the line shows it.
    stored = call("GET", f"{stack.url}/reservations/{reservation['id']}").json
    assert stored["status"] == "EXPIRED"
    assert [(i["held"], i["released"]) for i in stored["items"]] == [(0, 3)]


def test_serves_swagger_and_the_openapi_document(stack: Stack) -> None:
    page = call("GET", f"{stack.url}/swagger")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in page.body.lower()
    document = call("GET", f"{stack.url}/openapi.json")
    assert document.status == 200
    assert {"/reservations", "/inventory/{sku}"} <= set(document.json["paths"])


def test_unknown_route_is_api_gateways_403(stack: Stack) -> None:
    reply = call("GET", f"{stack.url}/nowhere")
    assert (reply.status, reply.json) == (403, {"message": "Missing Authentication Token"})


def test_keeps_connections_alive(stack: Stack) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/openapi.json")
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["openapi"]
            assert response.getheader("Connection") != "close"
    finally:
        connection.close()


def read_until_closed(sock: socket.socket) -> str:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received.decode()


class TestOversizedBodies:
    def test_a_2_mib_body_gets_413_not_a_500(self, stack: Stack) -> None:
        logged = len(stack.stderr())
        reply = call("POST", f"{stack.url}/reservations", data=b"x" * (2 * 1024 * 1024))
        assert reply.status == 413
        assert reply.json["error"] == "PAYLOAD_TOO_LARGE"
        assert call("GET", f"{stack.url}/openapi.json").status == 200  # still serving
        log = stack.stderr()[logged:]
        assert re.search(r"^POST /reservations 413 ", log, re.M), log
        assert not re.search(r"^\S+ \S+ 5\d\d ", log, re.M), log

    def test_expect_100_continue_is_refused_before_the_body_is_sent(self, stack: Stack) -> None:
        with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
            sock.sendall(
                b"POST /reservations HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2097152\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            answer = read_until_closed(sock)
        assert answer.startswith("HTTP/1.1 413"), answer
        assert "PAYLOAD_TOO_LARGE" in answer

    def test_a_chunked_body_over_the_limit_gets_413(self, stack: Stack) -> None:
        chunk = b"x" * 65536
        with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
            sock.sendall(
                b"POST /reservations HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            try:
                for _ in range(32):  # 2 MiB
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # refused midway: the answer is already waiting
            answer = read_until_closed(sock)
        assert answer.startswith("HTTP/1.1 413"), answer
        assert "PAYLOAD_TOO_LARGE" in answer

    def test_under_the_server_limit_the_function_refuses_with_its_own_limit(
        self, stack: Stack
    ) -> None:
        reply = call("POST", f"{stack.url}/reservations", data=b" " * (100 * 1024))
        assert reply.status == 413
        assert reply.json["error"] == "PAYLOAD_TOO_LARGE"
        assert "65536" in reply.json["message"]


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


# --- the ERP queue --------------------------------------------------------------------------


def printed(stack: Stack, label: str) -> str:
    found = re.search(rf"^  {label}\s+(\S+)$", stack.stdout(), re.M)
    assert found, stack.stdout()
    return found.group(1)


def test_the_printed_erp_send_reaches_the_erp_function(stack: Stack) -> None:
    [command] = [line.strip() for line in stack.stdout().splitlines() if "make erp-send" in line]
    body = json.loads(re.search(r"BODY='(.+)'", command).group(1))  # type: ignore[union-attr]

    def on_hand() -> int:
        levels = call("GET", f"{stack.url}/inventory/{body['sku']}").json["locations"]
        found: int = {x["location"]: x["onHand"] for x in levels}[body["location"]]
        return found

    assert on_hand() != body["onHand"], "the example would change nothing: it proves nothing"
    sent = subprocess.run(
        shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + 20
    while True:
        if on_hand() == body["onHand"]:
            break
        assert time.monotonic() < deadline, "the ERP message did not take effect"
        time.sleep(0.2)


def test_a_poison_message_lands_in_the_printed_dead_letter_queue(stack: Stack) -> None:
    sqs = sqs_client_for(printed(stack, "SQS"))
    sqs.send_message(
        QueueUrl=printed(stack, "ERP queue"), MessageGroupId="X", MessageBody='{"type": "nope"}'
    )
    deadline = time.monotonic() + 20
    while True:
        got = sqs.receive_message(
            QueueUrl=printed(stack, "ERP DLQ"), MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        if got:
            break
        assert time.monotonic() < deadline, "the poison message never reached the DLQ"
    assert got[0]["Body"] == '{"type": "nope"}'
    assert (
        "unknown message type 'nope'" in got[0]["MessageAttributes"]["failureReason"]["StringValue"]
    )


def test_with_aws_endpoint_url_the_queues_are_created_on_that_endpoint(
    tmp_path: Path, moto_server: Engine
) -> None:
    env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": f"q-{uuid.uuid4().hex[:8]}"}
    running = start_stack(tmp_path, env)
    try:
        assert f"SQS        {moto_server.endpoint}\n" in running.stdout()
        urls = sqs_client_for(moto_server.endpoint).list_queues(QueueNamePrefix=env["TABLE_NAME"])
        names = sorted(url.rsplit("/", 1)[1] for url in urls["QueueUrls"])
        # The ERP's queues, and the queue of the template's example rule on the event bus.
        table = env["TABLE_NAME"]
        assert names == [f"{table}-ErpEventsQueue", f"{table}-erp-dlq.fifo", f"{table}-erp.fifo"]
    finally:
        assert running.stop() == 0


# --- the event bus --------------------------------------------------------------------------


def wait_for(found: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result


def test_events_print_as_they_pass_and_make_events_follows_them(stack: Stack) -> None:
    exports = re.search(
        r"export AWS_ENDPOINT_URL_EVENTBRIDGE=(\S+) EVENT_BUS_NAME=(\S+)", stack.stdout()
    )
    assert exports, stack.stdout()
    env = {**os.environ, "AWS_ENDPOINT_URL_EVENTBRIDGE": exports[1], "EVENT_BUS_NAME": exports[2]}
    env |= {"PYTHONPATH": PYTHONPATH, "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen(
        [sys.executable, "-m", "local.follow_events"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stderr is not None and follower.stdout is not None
        assert "following" in follower.stderr.readline()  # subscribed: what follows is seen
        rid = f"ev-{uuid.uuid4().hex[:8]}"
        first = DEMO_CATALOGUE[0]
        body = {"id": rid, "items": [{"sku": first.sku, "location": first.location, "quantity": 1}]}
        assert call("POST", f"{stack.url}/reservations", body).status == 201
        assert call("DELETE", f"{stack.url}/reservations/{rid}").status == 200
        wait_for(
            lambda: f"reservation.cancelled {rid}" in stack.stdout(), "make run printed no event"
        )
        assert f"reservation.created {rid} status=ACTIVE version=1" in stack.stdout()
        followed = [follower.stdout.readline() for _ in range(2)]
        kinds = [line.split()[1:3] for line in followed]
        assert kinds == [["reservation.created", rid], ["reservation.cancelled", rid]], followed
    finally:
        follower.terminate()
        follower.wait(timeout=15)


def test_a_dead_lettered_erp_message_is_told_on_the_bus(stack: Stack) -> None:
    sqs = sqs_client_for(printed(stack, "SQS"))
    sent = sqs.send_message(
        QueueUrl=printed(stack, "ERP queue"), MessageGroupId="Y", MessageBody='{"type": "nah"}'
    )
    wait_for(
        lambda: re.search(
            r"erp\.message\.deadLettered \S+ reason=.*unknown message type 'nah'", stack.stdout()
        ),
        "no erp.message.deadLettered was printed",
    )
    assert sent["MessageId"] in stack.stdout()
