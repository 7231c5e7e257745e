"""API Gateway (REST, Lambda proxy) in front of the API function, on 127.0.0.1.

Each HTTP request becomes the proxy event API Gateway would send (``local.apigw``); the
function's proxy response becomes the HTTP response. The handler runs the way Lambda runs
it: in worker processes ("execution environments", ``local.workers``), each importing the
handler once and handling one event at a time. Never several threads in one process:
Powertools' resolver keeps the current request in module globals.

    with LocalApi(port=0, workers=4, env={"TABLE_NAME": "t"}) as api:
        urllib.request.urlopen(f"{api.url}/inventory/MUG-BLUE")
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

from reservations.http.errors import proxy_error

from .apigw import proxy_event, refuse_unrouted
from .auth import LocalAuthorizer
from .http_framing import BadFraming, BodyTooLarge, declared_length, drain, read_body
from .invoke import find_function
from .proxy_response import (
    MalformedResponse,
    gateway_error,
    proxy_status,
    response_body,
    response_headers,
)
from .request_log import CLIENT_LEFT, request_line, reservation_of
from .workers import HandlerError, InvocationTimeout, PoolStopped, WorkerDied, WorkerPool

HOST = "127.0.0.1"
# Bodies above this are refused from Content-Length alone, before they are read.
MAX_REQUEST_BYTES = 1024 * 1024
# API Gateway gives up on an integration after 29 s, whatever the function's timeout.
INTEGRATION_TIMEOUT_SECONDS = 29.0
# How long stop() lets requests in flight finish before it stops the workers.
STOP_GRACE_SECONDS = 5.0
# --- HTTP side ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open many connections at once; the default backlog of 5 drops SYNs.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], api: LocalApi) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_changed = threading.Condition()
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a closed tab, a curl cut short) is one line, not a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            if not self.api.quiet:
                sys.stderr.write(f"{client_address[0]}:{client_address[1]} {CLIENT_LEFT}\n")
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients and benchmarks expect
    server_version = "local-apigw"
    timeout = 60  # idle keep-alive connections and slow clients do not hold a thread forever
    # Headers and body go out in two writes; without TCP_NODELAY the second one can wait
    # for the client's delayed ACK (~40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True
    client_left = False  # the client hung up before its answer was written
    idle = False  # between two requests of a keep-alive connection, every answer written

    def parse_request(self) -> bool:
        self.client_left = self.idle = False  # a keep-alive connection carries many requests
        return super().parse_request()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionError:
            if not self.idle:
                raise  # hung up mid-request: ``handle_error`` says so in one line
            # A reset after the last answer is how some clients close; nothing was lost.
            self.close_connection = True

    def version_string(self) -> str:
        return self.server_version

    @property
    def api(self) -> LocalApi:
        return cast(_Server, self.server).api

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        with server.connections_changed:
            server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            server = cast(_Server, self.server)
            with server.connections_changed:
                server.connections.discard(self.connection)
                server.connections_changed.notify_all()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by one line per request, with its duration, in ``_proxy``."""

    def log_message(self, format: str, *args: Any) -> None:
        if not self.api.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def handle_expect_100(self) -> bool:
        # A client that asks first ("Expect: 100-continue") is refused before it sends.
        if declared_length(self.headers) > self.api.max_body_bytes:
            started = time.perf_counter()
            self._log_line(self._refuse_too_large(), started)
            return False
        return super().handle_expect_100()

    def do_GET(self) -> None:
        self._proxy()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) reaches the routing too, as in API Gateway,
        # never http.server's HTML 501.
        if name.startswith("do_"):
            return self._proxy
        raise AttributeError(name)

    def _proxy(self) -> None:
        started = time.perf_counter()
        status: int | str = "-"
        result: Any = None
        body: bytes | None = None
        refused_mid_body = False
        try:
            try:
                body = read_body(self.headers, self.rfile, self.api.max_body_bytes)
            except ConnectionError:
                body = None
            except BodyTooLarge:
                status, refused_mid_body = self._refuse_too_large(), True
                return
            except BadFraming as error:
                # The function's error shape, as for 413: the document promises it for 400.
                refusal = proxy_error(400, "MALFORMED_BODY", str(error))
                status, refused_mid_body = self._send(refusal, close=True), True
                return
            if body is None:  # the client went away mid-body
                self.close_connection = self.client_left = True
                return
            try:
                event = proxy_event(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    body,
                    source_ip=self.client_address[0],
                )
                # API Gateway routes, then its authorizer runs, then the function, as here;
                # the local stack's own routes (the console's development sign-in) first.
                local = self.api.local_routes.get((self.command.upper(), str(event["path"])))
                result = (
                    local(event)
                    if local is not None
                    else refuse_unrouted(event)
                    or self.api.authorizer.authorize(event)
                    or self.api.invoke(event)
                )
            except Exception:  # a bug here must still answer, as API Gateway would
                traceback.print_exc()
                status = self._send(gateway_error(502, "Internal server error"))
                return
            status = self._send(result, request_id=event["requestContext"]["requestId"])
        finally:
            # Logged before draining, which may take seconds: the answer has already gone.
            self._log_line(status, started, body, result)
            if refused_mid_body:
                drain(self.connection)
            self.idle = True

    def _log_line(
        self, status: int | str, started: float, body: bytes | None = None, result: Any = None
    ) -> None:
        if not self.api.quiet:
            elapsed = (time.perf_counter() - started) * 1000
            reservation = reservation_of(self.command, self.path, body, result)
            line = request_line(
                self.command, self.path, status, elapsed, reservation, client_left=self.client_left
            )
            sys.stderr.write(f"{line}\n")

    def _refuse_too_large(self) -> int:
        # Same status and error body the function gives for its own (smaller) limit, so a
        # client sees one contract whichever layer refuses.
        refusal = proxy_error(
            413, "PAYLOAD_TOO_LARGE", f"body exceeds the limit of {self.api.max_body_bytes} bytes"
        )
        return self._send(refusal, close=True)

    def _send(self, result: Any, *, close: bool = False, request_id: str | None = None) -> int:
        try:
            status = proxy_status(result)
            headers = response_headers(result)
            body = response_body(result)
        except MalformedResponse as error:
            self.log_message("malformed proxy response: %s", error)
            result = gateway_error(502, "Internal server error")
            status, headers, body = 502, response_headers(result), response_body(result)
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if request_id is not None:
                self.send_header("x-amzn-RequestId", request_id)
            self.send_header("Content-Length", str(len(body)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = self.client_left = True  # nothing to tell it
        return status


# --- the public object --------------------------------------------------------------------


class LocalApi:
    """The API function behind a local API Gateway, served until ``stop()``.

    ``env`` is added to the workers' environment, over the template's variables and this
    process's environment. ``port=0`` picks a free port; ``url`` tells which. Requests
    pass ``authorizer`` (by default the local Cognito stand-in, ``local.auth``) first.
    A request not answered within ``integration_timeout`` gets API Gateway's 504.
    """

    def __init__(
        self,
        port: int = 0,
        workers: int = 2,
        env: Mapping[str, str] | None = None,
        *,
        quiet: bool = False,
        function: str = "api",
        host: str = HOST,
        max_body_bytes: int = MAX_REQUEST_BYTES,
        authorizer: LocalAuthorizer | None = None,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        local_routes: Mapping[tuple[str, str], Callable[[dict[str, Any]], Any]] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.function = find_function(function)
        self.workers = workers
        self.quiet = quiet
        self.max_body_bytes = max_body_bytes
        self.authorizer = authorizer or LocalAuthorizer()
        self.integration_timeout = integration_timeout
        # (method, path) -> a proxy response made here: routes no template has (local only).
        self.local_routes = dict(local_routes or {})
        self._port = port
        self._host = host
        self._env = dict(env or {})
        self._lock = threading.Lock()
        self._pool: WorkerPool | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._state = "new"

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalApi is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> LocalApi:
        with self._lock:
            if self._state != "new":
                raise RuntimeError(f"LocalApi cannot start: it is {self._state}")
            self._state = "starting"
        try:
            self._pool = WorkerPool(self.function, self._env, self.workers).start()
            # Bound after the workers are up, so a request never waits for a cold start.
            self._server = _Server((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"local-api-{self._server.server_address[1]}",
                daemon=True,
            )
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        with self._lock:
            if self._state == "starting":  # not stopped meanwhile
                self._state = "running"
        return self

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, then stop the workers. Idempotent."""
        with self._lock:
            if self._state == "stopped":
                return
            self._state = "stopped"
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:  # shutdown() waits for a serve_forever loop to end
                server.shutdown()
            server.server_close()  # the port is free from here on
            self._close_connections(server)
        if self._thread is not None:
            self._thread.join()
        pool, self._pool = self._pool, None
        if pool is not None:
            # No request outlives its integration timeout: a worker still busy is killed.
            pool.stop(grace=self.integration_timeout)

    def __enter__(self) -> LocalApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def invoke(self, event: dict[str, Any]) -> Any:
        """The function's proxy response for one event, or the error API Gateway answers."""
        pool = self._pool
        if pool is None:
            return gateway_error(503, "Service Unavailable")
        try:
            return pool.invoke(event, timeout=self.integration_timeout)
        except InvocationTimeout:
            return gateway_error(504, "Endpoint request timed out")
        except (HandlerError, WorkerDied):
            # A crash fails this request only; the pool has started a new worker for it.
            return gateway_error(502, "Internal server error")
        except PoolStopped:
            return gateway_error(503, "Service Unavailable")

    def worker_pids(self) -> list[int]:
        pool = self._pool
        return [] if pool is None else pool.pids()

    @staticmethod
    def _close_connections(server: _Server) -> None:
        """End idle keep-alive connections; let those with a request in flight answer it."""
        with server.connections_changed:
            for connection in list(server.connections):
                # Reading ends (an idle connection sees EOF); writing the answer does not.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
            server.connections_changed.wait_for(
                lambda: not server.connections, timeout=STOP_GRACE_SECONDS
            )
