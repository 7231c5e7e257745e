"""``make run`` as a developer uses it: ``python -m local.run`` in its own process, over HTTP.

A hold's round trip, the sweeper freeing an abandoned hold, the API documents, an unknown
route, keep-alive connections, and bodies over the size limits.
"""

from __future__ import annotations

import json
import re
import socket
import time

from tests.support.local_stack import Stack, call, read_until_closed, sku


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
