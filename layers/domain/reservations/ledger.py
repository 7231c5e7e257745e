"""Reading the movement ledger (docs/architecture.md, "Supply measures"): a stock record's
movements, newest first, one Query per page, with signed page tokens."""

from __future__ import annotations

from dataclasses import dataclass

from .page_tokens import PageTokens
from .records import Movement
from .store import Store


@dataclass(frozen=True, slots=True)
class MovementPage:
    movements: list[Movement]
    next_token: str | None


class Ledger:
    def __init__(self, store: Store, page_secret: str) -> None:
        self._movements = store.movements
        self._tokens = PageTokens(page_secret)

    def page(self, sku: str, location: str, limit: int, token: str | None) -> MovementPage:
        # A token opens only the ledger and page size it was made for.
        scope = ["movements", sku, location, limit]
        start = None if token is None else self._tokens.open(scope, token)
        movements, last = self._movements.page(sku, location, limit, start)
        return MovementPage(movements, None if last is None else self._tokens.seal(scope, last))
