"""A contention-faithful DynamoDB: an HTTP proxy on a free loopback port in front of
DynamoDB Local that adds what DynamoDB does and DynamoDB Local does not (rules.py):
transaction conflicts, per-partition write throughput, and optionally a latency per
request. Every other byte goes through unchanged.

Any process that takes ``AWS_ENDPOINT_URL`` can use it, so the API's worker processes
share one set of in-flight items, as they share one table in AWS:

    with ContentionProxy(dynamodb_local.endpoint) as engine:
        client = botocore.session.get_session().create_client(
            "dynamodb", endpoint_url=engine.endpoint, ...)

Written on the standard library's ``http.server`` and ``http.client``, as the local API
adapter is: a forwarding proxy is a few dozen lines there, and the libraries that do more
(mitmproxy, aiohttp) would bring their own event loops for nothing this needs.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import cast
from urllib.parse import urlsplit

from local.engines import HOST
from local.template import table_properties

from .errors import Answer, CapacityMode, refusal_response
from .latency import Latency
from .requests import KeySchema, Operation, operation_of
from .rules import Limits, Refusal, Rules, Ticket

# Hop-by-hop headers (RFC 9110 section 7.6.1) are the proxy's own, never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
UPSTREAM_TIMEOUT_SECONDS = 60.0


def template_key_schema() -> KeySchema:
    """The key of every table the local stack makes: template.yaml's own definition."""
    return KeySchema.from_key_schema(table_properties()["KeySchema"])


class ContentionProxy:
    """The engine's endpoint with DynamoDB's contention rules in front; an ``Engine``."""

    name = "faithful"

    def __init__(
        self,
        upstream: str,
        *,
        limits: Limits | None = None,
        latency: Latency | None = None,
        mode: CapacityMode = CapacityMode.ON_DEMAND,
        key_schema: KeySchema | None = None,
        port: int = 0,
        seed: int | None = None,
    ) -> None:
        split = urlsplit(upstream)
        self.upstream = (split.hostname or HOST, split.port or 80)
        self.rules = Rules(limits)
        self.latency = latency or Latency()
        self.mode = mode
        self.key_schema = key_schema or template_key_schema()
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._windows_lock = threading.Lock()
        self.windows: dict[str, list[float]] = defaultdict(list)
        self._server = _Server((HOST, port), self)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="contention-proxy", daemon=True
        )
        self._thread.start()

    def reset_stats(self) -> None:
        """Forget the counts and windows so far (between measured rounds)."""
        self.rules.stats.counts.clear()
        with self._windows_lock:
            self.windows.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ContentionProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- one request ------------------------------------------------------------------

    def judge(
        self, target: str | None, body: bytes
    ) -> tuple[Operation | None, Ticket | Refusal | None]:
        """The operation and the rules' verdict (None: a request the rules leave alone)."""
        try:
            operation = operation_of(target, body, self.key_schema)
        except (ValueError, KeyError, TypeError, StopIteration):
            return None, None  # malformed: the engine answers it as it would
        if operation is None:
            return None, None
        return operation, self.rules.admit(operation)

    def delay(self) -> float:
        with self._rng_lock:
            return self.latency.sample(self._rng)

    def record(self, name: str, seconds: float) -> None:
        with self._windows_lock:
            self.windows[name].append(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once in the races and benchmarks

    def __init__(self, address: tuple[str, int], proxy: ContentionProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120

    @property
    def proxy(self) -> ContentionProxy:
        return cast(_Server, self.server).proxy

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the engines it stands for log nothing per request either."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation, verdict = self.proxy.judge(self.headers.get("X-Amz-Target"), body)
        if isinstance(verdict, Refusal):
            assert operation is not None
            self._answer(refusal_response(operation, verdict, self.proxy.mode))
            return
        started = time.perf_counter()
        try:
            pause = self.proxy.delay()
            if pause > 0:
                time.sleep(pause)  # the request's own time at the service, items held
            answer = self._forward(body)
        finally:
            if verdict is not None:
                self.proxy.rules.release(verdict)
        if operation is not None:
            self.proxy.record(operation.name, time.perf_counter() - started)
        self._answer(answer)

    do_GET = do_PUT = do_DELETE = do_POST

    def _forward(self, body: bytes) -> Answer:
        headers = {
            name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP
        }
        headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            connection = self._upstream(fresh=attempt > 0)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive upstream connection the engine had closed: nothing was
                # processed, so it is sent once more on a new one.
                connection.close()
                if attempt:
                    raise
                continue
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            kept["Content-Length"] = str(len(payload))
            return Answer(response.status, kept, payload)
        raise AssertionError("unreachable")

    def _upstream(self, fresh: bool) -> http.client.HTTPConnection:
        """This connection's own keep-alive connection to the engine."""
        connection: http.client.HTTPConnection | None = getattr(self, "_connection", None)
        if connection is None or fresh:
            host, port = self.proxy.upstream
            connection = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT_SECONDS)
            self._connection = connection
        return connection

    def finish(self) -> None:
        with contextlib.suppress(Exception):
            super().finish()
        connection = getattr(self, "_connection", None)
        if connection is not None:
            connection.close()

    def _answer(self, answer: Answer) -> None:
        self.send_response_only(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
