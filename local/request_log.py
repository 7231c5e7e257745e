"""The one line per request that ``make run`` prints: method, path, status, milliseconds and
the hold it concerns, e.g. ``POST /reservations 201 12.3ms reservation=checkout-7``.

The function's own structured log (Powertools, JSON) is what CloudWatch keeps in AWS;
locally it is off unless asked for (``make run VERBOSE=1``), so this line is what you read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from .proxy_response import MalformedResponse, response_body

# Ids never hold "/" (docs/architecture.md, Table design), so the segment is the whole id.
_HOLD_PATH = re.compile(r"/reservations/([^/]+)")
# Instead of a status when no answer reached the client.
CLIENT_LEFT = "client closed the connection"


def reservation_of(method: str, path: str, request: bytes | None, result: Any) -> str | None:
    """The hold a request is about: the id in its path or, for POST /reservations, the one
    its answer names (a new hold, a replay), else the one it asked for (a refused hold)."""
    route = urlsplit(path).path
    found = _HOLD_PATH.match(route)
    if found:
        return unquote(found.group(1))
    if (method, route.rstrip("/")) != ("POST", "/reservations"):
        return None
    try:
        answer = response_body(result) if isinstance(result, Mapping) else b""
    except MalformedResponse:
        answer = b""
    return _id_in(answer) or _id_in(request or b"")


def _id_in(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def request_line(
    method: str,
    path: str,
    status: int | str,
    elapsed_ms: float,
    reservation: str | None = None,
    *,
    client_left: bool = False,
) -> str:
    parts = [method, path, str(status), f"{elapsed_ms:.1f}ms"]
    if reservation:
        parts.append(f"reservation={reservation}")
    if client_left:
        parts.append(f"({CLIENT_LEFT})")
    return " ".join(parts)
