"""The pure transitions of ``reservations.lifecycle``, against every status a hold can be in.

No table and no clock: each case builds a reservation, applies one transition at a fixed
``NOW`` and checks the whole state after (status, lines, version, updatedAt, purgeAt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from reservations import lifecycle
from reservations.errors import InvalidRequest, InvalidState
from reservations.lifecycle import LineQuantity, Retention
from reservations.records import Change, Line, Reservation, Status

NOW = 1_000_000
RETENTION = Retention(ended_seconds=5_000, expiry_grace_seconds=300)
CREATED = NOW - 100


def hold(
    status: Status = Status.ACTIVE,
    expires_at: int = NOW + 60,
    lines: tuple[Line, ...] = (Line("A", "WH1", 3, held=3), Line("B", "WH1", 2, held=2)),
    purge_at: int | None = None,
) -> Reservation:
    if purge_at is None and status is not Status.CONFIRMED:
        purge_at = RETENTION.while_active(expires_at)
    return Reservation(
        id="r1",
        status=status,
        channel="web",
        lines=lines,
        created_at=CREATED,
        expires_at=expires_at,
        fingerprint="f",
        version=4,
        updated_at=CREATED,
        purge_at=purge_at,
    )


ENDED = {
    Status.FULFILLED: (Line("A", "WH1", 3, consumed=3), Line("B", "WH1", 2, released=2)),
    Status.CANCELLED: (Line("A", "WH1", 3, released=3), Line("B", "WH1", 2, released=2)),
    Status.EXPIRED: (Line("A", "WH1", 3, released=3), Line("B", "WH1", 2, released=2)),
}


def in_state(state: str) -> Reservation:
    """``state`` names a status, or ``DUE``: ACTIVE whose expiry is now (it reads EXPIRED)."""
    if state == "DUE":
        return hold(expires_at=NOW)
    status = Status(state)
    if status in ENDED:
        return hold(status, lines=ENDED[status], purge_at=CREATED + RETENTION.ended_seconds)
    return hold(status)


ONE_A = [LineQuantity("A", "WH1", 1)]
Transition = Callable[[Reservation], Reservation]
TRANSITIONS: dict[str, Transition] = {
    "confirm": lambda r: lifecycle.confirm(r, NOW),
    "extend": lambda r: lifecycle.extend(r, NOW, 600, RETENTION),
    "cancel": lambda r: lifecycle.cancel(r, NOW, RETENTION),
    "expire": lambda r: lifecycle.expire(r, NOW, RETENTION),
    "release": lambda r: lifecycle.release(r, ONE_A, NOW, RETENTION),
    "fulfill": lambda r: lifecycle.fulfill(r, ONE_A, NOW, RETENTION),
    "fulfill-all": lambda r: lifecycle.fulfill(r, None, NOW, RETENTION),
}
# What the header records as the step that wrote the version (the stream's events name it).
CHANGES = {
    "confirm": Change.CONFIRMED,
    "extend": Change.EXTENDED,
    "cancel": Change.CANCELLED,
    "expire": Change.EXPIRED,
    "release": Change.RELEASED,
    "fulfill": Change.FULFILLED,
    "fulfill-all": Change.FULFILLED,
}
STATES = ["ACTIVE", "DUE", "CONFIRMED", "FULFILLED", "CANCELLED", "EXPIRED"]
# (transition, state) -> the status after, or the status InvalidState reports.
ALLOWED: dict[tuple[str, str], Status] = {
    ("confirm", "ACTIVE"): Status.CONFIRMED,
    ("extend", "ACTIVE"): Status.ACTIVE,
    ("cancel", "ACTIVE"): Status.CANCELLED,
    ("cancel", "CONFIRMED"): Status.CANCELLED,
    ("expire", "DUE"): Status.EXPIRED,
    ("release", "ACTIVE"): Status.ACTIVE,
    ("release", "CONFIRMED"): Status.CONFIRMED,
    ("fulfill", "ACTIVE"): Status.ACTIVE,
    ("fulfill", "CONFIRMED"): Status.CONFIRMED,
    ("fulfill-all", "ACTIVE"): Status.FULFILLED,
    ("fulfill-all", "CONFIRMED"): Status.FULFILLED,
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_every_transition_from_every_status(name: str, state: str) -> None:
    before = in_state(state)
    allowed = ALLOWED.get((name, state))
    if allowed is None:
        with pytest.raises(InvalidState) as refused:
            TRANSITIONS[name](before)
        shown = "EXPIRED" if state == "DUE" else state
        assert refused.value.status == shown
        assert str(refused.value) == f"reservation 'r1' is {shown}"
        return
    after = TRANSITIONS[name](before)
    assert after.status is allowed
    assert after.change is CHANGES[name]
    assert after.version == before.version + 1
    assert after.updated_at == NOW
    assert (after.id, after.channel, after.created_at) == (before.id, before.channel, CREATED)
    if allowed in (Status.ACTIVE,):
        assert after.purge_at == RETENTION.while_active(after.expires_at)
    elif allowed is Status.CONFIRMED:
        assert after.purge_at is None  # a confirmed hold is never deleted by TTL
    else:
        assert after.purge_at == NOW + RETENTION.ended_seconds


def test_confirm_drops_purge_at_and_keeps_the_lines() -> None:
    before = hold()
    after = lifecycle.confirm(before, NOW)
    assert after.purge_at is None
    assert after.lines == before.lines
    assert after.expires_at == before.expires_at


def test_extend_counts_from_now_and_moves_purge_at_with_the_expiry() -> None:
    after = lifecycle.extend(hold(expires_at=NOW + 5), NOW, 600, RETENTION)
    assert after.expires_at == NOW + 600
    assert after.purge_at == NOW + 600 + RETENTION.expiry_grace_seconds
    assert after.status is Status.ACTIVE


def test_expire_is_due_at_its_expiry_second_not_before() -> None:
    with pytest.raises(InvalidState) as refused:
        lifecycle.expire(hold(expires_at=NOW + 1), NOW, RETENTION)
    assert str(refused.value) == "reservation 'r1' is ACTIVE"
    after = lifecycle.expire(hold(expires_at=NOW), NOW, RETENTION)
    assert after.status is Status.EXPIRED
    assert [(x.held, x.released) for x in after.lines] == [(0, 3), (0, 2)]


def test_expire_never_ends_a_confirmed_hold_even_past_its_old_expiry() -> None:
    with pytest.raises(InvalidState) as refused:
        lifecycle.expire(hold(Status.CONFIRMED, expires_at=NOW - 10), NOW, RETENTION)
    assert refused.value.status == "CONFIRMED"


def test_cancel_releases_what_is_held_and_ends_with_retention_from_now() -> None:
    after = lifecycle.cancel(hold(Status.CONFIRMED), NOW, RETENTION)
    assert [(x.held, x.released, x.consumed) for x in after.lines] == [(0, 3, 0), (0, 2, 0)]
    assert after.purge_at == NOW + RETENTION.ended_seconds


@pytest.mark.parametrize(
    ("ending", "otherwise"),
    [
        (lambda r: lifecycle.cancel(r, NOW, RETENTION), Status.CANCELLED),
        (
            lambda r: lifecycle.release(r, [LineQuantity("A", "WH1", 2)], NOW, RETENTION),
            Status.CANCELLED,
        ),
        (lambda r: lifecycle.expire(replace(r, expires_at=NOW), NOW, RETENTION), Status.EXPIRED),
    ],
)
def test_a_hold_ends_fulfilled_if_anything_shipped_whatever_ends_it(
    ending: Transition, otherwise: Status
) -> None:
    shipped = hold(lines=(Line("A", "WH1", 3, held=2, consumed=1),))
    assert ending(shipped).status is Status.FULFILLED
    nothing = hold(lines=(Line("A", "WH1", 3, held=2, released=1),))
    assert ending(nothing).status is otherwise


def test_a_due_hold_that_shipped_reads_fulfilled_as_the_sweeper_will_end_it() -> None:
    due = hold(expires_at=NOW, lines=(Line("A", "WH1", 3, held=2, consumed=1),))
    assert due.status_at(NOW) is Status.FULFILLED
    assert due.status_at(NOW - 1) is Status.ACTIVE
    assert hold(expires_at=NOW).status_at(NOW) is Status.EXPIRED


def test_release_moves_held_to_released_on_the_named_line_only() -> None:
    after = lifecycle.release(hold(), [LineQuantity("B", "WH1", 2)], NOW, RETENTION)
    assert [(x.sku, x.held, x.released) for x in after.lines] == [("A", 3, 0), ("B", 0, 2)]
    assert after.status is Status.ACTIVE
    assert after.purge_at == hold().purge_at  # still ACTIVE: the expiry's grace stands


def test_fulfil_moves_held_to_consumed() -> None:
    after = lifecycle.fulfill(hold(), [LineQuantity("A", "WH1", 3)], NOW, RETENTION)
    assert [(x.sku, x.held, x.consumed) for x in after.lines] == [("A", 0, 3), ("B", 2, 0)]


def test_fulfil_of_everything_ships_each_line_whole() -> None:
    after = lifecycle.fulfill(hold(), None, NOW, RETENTION)
    assert [(x.held, x.consumed) for x in after.lines] == [(0, 3), (0, 2)]
    assert after.status is Status.FULFILLED


def test_fulfil_of_everything_when_nothing_is_held_is_invalid() -> None:
    emptied = hold(lines=(Line("A", "WH1", 3, held=0, released=3),))
    with pytest.raises(InvalidState) as refused:
        lifecycle.fulfill(emptied, None, NOW, RETENTION)
    assert str(refused.value) == "reservation 'r1' is ACTIVE"


@pytest.mark.parametrize(
    ("items", "field", "reason"),
    [
        (
            [LineQuantity("A", "WH1", 4)],
            "body.items[0].quantity",
            "4 exceeds the 3 still held on this line",
        ),
        (
            [LineQuantity("C", "WH1", 1)],
            "body.items[0]",
            "reservation has no line for sku 'C' at 'WH1'",
        ),
        (
            [LineQuantity("A", "WH2", 1)],
            "body.items[0]",
            "reservation has no line for sku 'A' at 'WH2'",
        ),
        (
            [LineQuantity("B", "WH1", 1), LineQuantity("B", "WH1", 1)],
            "body.items[1]",
            "repeats a line; send one entry per (sku, location)",
        ),
    ],
)
def test_taking_more_than_held_or_an_unknown_or_repeated_line_is_refused(
    items: list[LineQuantity], field: str, reason: str
) -> None:
    for take in (lifecycle.release, lifecycle.fulfill):
        with pytest.raises(InvalidRequest) as refused:
            take(hold(), items, NOW, RETENTION)
        # The API answers both, as the field and the reason of the 400.
        assert (refused.value.field, refused.value.reason) == (field, reason)


def test_exactly_what_is_held_may_be_taken() -> None:
    after = lifecycle.release(hold(), [LineQuantity("A", "WH1", 3)], NOW, RETENTION)
    assert after.line("A", "WH1") == Line("A", "WH1", 3, held=0, released=3)


# --- ERP offsets ----------------------------------------------------------------------------


def test_an_offset_debits_only_the_named_line_of_a_two_line_hold() -> None:
    result = lifecycle.offset(hold(), "B", "WH1", 1, True, NOW, RETENTION)
    assert result.applied == 1
    assert result.reservation.line("A", "WH1") == Line("A", "WH1", 3, held=3)
    assert result.reservation.line("B", "WH1") == Line("B", "WH1", 2, held=1, consumed=1, offset=1)
    assert result.reservation.status is Status.ACTIVE


def test_an_offset_without_deducting_on_hand_releases() -> None:
    result = lifecycle.offset(hold(), "A", "WH1", 2, False, NOW, RETENTION)
    assert result.reservation.line("A", "WH1") == Line("A", "WH1", 3, held=1, released=2, offset=2)


def test_an_offset_covers_at_most_what_is_held_and_ends_the_hold_fulfilled() -> None:
    one_line = hold(lines=(Line("A", "WH1", 3, held=3),))
    result = lifecycle.offset(one_line, "A", "WH1", 10, False, NOW, RETENTION)
    assert result.applied == 3
    assert result.reservation.status is Status.FULFILLED  # offset counts as shipped
    assert result.reservation.change is Change.OFFSET
    assert result.reservation.purge_at == NOW + RETENTION.ended_seconds


def test_an_offset_of_an_emptied_line_of_a_live_hold_covers_nothing() -> None:
    emptied = hold(lines=(Line("A", "WH1", 3, held=0, released=3), Line("B", "WH1", 2, held=2)))
    result = lifecycle.offset(emptied, "A", "WH1", 1, True, NOW, RETENTION)
    assert result.applied == 0
    assert result.reservation is emptied


@pytest.mark.parametrize("state", ["DUE", "FULFILLED", "CANCELLED", "EXPIRED"])
def test_an_offset_of_a_hold_no_longer_live_covers_nothing(state: str) -> None:
    before = in_state(state)
    result = lifecycle.offset(before, "A", "WH1", 1, True, NOW, RETENTION)
    assert (result.applied, result.reservation) == (0, before)


def test_an_offset_of_a_line_the_hold_does_not_have_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        lifecycle.offset(hold(), "A", "WH9", 1, True, NOW, RETENTION)
    assert refused.value.field == "location"


def test_an_offset_of_a_confirmed_hold_applies() -> None:
    result = lifecycle.offset(hold(Status.CONFIRMED), "A", "WH1", 1, True, NOW, RETENTION)
    assert result.applied == 1
    assert result.reservation.status is Status.CONFIRMED
    assert result.reservation.purge_at is None


def test_retention_is_counted_forward() -> None:
    assert RETENTION.while_active(NOW) == NOW + 300
    assert RETENTION.after_end(NOW) == NOW + 5_000
