"""The one way a reservation changes: read it, plan the next state with a pure function
(see :mod:`reservations.lifecycle`), write the plan in one transaction conditioned on the
version read, and plan again from a fresh read if someone else wrote first.

The API's transitions, the sweeper's expiries and the ERP's offsets all go through here;
an offset's plan also carries the receipt that makes its message take effect once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .clock import Clock
from .errors import Contention, NotFound
from .idempotency import Remember
from .records import Receipt, Reservation
from .store import RecordBeingPurged, ReservationChanged, Store
from .store.retry import RetryPolicy, with_retries

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Plan(Generic[T]):
    """What one step decided. ``after`` is the state to write: the very state read means
    there is nothing to write. ``result`` is what the caller gets back once it is written."""

    after: Reservation
    result: T
    receipt: Receipt | None = None  # written in the same transaction, or AlreadyApplied


Planner = Callable[[Reservation, int], Plan[T]]


class Transitions:
    def __init__(
        self, store: Store, clock: Clock, retry: RetryPolicy, oversell_limit: int = 0
    ) -> None:
        self._reservations = store.reservations
        self._oversell_limit = oversell_limit  # for lines that grow (a cart update)
        self._clock = clock
        self._retry = retry

    def read(self, reservation_id: str, owner: str | None = None) -> Reservation:
        """The reservation; with ``owner``, only if that channel holds it: another channel's
        hold is NotFound with the very message of one that does not exist, and so is one
        whose header TTL is deleting."""
        try:
            reservation = self._reservations.get(reservation_id)
        except RecordBeingPurged:
            reservation = None
        if reservation is None or (owner is not None and reservation.channel != owner):
            raise NotFound(f"reservation {reservation_id!r} does not exist")
        return reservation

    def apply(
        self,
        reservation_id: str,
        plan: Planner[T],
        owner: str | None = None,
        remember: Remember[T] | None = None,
    ) -> T:
        """Read, plan, write conditioned on the version read; on ReservationChanged (someone
        else wrote, or our own write's answer was lost) read and plan again. The channel of
        a hold never changes, so ``owner`` is checked on every read alike. With
        ``remember`` the write also carries the idempotency key's answer to the result."""
        for _ in range(self._retry.attempts):
            current = self.read(reservation_id, owner)
            now = int(self._clock.now())
            planned = plan(current, now)
            if planned.after is current:
                return planned.result
            remembered = None if remember is None else remember.item(planned.result, now)

            def write(
                token: str,
                before: Reservation = current,
                planned: Plan[T] = planned,
                remembered: dict[str, Any] | None = remembered,
            ) -> None:
                self._reservations.save_transition(
                    before,
                    planned.after,
                    token=token,
                    receipt=planned.receipt,
                    remembered=remembered,
                    oversell_limit=self._oversell_limit,
                )

            try:
                with_retries(write, self._retry)
            except ReservationChanged:
                continue
            if remember is not None:
                remember.written = True
            return planned.result
        raise Contention(f"reservation {reservation_id!r} kept changing; try again")
