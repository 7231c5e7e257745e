"""A page's ``nextToken``: DynamoDB's LastEvaluatedKey, signed (HMAC-SHA256) together with
the query it belongs to, so a client can neither forge one into another partition nor carry
one over to another query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidRequest

NEXT_PAGE_FIELD = "query.nextToken"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _mac(self, scope: Sequence[Any], payload: bytes) -> bytes:
        named = json.dumps(list(scope)).encode()
        return hmac.new(self._secret, named + b"\0" + payload, hashlib.sha256).digest()

    def seal(self, scope: Sequence[Any], last_key: Mapping[str, Any]) -> str:
        """``scope``: every parameter of the query the page belongs to."""
        payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(scope, payload))}"

    def open(self, scope: Sequence[Any], token: str) -> dict[str, Any]:
        refused = InvalidRequest(NEXT_PAGE_FIELD, "not a token a page of this very query issued")
        try:
            body, mac = token.split(".")
            payload = _unb64(body)
            valid = hmac.compare_digest(_unb64(mac), self._mac(scope, payload))
            key = json.loads(payload) if valid else None
        except (ValueError, UnicodeError):
            raise refused from None
        if not isinstance(key, dict):
            raise refused
        return key
