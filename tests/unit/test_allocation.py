"""The allocation rule, as pure functions: no table, only locations and what they have."""

from __future__ import annotations

import pytest

from reservations import allocation
from reservations.allocation import Allocation, Need, Shortage, Target
from reservations.commands import CartLine
from reservations.errors import InvalidRequest
from reservations.records import Line, Location, Reservation, Status


def loc(name: str, priority: int = 1, **extra: object) -> Location:
    fields: dict[str, object] = {
        "country": "FR",
        "active": True,
        "ships_to": ("FR",),
        "priority": priority,
        **extra,
    }
    return Location(name, **fields)  # type: ignore[arg-type]


FR = Target(country="FR")
NETWORK = (loc("WH-A", 1), loc("WH-B", 2), loc("WH-C", 3))


def need(index: int, sku: str, quantity: int, target: Target = FR) -> Need:
    return Need(index, sku, quantity, target, allocation.eligible(NETWORK, target))


def where(planned: tuple[Allocation, ...] | Shortage) -> dict[str, tuple[tuple[str, int], ...]]:
    assert not isinstance(planned, Shortage), planned
    return {found.need.sku: found.parts for found in planned}


# --- candidates ---------------------------------------------------------------------------


def test_only_registered_active_locations_that_ship_there_are_candidates() -> None:
    network = [
        loc("WH-A", 2),
        loc("WH-OFF", 1, active=False),
        Location("WH-ERP", registered=False),
        loc("WH-DE", 1, country="DE", ships_to=("DE",)),
        loc("WH-ANY", 3, country="GB", ships_to=("*",)),
    ]
    assert [x.location for x in allocation.eligible(network, FR)] == ["WH-A", "WH-ANY"]


def test_site_and_pickup_targets() -> None:
    network = [
        loc("S1-A", 2, site="S1"),
        loc("S1-B", 1, site="S1"),
        loc("S2", 1, site="S2"),
        loc("SHOP", 1, pickup=True),
        loc("SHOP-NO", 1),
    ]
    assert [x.location for x in allocation.eligible(network, Target(site="S1"))] == [
        "S1-B",
        "S1-A",
    ]
    assert [x.location for x in allocation.eligible(network, Target(pickup="SHOP"))] == ["SHOP"]
    assert allocation.eligible(network, Target(pickup="SHOP-NO")) == ()


# --- one shipment first -------------------------------------------------------------------


def test_one_location_serving_every_line_wins_over_a_preferred_one_serving_some() -> None:
    available = {("A", "WH-A"): 5, ("B", "WH-A"): 0, ("A", "WH-B"): 5, ("B", "WH-B"): 5}
    planned = allocation.plan([need(0, "A", 2), need(1, "B", 2)], available, allow_split=True)
    assert where(planned) == {"A": (("WH-B", 2),), "B": (("WH-B", 2),)}


def test_lowest_priority_then_most_available() -> None:
    network = (loc("WH-A", 1), loc("WH-B", 1), loc("WH-C", 0))
    needs = [Need(0, "A", 2, FR, allocation.eligible(network, FR))]
    assert where(allocation.plan(needs, {("A", "WH-A"): 3, ("A", "WH-B"): 9}, False)) == {
        "A": (("WH-B", 2),)
    }
    # Priority before quantity: WH-C is preferred as soon as it can serve the line.
    available = {("A", "WH-A"): 3, ("A", "WH-B"): 9, ("A", "WH-C"): 2}
    assert where(allocation.plan(needs, available, False)) == {"A": (("WH-C", 2),)}


def test_an_oversold_record_offers_nothing() -> None:
    assert allocation.has({("A", "WH-A"): -4}, "A", "WH-A") == 0
    assert allocation.has({}, "A", "WH-A") == 0


# --- split --------------------------------------------------------------------------------


def test_with_split_each_line_goes_to_its_best_location() -> None:
    available = {("A", "WH-A"): 5, ("B", "WH-B"): 5, ("B", "WH-C"): 9}
    planned = allocation.plan([need(0, "A", 2), need(1, "B", 2)], available, allow_split=True)
    assert where(planned) == {"A": (("WH-A", 2),), "B": (("WH-B", 2),)}


