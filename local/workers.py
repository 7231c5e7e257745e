"""Lambda's execution environments, played locally: one worker process each.

A worker is a "spawn" process that imports the function's handler once (its cold start,
before the pool hands it anything) and then runs one event at a time. The pool gives each
invocation to an idle worker; callers beyond its size wait for one. A worker that dies
(killed, out of memory, a handler calling exit) or runs past its invocation's timeout fails
only the invocation it was running, as a crash in Lambda fails only its own; the pool
starts a new worker in its place and everything else goes on. The API (``local.server``),
the background functions (``local.background``) and the ERP benchmark all run here.

    pool = WorkerPool(find_function("api"), {"TABLE_NAME": "t"}, size=2).start()
    response = pool.invoke(event, timeout=29)
    pool.stop()
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any

from .apigw import LambdaContext
from .invoke import Function, Handler, find_function, load_handler, runtime_defaults

WORKER_START_TIMEOUT_SECONDS = 120.0
# How long a worker asked to leave may take before it is killed.
WORKER_EXIT_SECONDS = 5.0
# A replacement that fails to start is tried again after this, doubling up to the cap.
RESTART_DELAY_SECONDS = 1.0
RESTART_DELAY_CAP_SECONDS = 30.0


class HandlerError(Exception):
    """The handler raised: Lambda reports a function error (API Gateway answers 502).

    Carries only text, so it crosses the process boundary whatever the original was.
    """


class WorkerDied(Exception):
    """The worker ended while running the invocation (Lambda's Runtime.ExitError)."""


class InvocationTimeout(Exception):
    """No answer in time; a worker still running the invocation has been killed."""


class PoolStopped(Exception):
    """The pool is stopping or stopped: it takes no more invocations."""


class WorkerStartFailed(Exception):
    pass


# --- worker side --------------------------------------------------------------------------


def _exit_with_parent(parent_pid: int) -> None:
    """Workers are left alone if the parent is killed outright; leave with it."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(1.0)


def _serve(conn: Connection, function_name: str, env: Mapping[str, str], parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    os.environ.update(env)
    function = find_function(function_name)
    # Imported after the environment is final: the handler builds its client at import. If
    # it raises, its traceback goes to stderr and the pool sees this process end.
    handler = load_handler(function)
    conn.send(os.getpid())
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return  # the pool is gone
        if event is None:
            return
        # Started: a death from here on fails this invocation; before, another worker runs it.
        conn.send_bytes(b"")
        conn.send_bytes(_outcome(handler, function, event))


def _outcome(handler: Handler, function: Function, event: Any) -> bytes:
    """``(True, result)`` or ``(False, error text)``, pickled here so that a result which
    cannot cross the process boundary fails its invocation, not the worker."""
    outcome: tuple[bool, Any]
    try:
        outcome = (True, handler(event, LambdaContext(function.name, function.timeout_seconds)))
    except Exception as error:
        # Lambda logs the traceback of an unhandled error; so does this environment.
        traceback.print_exc()
        outcome = (False, f"{type(error).__name__}: {error}")
    try:
        return bytes(ForkingPickler.dumps(outcome))
    except Exception as error:
        return bytes(ForkingPickler.dumps((False, f"the result cannot be returned: {error}")))


# --- pool side ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    def how_it_ended(self) -> str:
        code = self.process.exitcode
        if code is None:
            return "stopped answering"
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"


class WorkerPool:
    """``size`` execution environments of ``function``.

    Workers inherit this process's environment, then ``env``, then the template's variables
    for what neither sets; "spawn" gives them none of this process's threads, locks or
    imported handler state.
    """

    def __init__(
        self, function: Function, env: Mapping[str, str] | None = None, size: int = 1
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        given = {**os.environ, **(env or {})}
        self.function = function
        self.size = size
        self._env = {**runtime_defaults(function, given), **given}
        self._context = multiprocessing.get_context("spawn")
        self._changed = threading.Condition()
        self._idle: deque[_Worker] = deque()
        self._busy: set[_Worker] = set()
        self._all: set[_Worker] = set()  # idle, busy and starting
        self._state = "new"
        self._stopping = threading.Event()
        self._restarts: list[threading.Thread] = []

    def start(self) -> WorkerPool:
        """Start every worker and wait until each has imported its handler, so no cold
        start falls into what comes next."""
        with self._changed:
            if self._state != "new":
                raise RuntimeError(f"the pool cannot start: it is {self._state}")
            self._state = "running"
        try:
            workers = [self._spawn() for _ in range(self.size)]  # they start side by side
            for worker in workers:
                self._await_ready(worker)
        except BaseException as error:
            self.stop()
            if isinstance(error, WorkerStartFailed | PoolStopped):
                raise RuntimeError(
                    f"the {self.function.name} function failed to start in a worker; "
                    "its traceback is above"
                ) from None
            raise
        with self._changed:
            self._idle.extend(workers)
            self._changed.notify_all()
        return self

    def pids(self) -> list[int]:
        with self._changed:
            return sorted(worker.pid for worker in self._all)

    def invoke(self, event: Any, timeout: float | None = None) -> Any:
        """The handler's result for ``event``, from the next idle worker.

        ``timeout`` counts the wait for a worker too. Raises HandlerError (the handler
        raised), WorkerDied, InvocationTimeout or PoolStopped.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            worker = self._acquire(deadline)
            try:
                if not worker.process.is_alive():
                    raise BrokenPipeError
                worker.conn.send(event)
                self._receive(worker, deadline, timeout)  # the worker says it has started
            except (OSError, WorkerDied):
                # It had died while idle: none of this event ran, so another worker takes
                # it. (Writing to a dead worker does not always fail, hence the answer.)
                self._retire(worker)
                continue
            ok, payload = ForkingPickler.loads(self._receive(worker, deadline, timeout))
            self._release(worker)
            if not ok:
                raise HandlerError(payload)
            return payload

    def stop(self, grace: float = 0.0) -> None:
        """Take no more invocations, give those running ``grace`` seconds to finish, then
        end every worker. Idempotent."""
        with self._changed:
            if self._state in ("stopping", "stopped"):
                return
            self._state = "stopping"
            self._stopping.set()
            self._changed.notify_all()  # callers waiting for a worker give up
            self._changed.wait_for(lambda: not self._busy, timeout=grace)
            idle, self._idle = list(self._idle), deque()
            self._all.difference_update(idle)
            # Still running past the grace, or starting: killed. Their own callers see them
            # end and close their connections.
            others = list(self._all)
            restarts = list(self._restarts)
        for worker in idle:  # all asked first, so they leave side by side
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in idle:
            self._end(worker, patience=WORKER_EXIT_SECONDS)
        for worker in others:
            worker.process.kill()
        for thread in restarts:
            thread.join()
        with self._changed:
            self._state = "stopped"

    # internals

    def _spawn(self) -> _Worker:
        conn, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(child_end, self.function.logical_id, self._env, os.getpid()),
            name=f"{self.function.name}-worker",
            daemon=True,
        )
        process.start()
        child_end.close()  # only the worker holds its end: its death is EOF here
        worker = _Worker(process, conn)
        with self._changed:
            if self._state == "running":
                self._all.add(worker)
                return worker
        self._end(worker)
        raise PoolStopped

    def _await_ready(self, worker: _Worker) -> None:
        try:
            if worker.conn.poll(WORKER_START_TIMEOUT_SECONDS):
                worker.conn.recv()
                return
        except (EOFError, OSError):
            pass
        with self._changed:
            self._all.discard(worker)
        self._end(worker)
        raise WorkerStartFailed(
            f"a {self.function.name} worker {worker.how_it_ended()} while starting"
        )

    def _acquire(self, deadline: float | None) -> _Worker:
        with self._changed:
            while True:
                if self._state != "running":
                    raise PoolStopped(f"the {self.function.name} workers are {self._state}")
                if self._idle:
                    worker = self._idle.popleft()
                    self._busy.add(worker)
                    return worker
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise InvocationTimeout("no worker was free in time")
                self._changed.wait(remaining)

    def _receive(self, worker: _Worker, deadline: float | None, timeout: float | None) -> bytes:
        """The worker's next message; if it dies or the deadline passes first, it is ended
        and another started in its place."""
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            if worker.conn.poll(remaining):
                return worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._retire(worker)
            raise WorkerDied(
                f"the {self.function.name} worker {worker.pid} {worker.how_it_ended()} "
                "during the invocation"
            ) from None
        self._retire(worker)
        raise InvocationTimeout(
            f"no answer in {timeout:g}s; the {self.function.name} worker was killed"
        )

    def _release(self, worker: _Worker) -> None:
        with self._changed:
            self._busy.discard(worker)
            self._changed.notify_all()
            if self._state == "running":
                self._idle.append(worker)
                return
            self._all.discard(worker)
        self._end(worker, patience=WORKER_EXIT_SECONDS)  # done after stop() began

    def _retire(self, worker: _Worker) -> None:
        """End a worker that died or must die, and start another in its place, once."""
        with self._changed:
            if worker not in self._all:
                return  # already ended
            self._busy.discard(worker)
            self._all.discard(worker)
            self._changed.notify_all()
            if self._state != "running":
                restart = None
            else:
                restart = threading.Thread(
                    target=self._restart, name=f"{self.function.name}-restart", daemon=True
                )
                self._restarts = [t for t in self._restarts if t.is_alive()] + [restart]
        self._end(worker)
        if restart is not None:
            restart.start()

    def _restart(self) -> None:
        delay = RESTART_DELAY_SECONDS
        while not self._stopping.is_set():
            try:
                worker = self._spawn()
                self._await_ready(worker)
            except PoolStopped:
                return
            except (WorkerStartFailed, OSError) as error:
                if self._stopping.is_set():
                    return  # killed by stop()
                print(f"{error}; trying again in {delay:g}s", file=sys.stderr, flush=True)
                self._stopping.wait(delay)
                delay = min(delay * 2, RESTART_DELAY_CAP_SECONDS)
                continue
            with self._changed:
                if self._state == "running":
                    self._idle.append(worker)
                    self._changed.notify_all()
                    return
                self._all.discard(worker)
            self._end(worker, patience=WORKER_EXIT_SECONDS)
            return

    @staticmethod
    def _end(worker: _Worker, patience: float = 0.0) -> None:
        """Ask the worker to leave and wait ``patience`` seconds for it (with none: do not
        ask), then kill it if it is still there, and reap it."""
        if patience:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            worker.process.join(patience)
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
