"""Finding holds by order, or a channel's holds by status and time, a page at a time.

A page's ``nextToken`` is DynamoDB's LastEvaluatedKey, signed (HMAC-SHA256) together with
the query it belongs to: a client can neither forge one into another channel's partition
nor carry one over to another query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .errors import InvalidRequest
from .records import Reservation
from .store import Store
from .store.search import HeaderQuery

NEXT_PAGE_FIELD = "query.nextToken"


@dataclass(frozen=True, slots=True)
class Found:
    reservations: list[tuple[Reservation, int]]  # each header and its line count
    next_token: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Search:
    def __init__(self, store: Store, clock: Clock, secret: str) -> None:
        self._headers = store.search
        self._clock = clock
        self._secret = secret.encode()

    def find(self, query: HeaderQuery, token: str | None = None) -> Found:
        start = None if token is None else self._open(query, token)
        page = self._headers.page(query, int(self._clock.now()), start)
        next_token = None if page.last_key is None else self._seal(query, page.last_key)
        return Found(page.reservations, next_token)

    def _mac(self, query: HeaderQuery, payload: bytes) -> bytes:
        scope = json.dumps(
            [query.channel, query.order_id, query.status, query.created_after]
        ).encode()
        return hmac.new(self._secret, scope + b"\0" + payload, hashlib.sha256).digest()

    def _seal(self, query: HeaderQuery, last_key: dict[str, Any]) -> str:
        payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(query, payload))}"

    def _open(self, query: HeaderQuery, token: str) -> dict[str, Any]:
        refused = InvalidRequest(NEXT_PAGE_FIELD, "not a token a page of this very query issued")
        try:
            body, mac = token.split(".")
            payload = _unb64(body)
            valid = hmac.compare_digest(_unb64(mac), self._mac(query, payload))
            key = json.loads(payload) if valid else None
        except (ValueError, UnicodeError):
            raise refused from None
        if not isinstance(key, dict):
            raise refused
        return key
