"""A TCP proxy in front of an engine that can hold the engine's answers back.

Requests pass at once, so the engine applies them (a transaction commits); while the gate
is held, their answers wait in the proxy. A test holds it to catch a worker process in the
middle of a call whose effect has already happened, and then kills that worker.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

HOST = "127.0.0.1"


class Gate:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or HOST, parts.port or 80)
        self._listener = socket.create_server((HOST, 0))
        self.endpoint = f"http://{HOST}:{self._listener.getsockname()[1]}"
        self._open = threading.Event()
        self._open.set()
        self._changed = threading.Condition()
        self._held = 0
        self._held_for: Counter[int] = Counter()  # by the client's port
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, name="gate", daemon=True).start()

    def hold(self) -> None:
        """Answers wait from now on, until ``release``."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_held(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` calls have been applied by the engine and wait for their answer."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._held >= count, timeout):
                raise TimeoutError(f"{self._held} answer(s) held after {timeout:g}s, not {count}")

    def holds_answer_for(self, pid: int) -> bool:
        """Whether an answer to process ``pid`` is held. Counting answers is not enough:
        a client whose read timed out asks again, and both its answers are held."""
        with self._changed:
            held = {port for port, count in self._held_for.items() if count}
        return bool(held & _ports_of(pid))

    def close(self) -> None:
        self._open.set()
        self._listener.close()
        with self._changed:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._upstream, timeout=10)
                upstream.settimeout(None)
            except OSError:
                return  # closed
            with self._changed:
                self._sockets |= {client, upstream}
            for source, target, gated in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pump, args=(source, target, gated), daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket, gated: bool) -> None:
        try:
            while data := source.recv(65536):
                if gated and not self._open.is_set():
                    port = target.getpeername()[1]
                    with self._changed:
                        self._held += 1
                        self._held_for[port] += 1
                        self._changed.notify_all()
                    self._open.wait()
                    with self._changed:
                        self._held -= 1
                        self._held_for[port] -= 1
                target.sendall(data)
        except OSError:
            pass  # either side went away (a killed worker's connection, close())
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _ports_of(pid: int) -> set[int]:
    """The local ports of a process's TCP sockets, from /proc (Linux)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports
