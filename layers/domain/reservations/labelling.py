"""Serialized labels as use cases: written by the ERP or an operator, listed, read, and let
go of one at a time by the hold that reserved them (docs/architecture.md, "Serialized
labels"). Reserving labels is part of a reserve (:mod:`.reserving`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from . import lifecycle
from .clock import Clock
from .errors import (
    Contention,
    LabelNotHeld,
    LabelReserved,
    LabelState,
    NotFound,
    StockCounted,
)
from .idempotency import Remember
from .lifecycle import Retention
from .locations import Locations
from .page_tokens import PageTokens
from .records import SERVICE_SOURCE, Cause, Label, LabelStatus, Reservation
from .store import CountedStock, LabelChanged, StaleSequence, Store
from .store.label_items import is_removed, label_from_item
from .store.retry import RetryPolicy, with_retries
from .transitions import Plan, Transitions


@dataclass(frozen=True, slots=True)
class LabelWrite:
    """A label as its writer (PUT /labels, the ERP's label.upsert) states it."""

    label: str
    sku: str
    location: str
    quantity: int
    bin: str | None = None
    sequence: int | None = None  # the ERP's: a write no newer than the last is stale
    source: str = SERVICE_SOURCE  # the writer's channel, or erp: the movement ledger names it


@dataclass(frozen=True, slots=True)
class LabelPage:
    labels: list[Label]
    next_token: str | None


def state_of(name: str, label: Label | None) -> LabelState:
    if label is None:
        return LabelState(name, None)
    return LabelState(name, label.status.value, label.sku, label.location)


class Labelling:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        retry: RetryPolicy,
        transitions: Transitions,
        locations: Locations,
        retention: Retention,
        page_secret: str,
    ) -> None:
        self._labels = store.labels
        self._clock = clock
        self._retry = retry
        self._transitions = transitions
        self._locations = locations
        self._retention = retention
        self._tokens = PageTokens(page_secret)

    def _now(self) -> int:
        return int(self._clock.now())

    # --- reads ----------------------------------------------------------------------------

    def get(self, name: str) -> Label:
        label = self._labels.get(name)
        if label is None:
            raise NotFound(f"label {name!r} does not exist")
        return label

    def states(self, names: Iterable[str]) -> list[LabelState]:
        return [state_of(name, self._labels.get(name)) for name in names]

    def page(
        self,
        sku: str,
        location: str | None,
        status: LabelStatus | None,
        limit: int,
        token: str | None,
    ) -> LabelPage:
        scope = [sku, location, None if status is None else status.value, limit]
        start = None if token is None else self._tokens.open(scope, token)
        labels, last = self._labels.page(sku, location, status, limit, start)
        return LabelPage(labels, None if last is None else self._tokens.seal(scope, last))

    # --- writes ---------------------------------------------------------------------------

    def put(
        self, wanted: LabelWrite, remember: Remember[tuple[Label, bool]] | None = None
    ) -> tuple[Label, bool]:
        """Create or change a label; its stock record moves with it. A RESERVED label keeps
        its sku, location and quantity (LabelReserved); a label cannot join a counted stock
        record (StockCounted). Returns the label and whether it is new."""
        self._locations.note_stock_at(wanted.location)
        for _ in range(self._retry.attempts):
            item = self._labels.get_item(wanted.label)
            before = None if item is None or is_removed(item) else label_from_item(item)
            self._refuse_stale(item, wanted.sequence)
            now = self._now()
            after = self._after(
                before, wanted, now, 0 if item is None else int(item["version"]["N"])
            )
            if before is not None and after == replace(
                before, updated_at=now, version=after.version
            ):
                return before, False  # nothing to change
            try:
                self._write(
                    item,
                    after,
                    now,
                    remember,
                    created=before is None,
                    cause=Cause(wanted.source, "label", wanted.label),
                )
            except LabelChanged:
                continue
            return after, before is None
        raise Contention(f"label {wanted.label!r} kept changing; try again")

    def remove(self, name: str, sequence: int | None, source: str = "erp") -> Label | None:
        """The ERP's label.remove: the label leaves stock, and a tombstone keeps the
        sequence, so an older upsert arriving later (of a label never seen too) changes
        nothing. None when there was no such label."""
        for _ in range(self._retry.attempts):
            item = self._labels.get_item(name)
            self._refuse_stale(item, sequence)
            before = None if item is None or is_removed(item) else label_from_item(item)
            if before is not None and before.status is LabelStatus.RESERVED:
                raise LabelReserved([state_of(name, before)])
            if before is None and sequence is None:
                return None  # nothing to remove, and no sequence to keep
            try:
                self._write(
                    item,
                    None,
                    self._now(),
                    None,
                    created=False,
                    sequence=sequence,
                    name=name,
                    cause=Cause(source, "label", name),
                )
            except LabelChanged:
                continue
            return before
        raise Contention(f"label {name!r} kept changing; try again")

    @staticmethod
    def _refuse_stale(item: Any, sequence: int | None) -> None:
        if sequence is None or item is None or "erpSequence" not in item:
            return
        current = int(item["erpSequence"]["N"])
        if current >= sequence:
            raise StaleSequence(current)

    @staticmethod
    def _after(before: Label | None, wanted: LabelWrite, now: int, version: int) -> Label:
        if before is not None and before.status is LabelStatus.RESERVED:
            moved = (wanted.sku, wanted.location, wanted.quantity) != (
                before.sku,
                before.location,
                before.quantity,
            )
            if moved:
                raise LabelReserved([state_of(before.label, before)])
        status = LabelStatus.ACTIVE if before is None else before.status
        if status is LabelStatus.SHIPPED:
            status = LabelStatus.ACTIVE  # goods came back on it
        return Label(
            label=wanted.label,
            sku=wanted.sku,
            location=wanted.location,
            quantity=wanted.quantity,
            created_at=now if before is None else before.created_at,
            updated_at=now,
            status=status,
            bin=wanted.bin,
            reservation_id=None if before is None else before.reservation_id,
            order_id=None if before is None else before.order_id,
            channel=None if before is None else before.channel,
            version=version + 1,
            erp_sequence=wanted.sequence
            if wanted.sequence is not None
            else (None if before is None else before.erp_sequence),
        )

    def _write(
        self,
        item: Any,
        after: Label | None,
        now: int,
        remember: Remember[tuple[Label, bool]] | None,
        *,
        created: bool,
        sequence: int | None = None,
        name: str | None = None,
        cause: Cause,
    ) -> None:
        remembered = None
        if remember is not None and after is not None:
            remembered = remember.item((after, created), now)

        def write(token: str) -> None:
            self._labels.write(
                item,
                after,
                now,
                token=token,
                remembered=remembered,
                sequence=sequence,
                name=name,
                cause=cause,
            )

        try:
            with_retries(write, self._retry)
        except CountedStock:
            assert after is not None
            raise StockCounted(
                f"sku {after.sku!r} at {after.location!r} holds counted stock (onHand); "
                "a location's stock is either counted or labelled"
            ) from None
        if remember is not None and remembered is not None:
            remember.written = True

    # --- a hold lets one go ---------------------------------------------------------------

    def release(
        self,
        reservation_id: str,
        name: str,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        """The label goes back to stock whole; the hold keeps its other lines and labels."""

        def plan(current: Reservation, now: int) -> Plan[Reservation]:
            after = lifecycle.release_label(current, name, now, self._retention)
            return Plan(after, after)

        try:
            return self._transitions.apply(reservation_id, plan, owner, remember)
        except LabelNotHeld as not_held:
            raise LabelNotHeld(not_held.names, self.states(not_held.names)) from None
