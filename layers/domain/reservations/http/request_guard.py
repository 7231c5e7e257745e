"""Checks on the raw request that must happen before any parsing or routing.

Powertools' validation parses the body first; these guard the cases it would turn into a
500 or parse at any cost: an oversized body, bytes that are not UTF-8, JSON nested deep
enough to exhaust the parser's recursion, numbers too long for any field (Python's JSON
parser raises a bare ValueError past 4300 digits, a 500), and content types we do not speak.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from ..json_shape import ShapeProblem, shape_problem
from .errors import proxy_error

METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def refuse(event: Mapping[str, Any], max_body_bytes: int) -> dict[str, Any] | None:
    """A ready error response if the request must be refused, else None."""
    method = str(event.get("httpMethod", "")).upper()
    body = event.get("body")
    if method not in METHODS_WITH_BODY or body in (None, ""):
        return None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("", "application/json"):
        return proxy_error(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"content type {content_type!r} is not supported; send application/json",
            field="header.content-type",
        )
    raw: bytes
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            return proxy_error(
                400, "MALFORMED_BODY", "body is flagged base64 but is not valid base64"
            )
    else:
        raw = str(body).encode("utf-8", errors="surrogatepass")
    if len(raw) > max_body_bytes:
        return proxy_error(
            413, "PAYLOAD_TOO_LARGE", f"body is {len(raw)} bytes; the limit is {max_body_bytes}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return proxy_error(400, "MALFORMED_BODY", f"body is not valid UTF-8 (byte {error.start})")
    problem = shape_problem(text)
    if problem is ShapeProblem.DEPTH:
        return proxy_error(400, "MALFORMED_JSON", problem.value)
    if problem is ShapeProblem.DIGITS:
        return proxy_error(400, "VALIDATION_ERROR", problem.value)
    return None  # well-formedness is checked, with a position, by Powertools' validation
