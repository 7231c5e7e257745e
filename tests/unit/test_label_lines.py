"""What happens to a line's labels at each step of a hold (``reservations.lifecycle`` and
``reservations.label_lines``, pure): held whole, shipped from in order, given back whole."""

from __future__ import annotations

import pytest

from reservations import lifecycle
from reservations.errors import InvalidRequest, InvalidState, LabelNotHeld
from reservations.lifecycle import LineQuantity, Retention
from reservations.records import Change, LabelHold, Line, Reservation, Status

NOW = 1_000_000
RETENTION = Retention(ended_seconds=5_000, expiry_grace_seconds=300)
LABELS = (LabelHold("L-1", 5), LabelHold("L-2", 5))
LABELLED = Line("S", "WH1", 10, held=10, labels=LABELS)
COUNTED = Line("C", "WH1", 4, held=4)


def hold(*lines: Line, status: Status = Status.ACTIVE) -> Reservation:
    return Reservation(
        id="r1",
        status=status,
        channel="web",
        lines=lines or (LABELLED, COUNTED),
        created_at=NOW - 100,
        expires_at=NOW + 60,
        fingerprint="f",
        version=2,
    )


def labels_of(reservation: Reservation) -> tuple[LabelHold, ...]:
    line = reservation.line("S", "WH1")
    assert line is not None
    return line.labels


def test_shipping_takes_from_the_labels_in_order_and_gives_back_the_rest() -> None:
    after = lifecycle.fulfill(hold(), [LineQuantity("S", "WH1", 7)], NOW, RETENTION)
    line = after.line("S", "WH1")
    assert line is not None
    assert (line.held, line.consumed, line.released) == (0, 7, 3)
    assert line.labels == (LabelHold("L-1", 5, False, 5), LabelHold("L-2", 5, False, 2))
    assert after.line("C", "WH1") == COUNTED and after.status is Status.ACTIVE


def test_shipping_named_labels_takes_from_those_alone() -> None:
    shipped = [LineQuantity("S", "WH1", 3, ("L-2",))]
    after = lifecycle.fulfill(hold(), shipped, NOW, RETENTION)
    assert labels_of(after) == (LabelHold("L-1", 5, False, 0), LabelHold("L-2", 5, False, 3))
    too_much = [LineQuantity("S", "WH1", 6, ("L-2",))]
    with pytest.raises(InvalidRequest, match="exceeds the 5 on the labels named") as refused:
        lifecycle.fulfill(hold(), too_much, NOW, RETENTION)
    assert refused.value.field == "body.items[0].quantity"


def test_shipping_a_label_the_line_does_not_hold_names_it() -> None:
    with pytest.raises(LabelNotHeld) as refused:
        lifecycle.fulfill(hold(), [LineQuantity("S", "WH1", 1, ("L-9", "L-1"))], NOW, RETENTION)
    assert refused.value.names == ["L-9"]
    with pytest.raises(InvalidRequest) as counted:
        lifecycle.fulfill(hold(), [LineQuantity("C", "WH1", 1, ("L-1",))], NOW, RETENTION)
    assert (counted.value.field, counted.value.reason) == (
        "body.items[0].labels",
        "this line holds no labels",
    )


def test_everything_shipping_ships_every_label_whole() -> None:
    after = lifecycle.fulfill(hold(LABELLED), None, NOW, RETENTION)
    assert labels_of(after) == (LabelHold("L-1", 5, False, 5), LabelHold("L-2", 5, False, 5))
    assert after.status is Status.FULFILLED


