"""``Transitions.apply`` against a stub of the reservation store: the read, plan, write loop
and what it does when someone else wrote first (no table: every answer is scripted)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.errors import Contention, NotFound
from reservations.records import Line, Receipt, Reservation, Status
from reservations.store import RecordBeingPurged, ReservationChanged
from reservations.store.retry import RetryPolicy
from reservations.transitions import Plan, Transitions

START = 1_000_000.75  # a clock between two seconds: plans see whole seconds
POLICY = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


def reservation(version: int, channel: str = "web") -> Reservation:
    return Reservation(
        id="r1",
        status=Status.ACTIVE,
        channel=channel,
        lines=(Line("A", "WH1", 3, held=3),),
        created_at=900_000,
        expires_at=2_000_000,
        fingerprint="f",
        version=version,
    )


@dataclass
class Write:
    before: Reservation
    after: Reservation
    token: str
    receipt: Receipt | None
    remembered: dict[str, Any] | None
    oversell_limit: int


@dataclass
class StubReservations:
    """Answers each read with the next state (the last one repeats) and fails the first
    ``conflicts`` writes as a version conflict."""

    states: list[Reservation | None]
    conflicts: int = 0
    reads: int = 0
    writes: list[Write] = field(default_factory=list)
    purging: bool = False

    def get(self, reservation_id: str) -> Reservation | None:
        assert reservation_id == "r1"
        if self.purging:
            raise RecordBeingPurged(reservation_id)
        state = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        return state

    def save_transition(
        self,
        before: Reservation,
        after: Reservation,
        *,
        token: str,
        receipt: Receipt | None = None,
        remembered: dict[str, Any] | None = None,
        oversell_limit: int = 0,
    ) -> None:
        self.writes.append(Write(before, after, token, receipt, remembered, oversell_limit))
        if len(self.writes) <= self.conflicts:
            raise ReservationChanged(after.id)


@dataclass
class StubStore:
    reservations: StubReservations


@dataclass
class Remembered:
    """Stands in for an idempotency key's ``Remember``: what it was asked to render."""

    written: bool = False
    rendered: list[tuple[object, int]] = field(default_factory=list)

    def item(self, result: object, now: int) -> dict[str, Any]:
        self.rendered.append((result, now))
        return {"answer": result}


def transitions(stub: StubReservations, oversell_limit: int | None = None) -> Transitions:
    store = StubStore(stub)
    if oversell_limit is None:
        return Transitions(store, ManualClock(START), POLICY)  # type: ignore[arg-type]
    return Transitions(store, ManualClock(START), POLICY, oversell_limit)  # type: ignore[arg-type]


def bump(current: Reservation, now: int) -> Plan[int]:
    """A plan that writes the next version and answers the version it planned from."""
    return Plan(replace(current, version=current.version + 1, updated_at=now), current.version)


def test_a_version_conflict_plans_again_from_a_fresh_read() -> None:
    # Between our read of v4 and our write, someone else wrote v5.
    stub = StubReservations([reservation(4), reservation(5)], conflicts=1)
    seen: list[tuple[int, int]] = []

    def plan(current: Reservation, now: int) -> Plan[int]:
        seen.append((current.version, now))
        return bump(current, now)

    assert transitions(stub).apply("r1", plan) == 5  # the plan made from the fresh read
    assert seen == [(4, 1_000_000), (5, 1_000_000)]
    assert [(w.before.version, w.after.version) for w in stub.writes] == [(4, 5), (5, 6)]
    assert stub.writes[-1].before is not stub.writes[0].before
    assert stub.reads == 2


def test_a_plan_that_changes_nothing_writes_nothing() -> None:
    stub = StubReservations([reservation(4)])
    assert transitions(stub).apply("r1", lambda current, now: Plan(current, "as it was")) == (
        "as it was"
    )
    assert stub.writes == []


def test_it_gives_up_when_every_write_meets_a_newer_version() -> None:
    stub = StubReservations([reservation(4)], conflicts=99)
    with pytest.raises(Contention, match="'r1' kept changing"):
        transitions(stub).apply("r1", bump)
    assert (stub.reads, len(stub.writes)) == (POLICY.attempts, POLICY.attempts)


def test_the_receipt_and_the_idempotency_answer_go_with_the_write() -> None:
    stub = StubReservations([reservation(4)])
    receipt = Receipt("offset", "off-1", "fp", applied=2)
    remember = Remembered()

    def plan(current: Reservation, now: int) -> Plan[str]:
        return Plan(replace(current, version=5), "done", receipt=receipt)

    result = transitions(stub).apply("r1", plan, remember=remember)  # type: ignore[arg-type]
    assert result == "done"
    [write] = stub.writes
    assert (write.receipt, write.remembered) == (receipt, {"answer": "done"})
    assert len(write.token) == 32  # the retry loop's ClientRequestToken, made for this write
    assert remember.rendered == [("done", 1_000_000)]
    assert remember.written is True


def test_an_answer_is_not_marked_written_when_nothing_was_written() -> None:
    stub = StubReservations([reservation(4)])
    remember = Remembered()
    transitions(stub).apply("r1", lambda c, now: Plan(c, None), remember=remember)  # type: ignore[arg-type]
    assert (remember.written, remember.rendered) == (False, [])


@pytest.mark.parametrize(
    ("stub", "owner"),
    [
        (StubReservations([None]), None),  # no such reservation
        (StubReservations([reservation(4, channel="web")]), "app"),  # another channel's
        (StubReservations([reservation(4)], purging=True), None),  # TTL is deleting it
    ],
    ids=["missing", "foreign", "purging"],
)
def test_what_a_caller_may_not_see_is_not_found(stub: StubReservations, owner: str | None) -> None:
    with pytest.raises(NotFound, match="reservation 'r1' does not exist"):
        transitions(stub).apply("r1", bump, owner=owner)
    assert stub.writes == []


def test_the_owner_reads_and_writes_its_own_hold() -> None:
    stub = StubReservations([reservation(4, channel="web")])
    assert transitions(stub).apply("r1", bump, owner="web") == 4
    assert len(stub.writes) == 1


def test_a_growing_line_may_oversell_only_by_the_limit_given_and_by_default_not_at_all() -> None:
    # The ERP's transitions take the default: nothing they write may oversell a record.
    stub = StubReservations([reservation(4)])
    transitions(stub).apply("r1", bump)
    transitions(stub, oversell_limit=7).apply("r1", bump)
    assert [write.oversell_limit for write in stub.writes] == [0, 7]
