"""Splitting a hot stock record into buckets and gathering it back (docs/architecture.md,
"Sharded stock"): the use case behind ``"shards"`` on a stock write."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .clock import Clock
from .errors import Contention, NotFound, PreconditionFailed
from .idempotency import Remember
from .records import StockLevel
from .store import Store
from .store.bucket_reads import Snapshot
from .store.retry import RetryPolicy, with_retries
from .store.stock_conditions import ANY_VERSION, VersionMismatch


class Sharding:
    def __init__(self, store: Store, clock: Clock, retry: RetryPolicy) -> None:
        self._store = store
        self._clock = clock
        self._retry = retry

    def reshard(
        self,
        sku: str,
        location: str,
        shards: int,
        expected_versions: tuple[int, ...] | None = None,
        remember: Remember[StockLevel] | None = None,
    ) -> StockLevel:
        """Spread the record over ``shards`` buckets (1: back into the record alone);
        totals and holds are kept. ``expected_versions`` as for a stock write (If-Match):
        the record must be at one of them when the move commits."""
        stock = self._store.stock
        for _ in range(self._retry.attempts):
            before = stock.get_level(sku, location)
            if before is None:
                raise NotFound(f"sku {sku!r} has no stock record at {location!r}")
            if expected_versions is not None and not (
                ANY_VERSION in expected_versions or before.version in expected_versions
            ):
                raise PreconditionFailed(before)
            try:
                after = self._move(before, shards, remember)
            except VersionMismatch:
                continue  # a stock write moved it since the read: read again
            if remember is not None:
                remember.written = True
            return after
        raise Contention(f"stock {sku!r} at {location!r} kept changing; try again")

    def _move(
        self, before: StockLevel, shards: int, remember: Remember[StockLevel] | None
    ) -> StockLevel:
        """One reshard while the record is at ``before``'s version; the level it leaves."""
        now = int(self._clock.now())
        answered: list[StockLevel] = []

        def also(seen: Snapshot) -> list[dict[str, Any]]:
            # The answer, from the buckets as the move sees them, written with it.
            after = replace(
                before,
                available=seen.available,
                reserved=seen.reserved,
                shards=shards,
                updated_at=now,
            )
            answered.append(after)
            return [remember.item(after, now)] if remember else []

        try:
            with_retries(
                lambda _: self._store.shards.reshard(
                    before.sku, before.location, shards, now, version=before.version, also=also
                ),
                self._retry,
            )
        except LookupError:
            raise NotFound(f"sku {before.sku!r} has no stock record") from None
        return answered[-1] if answered else before  # nothing to move: unchanged
