"""``lifecycle.change_items`` as a pure function: a live hold follows the whole cart, line by
line. What each line holds, gives back and keeps of the cart's terms, and which lines stay
the service's to place (tests/api/test_cart_update.py has the HTTP contract on a table).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reservations import lifecycle
from reservations.commands import CartLine
from reservations.config import MAX_LINES
from reservations.errors import InvalidRequest, InvalidState
from reservations.lifecycle import Retention
from reservations.records import Change, Line, Reservation, Status

NOW = 1_000_000
RETENTION = Retention(ended_seconds=5_000, expiry_grace_seconds=300)
EXPIRES = NOW + 60


def hold(*lines: Line, status: Status = Status.ACTIVE, order_id: str | None = None) -> Reservation:
    return Reservation(
        id="r1",
        status=status,
        channel="web",
        lines=lines,
        created_at=NOW - 100,
        expires_at=EXPIRES,
        fingerprint="f",
        version=4,
        order_id=order_id,
        updated_at=NOW - 100,
        purge_at=None if status is Status.CONFIRMED else RETENTION.while_active(EXPIRES),
    )


def change(
    before: Reservation,
    *cart: CartLine,
    expires_in: int | None = None,
    order_id: str | None = None,
) -> Reservation:
    return lifecycle.change_items(
        before, cart, NOW, RETENTION, expires_in=expires_in, order_id=order_id
    )


def test_lines_grow_and_shrink_taking_the_carts_terms() -> None:
    before = hold(
        Line("A", "WH1", 3, held=3),
        Line("B", "WH1", 4, allow_oversell=True, held=4, allocated=True, site="S1"),
    )
    after = change(
        before,
        CartLine("A", "WH1", 5, allow_oversell=True),  # grows by 2: takes 2 more from stock
        CartLine("B", "WH1", 1),  # shrinks by 3, now named by the client without oversell
    )
    assert after.lines == (
        Line("A", "WH1", 5, allow_oversell=True, held=5, granted=5),
        Line("B", "WH1", 1, held=1, released=3, granted=4, site="S1"),
    )
    assert (after.status, after.version, after.updated_at) == (Status.ACTIVE, 5, NOW)
    assert after.change is Change.CHANGED
    assert (after.expires_at, after.purge_at) == (before.expires_at, before.purge_at)


def test_a_line_that_shrinks_stays_the_services_to_place_if_the_cart_says_so() -> None:
    before = hold(Line("A", "WH1", 4, held=4, allocated=True))
    after = change(before, CartLine("A", "WH1", 2, allocated=True))
    assert after.lines == (Line("A", "WH1", 2, held=2, released=2, granted=4, allocated=True),)


def test_a_line_cannot_ask_for_less_than_already_shipped() -> None:
    before = hold(Line("A", "WH1", 3, held=3), Line("B", "WH1", 4, held=1, consumed=3))
    with pytest.raises(InvalidRequest) as refused:
        change(before, CartLine("A", "WH1", 3), CartLine("B", "WH1", 2))
    assert (refused.value.field, refused.value.reason) == (
        "body.items[1].quantity",
        "2 is less than the 3 already shipped on this line",
    )
    # Exactly what shipped is allowed: the line then holds nothing.
    after = change(before, CartLine("A", "WH1", 3), CartLine("B", "WH1", 3))
    assert after.line("B", "WH1") == Line("B", "WH1", 3, held=0, released=1, consumed=3, granted=4)


def test_a_line_that_leaves_the_cart_gives_back_what_it_holds_and_keeps_what_shipped() -> None:
    before = hold(Line("A", "WH1", 3, held=3), Line("B", "WH1", 4, held=3, consumed=1))
    after = change(before, CartLine("A", "WH1", 3))
    assert after.lines == (
        Line("A", "WH1", 3, held=3),
        Line("B", "WH1", 1, held=0, released=3, consumed=1, granted=4),
    )
    assert after.status is Status.ACTIVE  # A still holds


def test_new_lines_join_after_the_old_ones_in_cart_order_with_their_terms() -> None:
    before = hold(Line("A", "WH1", 2, held=2))
    after = change(
        before,
        CartLine("Z", "WH2", 1, allow_oversell=True),
        CartLine("A", "WH1", 2),
        CartLine("B", "WH9", 2, site="S1", allocated=True),
    )
    assert after.lines == (
        Line("A", "WH1", 2, held=2),
        Line("Z", "WH2", 1, allow_oversell=True, held=1),
        Line("B", "WH9", 2, held=2, allocated=True, site="S1"),
    )


def test_a_sku_the_cart_names_by_location_is_no_longer_the_services_to_place() -> None:
    before = hold(
        Line("A", "WH1", 2, held=2, allocated=True),
        Line("A", "WH2", 1, held=1, allocated=True),
        Line("C", "WH3", 1, held=1, allocated=True),
    )
    # The client names A at WH1 itself: A's other allocated line is no longer part of an
    # allocated line either. C leaves the cart too, but nothing named it: still allocated.
    named = change(before, CartLine("A", "WH1", 2))
    assert named.lines == (
        Line("A", "WH1", 2, held=2),
        Line("A", "WH2", 0, released=1, granted=1),
        Line("C", "WH3", 0, released=1, granted=1, allocated=True),
    )
    # The service derived A at WH1 (the cart's line is allocated): A at WH2 stays its own.
    derived = change(before, CartLine("A", "WH1", 2, allocated=True))
    assert derived.lines == (
        Line("A", "WH1", 2, held=2, allocated=True),
        Line("A", "WH2", 0, released=1, granted=1, allocated=True),
        Line("C", "WH3", 0, released=1, granted=1, allocated=True),
    )


def test_a_cart_line_without_a_location_never_reaches_the_plan() -> None:
    with pytest.raises(ValueError, match=r"^cart line 1 has no location$"):
        change(hold(Line("A", "WH1", 2, held=2)), CartLine("A", "WH1", 2), CartLine("B", None, 1))


def test_a_hold_has_at_most_max_lines_old_ones_included() -> None:
    before = hold(Line("A", "WH1", 2, held=2), Line("B", "WH1", 1, held=1))
    new = [CartLine(f"N{index}", "WH1", 1) for index in range(MAX_LINES - 2)]
    full = change(before, CartLine("A", "WH1", 2), *new)
    assert len(full.lines) == MAX_LINES  # B left the cart, yet it is still a line
    with pytest.raises(InvalidRequest) as refused:
        change(before, CartLine("A", "WH1", 2), *new, CartLine("X", "WH1", 1))
    assert (refused.value.field, refused.value.reason) == (
        "body.items",
        f"a hold has at most {MAX_LINES} lines, old ones included",
    )


def test_a_cart_as_the_hold_is_changes_nothing() -> None:
    before = hold(Line("A", "WH1", 2, held=2), order_id="o1")
    assert change(before, CartLine("A", "WH1", 2)) is before
    assert change(before, CartLine("A", "WH1", 2), order_id="o1") is before


def test_the_order_and_a_new_lifetime_come_with_the_cart() -> None:
    before = hold(Line("A", "WH1", 2, held=2), order_id="o1")
    after = change(before, CartLine("A", "WH1", 2), expires_in=600, order_id="o2")
    assert (after.order_id, after.expires_at) == ("o2", NOW + 600)
    assert after.purge_at == NOW + 600 + RETENTION.expiry_grace_seconds
    assert (after.lines, after.version, after.updated_at) == (before.lines, 5, NOW)
    assert after.change is Change.CHANGED


def test_a_confirmed_hold_follows_the_cart_but_takes_no_lifetime() -> None:
    before = hold(Line("A", "WH1", 2, held=2), status=Status.CONFIRMED)
    after = change(before, CartLine("A", "WH1", 3))
    assert (after.status, after.purge_at) == (Status.CONFIRMED, None)
    with pytest.raises(InvalidRequest) as refused:
        change(before, CartLine("A", "WH1", 3), expires_in=600)
    assert (refused.value.field, refused.value.reason) == (
        "body.expiresInSeconds",
        "a confirmed hold does not expire",
    )


def test_a_cart_that_leaves_nothing_held_ends_the_hold_as_it_was_otherwise() -> None:
    before = hold(Line("A", "WH1", 2, held=2), order_id="o1")
    after = change(before, expires_in=600, order_id="o2")
    assert after.status is Status.CANCELLED
    assert after.lines == (Line("A", "WH1", 0, released=2, granted=2),)
    assert after.purge_at == NOW + RETENTION.ended_seconds
    # An ended hold takes neither the new order nor the new lifetime.
    assert (after.order_id, after.expires_at) == ("o1", EXPIRES)
    shipped = hold(Line("A", "WH1", 2, held=1, consumed=1))
    assert change(shipped).status is Status.FULFILLED


@pytest.mark.parametrize("status", [Status.FULFILLED, Status.CANCELLED, Status.EXPIRED])
def test_a_hold_no_longer_live_does_not_follow_a_cart(status: Status) -> None:
    ended = replace(hold(Line("A", "WH1", 2, released=2)), status=status)
    with pytest.raises(InvalidState) as refused:
        change(ended, CartLine("A", "WH1", 2))
    assert refused.value.status == status.value
    due = hold(Line("A", "WH1", 2, held=2))
    with pytest.raises(InvalidState):
        lifecycle.change_items(due, [CartLine("A", "WH1", 3)], EXPIRES, RETENTION)