def test_a_line_no_location_can_serve_alone_is_split_by_priority() -> None:
    available = {("A", "WH-A"): 2, ("A", "WH-B"): 1, ("A", "WH-C"): 9}
    assert where(allocation.plan([need(0, "A", 10)], available, allow_split=True)) == {
        "A": (("WH-A", 2), ("WH-B", 1), ("WH-C", 7))
    }


def test_without_split_the_refusal_names_what_one_shipment_lacks() -> None:
    available = {("A", "WH-A"): 5, ("B", "WH-B"): 5}
    planned = allocation.plan([need(0, "A", 2), need(1, "B", 2)], available, allow_split=False)
    assert isinstance(planned, Shortage)
    assert planned.split_would_serve
    # WH-A serves A (and comes first): B is what it lacks, with B's availability for FR.
    (short,) = planned.short
    assert (short.need.sku, short.available) == ("B", 5)
    assert short.locations == (("WH-A", 0), ("WH-B", 5), ("WH-C", 0))


def test_a_line_short_everywhere_is_short_even_with_split() -> None:
    available = {("A", "WH-A"): 2, ("A", "WH-B"): 1, ("B", "WH-A"): 9}
    planned = allocation.plan([need(0, "A", 4), need(1, "B", 1)], available, allow_split=True)
    assert isinstance(planned, Shortage)
    assert not planned.split_would_serve
    assert [(s.need.sku, s.available) for s in planned.short] == [("A", 3)]


def test_no_candidate_at_all_is_short_with_nothing_available() -> None:
    nowhere = Target(country="JP")
    planned = allocation.plan([need(0, "A", 1, nowhere)], {}, allow_split=True)
    assert isinstance(planned, Shortage)
    assert [(s.available, s.locations) for s in planned.short] == [(0, ())]


def test_availability_sums_the_eligible_locations() -> None:
    found = allocation.availability(["A", "B"], NETWORK, {("A", "WH-A"): 2, ("A", "WH-C"): -1})
    assert found == [
        ("A", 2, (("WH-A", 2), ("WH-B", 0), ("WH-C", 0))),
        ("B", 0, (("WH-A", 0), ("WH-B", 0), ("WH-C", 0))),
    ]


# --- the cart update ----------------------------------------------------------------------


def hold(*lines: Line) -> Reservation:
    return Reservation("r1", Status.ACTIVE, "web", lines, 0, 100, "", 1, ship_to=None)


def test_a_location_less_cart_line_shrinks_the_least_preferred_first() -> None:
    current = hold(
        Line("A", "WH-A", 2, held=2, allocated=True),
        Line("A", "WH-C", 3, held=3, allocated=True),
    )
    draft = allocation.draft_cart(current, [CartLine("A", None, 3)], lambda *_: FR, NETWORK)
    assert draft.needs == ()
    assert sorted((x.location, x.quantity) for _, x in draft.fixed) == [("WH-A", 2), ("WH-C", 1)]


def test_a_location_less_cart_line_needs_only_what_it_lacks() -> None:
    current = hold(Line("A", "WH-B", 2, held=2, allocated=True))
    draft = allocation.draft_cart(current, [CartLine("A", None, 5)], lambda *_: FR, NETWORK)
    assert [(n.sku, n.quantity) for n in draft.needs] == [("A", 3)]
    planned = allocation.plan(draft.needs, {("A", "WH-A"): 1, ("A", "WH-B"): 9}, True)
    assert not isinstance(planned, Shortage)
    cart = allocation.complete_cart(draft, planned)
    assert [(x.location, x.quantity, x.allocated) for _, x in cart] == [("WH-B", 5, True)]


def test_shipped_goods_bound_a_location_less_cart_line() -> None:
    current = hold(Line("A", "WH-A", 2, held=0, consumed=2, allocated=True))
    with pytest.raises(InvalidRequest) as refused:
        allocation.draft_cart(current, [CartLine("A", None, 1)], lambda *_: FR, NETWORK)
    assert refused.value.field == "body.items[0].quantity"