def test_a_line_of_labels_is_released_whole_never_in_part() -> None:
    with pytest.raises(InvalidRequest) as refused:
        lifecycle.release(hold(), [LineQuantity("S", "WH1", 4)], NOW, RETENTION)
    assert (refused.value.field, refused.value.reason) == (
        "body.items[0].quantity",
        "a line of labels is released whole (10) or label by label",
    )
    with pytest.raises(InvalidRequest) as named:
        lifecycle.release(hold(), [LineQuantity("S", "WH1", 10, ("L-1",))], NOW, RETENTION)
    assert (named.value.field, named.value.reason) == (
        "body.items[0].labels",
        "release a label with POST .../labels/{label}/release",
    )
    after = lifecycle.release(hold(), [LineQuantity("S", "WH1", 10)], NOW, RETENTION)
    assert labels_of(after) == (LabelHold("L-1", 5, False), LabelHold("L-2", 5, False))
    line = after.line("S", "WH1")
    assert line is not None and (line.held, line.released) == (0, 10)


def test_one_label_goes_back_and_the_hold_ends_with_its_last() -> None:
    after = lifecycle.release_label(hold(LABELLED), "L-2", NOW, RETENTION)
    line = after.line("S", "WH1")
    assert line is not None and (line.held, line.released) == (5, 5)
    assert line.labels == (LabelHold("L-1", 5), LabelHold("L-2", 5, False))
    assert (after.status, after.version, after.updated_at) == (Status.ACTIVE, 3, NOW)
    assert after.change is Change.RELEASED
    with pytest.raises(LabelNotHeld):
        lifecycle.release_label(after, "L-2", NOW, RETENTION)
    last = lifecycle.release_label(after, "L-1", NOW, RETENTION)
    assert last.status is Status.CANCELLED and last.purge_at == NOW + 5_000
    assert last.change is Change.RELEASED


def test_a_label_goes_back_from_a_confirmed_hold_but_not_from_an_ended_one() -> None:
    after = lifecycle.release_label(hold(status=Status.CONFIRMED), "L-1", NOW, RETENTION)
    assert after.status is Status.CONFIRMED
    assert labels_of(after) == (LabelHold("L-1", 5, False), LabelHold("L-2", 5))
    with pytest.raises(InvalidState):
        lifecycle.release_label(hold(status=Status.CANCELLED), "L-1", NOW, RETENTION)


@pytest.mark.parametrize("step", ["cancel", "expire"])
def test_the_end_of_a_hold_lets_every_label_go(step: str) -> None:
    current = hold(LABELLED)
    if step == "cancel":
        after = lifecycle.cancel(current, NOW, RETENTION)
    else:
        after = lifecycle.expire(current, NOW + 60, RETENTION)
    assert not any(x.held for x in labels_of(after))
    assert all(x.shipped == 0 for x in labels_of(after))


def test_an_offset_that_deducts_ships_from_the_labels_and_settles_the_line() -> None:
    result = lifecycle.offset(hold(), "S", "WH1", 6, True, NOW, RETENTION)
    line = result.reservation.line("S", "WH1")
    assert result.applied == 6 and line is not None
    assert (line.held, line.consumed, line.released, line.offset) == (0, 6, 4, 6)
    assert line.labels == (LabelHold("L-1", 5, False, 5), LabelHold("L-2", 5, False, 1))
    assert result.reservation.line("C", "WH1") == COUNTED
    assert result.reservation.change is Change.OFFSET


def test_an_offset_that_does_not_deduct_gives_every_label_back() -> None:
    result = lifecycle.offset(hold(LABELLED), "S", "WH1", 3, False, NOW, RETENTION)
    line = result.reservation.line("S", "WH1")
    assert result.applied == 3 and line is not None
    assert (line.held, line.consumed, line.released, line.offset) == (0, 0, 10, 3)
    assert not any(x.held or x.shipped for x in line.labels)
    assert result.reservation.status is Status.FULFILLED  # the ERP took some over


def test_a_cart_update_leaves_a_hold_on_labels_alone() -> None:
    with pytest.raises(InvalidRequest) as refused:
        lifecycle.change_items(hold(), (), NOW, RETENTION)
    assert (refused.value.field, refused.value.reason) == (
        "body.items",
        "a hold on labels changes label by label: release them, or cancel it",
    )
