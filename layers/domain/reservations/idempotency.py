"""Requests that carry an ``Idempotency-Key``: their answer is written in the very
transaction of their effect (docs/architecture.md, "Idempotency keys")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .store.idempotency import IdempotencyStore, KeyClaim, StoredResponse

T = TypeVar("T")


@dataclass(slots=True)
class Remember(Generic[T]):
    """A claimed key and how to render the answer from the result of the effect, so that a
    write of the effect can carry the answer. ``written`` once a committed write did."""

    claim: KeyClaim
    render: Callable[[T], StoredResponse]
    keys: IdempotencyStore
    written: bool = False
    # The answer rendered for the last write attempted: the one a committed write carried.
    answer: StoredResponse | None = None

    def item(self, result: T, now: int) -> dict[str, Any]:
        self.answer = self.render(result)
        return self.keys.completion_item(self.claim, self.answer, now)
