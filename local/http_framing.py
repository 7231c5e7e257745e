"""A request's body as RFC 9112 section 6 frames it, for the local API Gateway.

A body framed two ways (``Content-Length`` and ``Transfer-Encoding``), in a way not read
here (a coding other than chunked), or by a ``Content-Length`` that is not one number is
refused: a proxy in front may have framed it the other way, and what it took for body
would be read here as the next request. The caller answers 400 and closes the connection
(section 6.1), so nothing can be smuggled behind it.
"""

from __future__ import annotations

import socket
import time
from email.message import Message
from io import BufferedIOBase

# How much of a refused body is read and dropped so the client gets the answer rather than
# a connection reset (closing a socket with unread input makes the kernel send RST).
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 2.0


class BodyTooLarge(Exception):
    pass


class BadFraming(Exception):
    pass


def declared_length(headers: Message) -> int:
    """Content-Length: 0 if absent, -1 unless it is one run of decimal digits (``int``
    would also take "+5", " 5" and "5_0")."""
    values = {value.strip() for value in headers.get_all("Content-Length") or []}
    if not values:
        return 0
    raw = values.pop()
    return int(raw) if not values and raw.isascii() and raw.isdigit() else -1


def read_body(headers: Message, rfile: BufferedIOBase, limit: int) -> bytes | None:
    """The body, or None if the client went away in the middle of it; BadFraming or
    BodyTooLarge (over ``limit`` bytes) when it must be refused."""
    codings = headers.get_all("Transfer-Encoding") or []
    if codings and "Content-Length" in headers:
        raise BadFraming("Transfer-Encoding and Content-Length together")
    if codings:
        names = [name.strip().lower() for value in codings for name in value.split(",")]
        if names != ["chunked"]:
            raise BadFraming(f"transfer coding {', '.join(names)!r}; only chunked is read")
        return _read_chunked(rfile, limit)
    length = declared_length(headers)
    if length < 0:
        raise BadFraming("Content-Length is not one non-negative integer")
    if length > limit:
        raise BodyTooLarge
    body = rfile.read(length) if length else b""
    return body if len(body) == length else None


def _read_chunked(rfile: BufferedIOBase, limit: int) -> bytes | None:
    body = bytearray()
    while True:
        line = rfile.readline(1024)
        if not line:
            return None
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadFraming("malformed chunk size") from None
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers, ignored as API Gateway ignores them
            return bytes(body)
        if len(body) + size > limit:
            raise BodyTooLarge
        chunk = rfile.read(size)
        if len(chunk) != size:
            return None
        body += chunk
        rfile.readline(16)  # the CRLF after each chunk


def drain(connection: socket.socket) -> None:
    """Read and drop what the client still sends, so it reads our answer, not a reset."""
    deadline = time.monotonic() + DRAIN_SECONDS
    remaining = DRAIN_LIMIT_BYTES
    try:
        connection.settimeout(0.2)
        while remaining > 0 and time.monotonic() < deadline:
            try:
                chunk = connection.recv(min(65536, remaining))
            except TimeoutError:
                continue
            if not chunk:
                break
            remaining -= len(chunk)
    except OSError:
        pass
