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
JSON = "application/json"


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    """The media type and parameters of a Content-Type value, lower-cased: type, parameter
    names and charset names are all case-insensitive (RFC 9110 8.3.1, 8.3.2)."""
    media_type, *parameters = value.split(";")
    found: dict[str, str] = {}
    for parameter in parameters:
        name, _, parameter_value = parameter.partition("=")
        found[name.strip().lower()] = parameter_value.strip().strip('"').lower()
    return media_type.strip().lower(), found


def _content_type_header(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """The Content-Type header's name as sent and its value, if there is one."""
    for name, value in (event.get("headers") or {}).items():
        if str(name).lower() == "content-type":
            return str(name), str(value)
    return None


def refuse(event: Mapping[str, Any], max_body_bytes: int) -> dict[str, Any] | None:
    """A ready error response if the request must be refused, else None."""
    method = str(event.get("httpMethod", "")).upper()
    body = event.get("body")
    if method not in METHODS_WITH_BODY or body in (None, ""):
        return None
    _, declared = _content_type_header(event) or ("", "")
    media_type, parameters = _content_type(declared)
    charset = parameters.get("charset", "utf-8")
    if media_type not in ("", JSON) or charset != "utf-8":
        return proxy_error(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"content type {declared.strip()!r} is not supported; send {JSON} in UTF-8",
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


def with_canonical_content_type(event: dict[str, Any]) -> dict[str, Any]:
    """The event with a JSON content type spelt ``application/json``, however it was sent.

    Powertools parses a body as JSON only if the header starts with exactly that, and
    answers anything else (``APPLICATION/JSON``) with a 415 of its own shape. Call after
    ``refuse``: any other media type has been refused by then.
    """
    found = _content_type_header(event)
    if found is None or found[1].startswith(JSON):
        return event
    name, value = found
    if _content_type(value)[0] != JSON:
        return event
    headers = {key: item for key, item in event["headers"].items() if key != name}
    return {**event, "headers": {**headers, "Content-Type": JSON}}
