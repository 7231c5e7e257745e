"""Finding holds by order, or a channel's holds by status and time, a page at a time.

A page's ``nextToken`` is signed with the query it belongs to (:mod:`.page_tokens`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .page_tokens import PageTokens
from .records import Reservation
from .store import Store
from .store.search import HeaderQuery


@dataclass(frozen=True, slots=True)
class Found:
    reservations: list[tuple[Reservation, int]]  # each header and its line count
    next_token: str | None


class Search:
    def __init__(self, store: Store, clock: Clock, secret: str) -> None:
        self._headers = store.search
        self._clock = clock
        self._tokens = PageTokens(secret)

    def find(self, query: HeaderQuery, token: str | None = None) -> Found:
        start = None if token is None else self._open(query, token)
        page = self._headers.page(query, int(self._clock.now()), start)
        next_token = None if page.last_key is None else self._seal(query, page.last_key)
        return Found(page.reservations, next_token)

    @staticmethod
    def _scope(query: HeaderQuery) -> list[Any]:
        return [query.channel, query.order_id, query.status, query.created_after]

    def _seal(self, query: HeaderQuery, last_key: dict[str, Any]) -> str:
        return self._tokens.seal(self._scope(query), last_key)

    def _open(self, query: HeaderQuery, token: str) -> dict[str, Any]:
        return self._tokens.open(self._scope(query), token)


__all__ = ["Found", "Search"]
