"""``LocalApi`` used directly, as the benchmark uses it, and its proxy-response translation."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.engines import Engine, port_is_free
from local.proxy_response import MalformedResponse, proxy_status, response_body, response_headers
from local.server import LocalApi
from tests.conftest import local_api_on
from tests.support.local_stack import (
    Reply,
    alive,
    call,
    children,
    read_until_closed,
    token,
)


@pytest.fixture
def api(dynamodb_local: Engine, local_table: str) -> Iterator[LocalApi]:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint, "TABLE_NAME": local_table}
    with LocalApi(port=0, workers=3, env=env, quiet=True) as running:
        yield running


def workers_of_this_process() -> set[int]:
    spawned = set()
    for pid in children(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            spawned.add(pid)
    return spawned


def gone(pids: set[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_reserve_and_get_round_trip_on_dynamodb_local(api: LocalApi) -> None:
    assert call("PUT", f"{api.url}/inventory/SKU-1/locations/WH1", {"onHand": 4}).status == 200
    request = {"id": "checkout-7", "items": [{"sku": "SKU-1", "location": "WH1", "quantity": 3}]}
    created = call("POST", f"{api.url}/reservations", request)
    assert created.status == 201, created.body
    fetched = call("GET", f"{api.url}/reservations/checkout-7")
    assert fetched.status == 200
    assert fetched.json == created.json
    inventory = call("GET", f"{api.url}/inventory/SKU-1").json
    assert (inventory["onHand"], inventory["reserved"], inventory["available"]) == (4, 3, 1)
    short = call("POST", f"{api.url}/reservations", {**request, "id": "checkout-8"})
    assert short.status == 409
    assert short.json["error"] == "INSUFFICIENT_STOCK"


def test_concurrent_requests_never_oversell(api: LocalApi) -> None:
    """Many clients at once through HTTP and the worker pool: the table decides, exactly."""
    assert call("PUT", f"{api.url}/inventory/SKU-HOT/locations/WH1", {"onHand": 10}).status == 200

    def reserve(n: int) -> Reply:
        line = {"sku": "SKU-HOT", "location": "WH1", "quantity": 1}
        return call("POST", f"{api.url}/reservations", {"id": f"c-{n}", "items": [line]})

    with ThreadPoolExecutor(max_workers=16) as clients:
        statuses = sorted(reply.status for reply in clients.map(reserve, range(24)))
    assert statuses == [201] * 10 + [409] * 14
    inventory = call("GET", f"{api.url}/inventory/SKU-HOT").json
    assert (inventory["reserved"], inventory["available"]) == (10, 0)


def test_stop_frees_the_port_ends_the_workers_and_is_idempotent(
    dynamodb_local: Engine, local_table: str
) -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint, "TABLE_NAME": local_table}
    api = LocalApi(port=0, workers=2, env=env, quiet=True)
    with pytest.raises(RuntimeError):
        _ = api.url
    api.start()
    port = int(api.url.rsplit(":", 1)[1])
    workers = workers_of_this_process()
    assert len(workers) == 2
    assert call("GET", f"{api.url}/openapi.json").status == 200
    api.stop()
    api.stop()
    assert port_is_free(port)
    assert gone(workers)
    with pytest.raises(RuntimeError):
        api.start()


def test_a_function_that_cannot_start_fails_start() -> None:
    # The handler builds its client at import; botocore refuses this endpoint there.
    api = LocalApi(port=0, workers=1, env={"AWS_ENDPOINT_URL": "not a url"}, quiet=True)
    with pytest.raises(RuntimeError, match="failed to start"):
        api.start()
    assert gone(workers_of_this_process())


# --- request framing (RFC 9112 section 6) --------------------------------------------------


@pytest.fixture(scope="module")
def moto_api(moto_server: Engine) -> Iterator[LocalApi]:
    with local_api_on(moto_server, workers=1) as running:
        yield running


def smuggled(sku: str) -> bytes:
    """A request that must never run: it sets the stock of ``sku``."""
    body = b'{"onHand": 99}'
    return (
        f"PUT /inventory/{sku}/locations/WH1 HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {token()}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


FRAMINGS = {
    # A proxy in front that reads Content-Length sends this as one request; read by
    # Transfer-Encoding it is an empty body and then a second request.
    "content-length-and-chunked": b"Content-Length: {length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked-then-content-length": b"Transfer-Encoding: chunked\r\nContent-Length: {length}\r\n\r\n0\r\n\r\n",
    "a-coding-other-than-chunked": b"Transfer-Encoding: identity\r\n\r\n",
    "chunked-not-last": b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "two-content-lengths": b"Content-Length: 0\r\nContent-Length: {length}\r\n\r\n",
    "a-signed-content-length": b"Content-Length: +0\r\n\r\n",
}


@pytest.mark.parametrize("framing", list(FRAMINGS), ids=list(FRAMINGS))
def test_ambiguous_framing_is_refused_and_the_connection_closed(
    moto_api: LocalApi, framing: str
) -> None:
    sku = f"SMUGGLED-{uuid.uuid4().hex[:8]}"
    behind = smuggled(sku)
    head = (
        b"POST /reservations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token()}\r\n".encode()
        + FRAMINGS[framing].replace(b"{length}", str(5 + len(behind)).encode())
    )
    with socket.create_connection(("127.0.0.1", int(moto_api.url.rsplit(":", 1)[1])), 10) as sock:
        sock.sendall(head + behind)
        sock.shutdown(socket.SHUT_WR)
        answer = read_until_closed(sock)
    assert answer.startswith("HTTP/1.1 400 "), answer
    assert "\r\nConnection: close\r\n" in answer
    assert answer.count("HTTP/1.1 ") == 1, answer  # nothing answered after it
    # The error shape the OpenAPI document promises for every 400.
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["error"] == "MALFORMED_BODY"

    assert call("GET", f"{moto_api.url}/inventory/{sku}").status == 404  # nor run


def test_a_chunked_body_alone_is_read(moto_api: LocalApi) -> None:
    body = b'{"onHand": 7}'
    with socket.create_connection(("127.0.0.1", int(moto_api.url.rsplit(":", 1)[1])), 10) as sock:
        sock.sendall(
            b"PUT /inventory/CHUNKED/locations/WH1 HTTP/1.1\r\nHost: localhost\r\n"
            + f"Authorization: Bearer {token()}\r\n".encode()
            + b"Content-Type: application/json\r\nTransfer-Encoding: Chunked\r\n"
            + b"Connection: close\r\n\r\n"
            + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        )
        answer = read_until_closed(sock)
    assert answer.startswith("HTTP/1.1 200 "), answer
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["onHand"] == 7


# --- the proxy response as API Gateway turns it into HTTP --------------------------------


def test_multi_value_headers_win_over_single_ones_of_the_same_name() -> None:
    result: dict[str, Any] = {
        "statusCode": 200,
        "headers": {"X-One": "a", "set-cookie": "ignored", "Content-Length": "999"},
        "multiValueHeaders": {"Set-Cookie": ["x=1", "y=2"], "Content-Type": ["text/plain"]},
    }
    assert sorted(response_headers(result)) == [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "x=1"),
        ("Set-Cookie", "y=2"),
        ("X-One", "a"),
    ]


def test_content_type_defaults_to_json_as_in_api_gateway() -> None:
    assert response_headers({"statusCode": 204}) == [("Content-Type", "application/json")]


def test_bodies_are_text_or_base64() -> None:
    assert response_body({"statusCode": 200, "body": "é"}) == "é".encode()
    binary = bytes(range(256))
    encoded = base64.b64encode(binary).decode()
    assert response_body({"statusCode": 200, "body": encoded, "isBase64Encoded": True}) == binary
    assert response_body({"statusCode": 204}) == b""
    with pytest.raises(MalformedResponse):
        response_body({"statusCode": 200, "body": "%%%", "isBase64Encoded": True})
    with pytest.raises(MalformedResponse):
        response_body({"statusCode": 200, "body": {"not": "a string"}})


@pytest.mark.parametrize(
    "result", [None, [], {}, {"statusCode": "200"}, {"statusCode": 99}, {"statusCode": True}]
)
def test_a_malformed_proxy_response_is_rejected(result: Any) -> None:
    with pytest.raises(MalformedResponse):
        proxy_status(result)
