"""Expiry: the sweeper's pass over the due holds, and the look a refused reserve takes for
due holds in its way (docs/architecture.md, "Expiry")."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import lifecycle
from .clock import Clock
from .config import Settings
from .errors import InvalidState, NotFound
from .lifecycle import Retention
from .records import Reservation
from .store import Store
from .transitions import Plan, Transitions


@dataclass(slots=True)
class SweepReport:
    due: int = 0
    expired: list[str] = field(default_factory=list)
    skipped: int = 0  # confirmed, extended or ended by someone else first


class Expiry:
    def __init__(
        self, store: Store, transitions: Transitions, settings: Settings, clock: Clock
    ) -> None:
        self._store = store
        self._transitions = transitions
        self._settings = settings
        self._clock = clock
        self._retention = Retention.from_settings(settings)

    def _now(self) -> int:
        return int(self._clock.now())

    def expire_one(self, reservation_id: str, now: int) -> bool:
        """Expire one due hold; False when a confirm, extend or end won the race."""

        def plan(current: Reservation, _: int) -> Plan[Reservation]:
            after = lifecycle.expire(current, now, self._retention)
            return Plan(after, after)

        try:
            self._transitions.apply(reservation_id, plan)
        except (InvalidState, NotFound):
            return False
        return True

    def free_due_holds(self, reserved_when_refused: dict[tuple[str, str], int], now: int) -> bool:
        """Expire the due holds on the refused records; True if stock may have come back
        since the refusal, so that trying again is worth its request.

        That is the case when a due hold was found (whoever expires it: this call, another
        reserve or the sweeper), or when the live holds now hold less than was reserved at
        the refusal (someone released or expired a hold in between, so the index no longer
        shows it). Otherwise every reserved unit belongs to a live hold: the refusal stands.
        """
        due: set[str] = set()
        live: dict[tuple[str, str], int] = {}
        for sku in {sku for sku, _ in reserved_when_refused}:
            for hold in self._store.reservations.holds_on_sku(sku):
                record = (sku, hold.line.location)
                if record not in reserved_when_refused:
                    continue
                if hold.is_live_at(now):
                    live[record] = live.get(record, 0) + hold.line.held
                else:
                    due.add(hold.reservation_id)
        for reservation_id in due:
            self.expire_one(reservation_id, now)
        return bool(due) or any(
            live.get(record, 0) < reserved for record, reserved in reserved_when_refused.items()
        )

    def sweep(self, out_of_time: Callable[[], bool] = lambda: False) -> SweepReport:
        """Release every ACTIVE hold that is due, each in its own conditional transaction,
        so a sweeper racing a confirm, an extend or another sweeper leaves one winner.

        Due holds are taken in batches, several at a time, until none is left or
        ``out_of_time()`` says to stop (the next scheduled run takes the rest).
        """
        now = self._now()
        report = SweepReport()
        with ThreadPoolExecutor(max_workers=self._settings.sweep_concurrency) as pool:
            # At least one round, however little time is left: a run must make progress.
            while report.due == 0 or not out_of_time():
                due = self._store.reservations.due_ids(now, limit=self._settings.sweep_batch_limit)
                if not due:
                    break
                report.due += len(due)
                for reservation_id, expired in zip(
                    due, pool.map(lambda rid: self.expire_one(rid, now), due), strict=True
                ):
                    if expired:
                        report.expired.append(reservation_id)
                    else:
                        report.skipped += 1
                if len(due) < self._settings.sweep_batch_limit or report.skipped == report.due:
                    break  # everything due was seen; what was skipped is not ours to expire
        return report
