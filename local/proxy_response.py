"""The Lambda proxy response as API Gateway turns it into HTTP, and API Gateway's own errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from reservations.http.errors import gateway_error as gateway_answer

# Set by the HTTP layer, never taken from the function's response.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"}
)


class MalformedResponse(ValueError):
    pass


def response_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``headers`` and ``multiValueHeaders`` merged as API Gateway merges them.

    A name present in ``multiValueHeaders`` takes only those values.
    """
    multi: Mapping[str, Any] = result.get("multiValueHeaders") or {}
    single: Mapping[str, Any] = result.get("headers") or {}
    pairs = [(str(name), str(value)) for name, values in multi.items() for value in values]
    taken = {name.lower() for name in multi}
    pairs += [
        (str(name), str(value)) for name, value in single.items() if name.lower() not in taken
    ]
    pairs = [(name, value) for name, value in pairs if name.lower() not in HOP_BY_HOP]
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "application/json"))  # API Gateway's default
    return pairs


def response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedResponse(f"body is flagged base64 but is not: {error}") from None
    return body.encode("utf-8")


def proxy_status(result: Any) -> int:
    if not isinstance(result, Mapping):
        raise MalformedResponse(f"the function returned {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    return status


def gateway_error(status: int, message: str) -> dict[str, Any]:
    """An error API Gateway itself answers with (its body is ``{"message": ...}``), in the
    one shape the function uses for its gateway-style refusals too."""
    return gateway_answer(status, {"message": message})
