"""The allocation rule as pure functions: which locations may serve a line that names none,
and which of them do, from the stock read (docs/architecture.md, "Locations and
allocation"). Nothing here reads or writes; :mod:`reservations.reserving` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .commands import CartLine
from .errors import InvalidRequest
from .records import Line, Location, Reservation

Available = Mapping[tuple[str, str], int]  # (sku, location) -> available; missing: none


@dataclass(frozen=True, slots=True)
class Target:
    """Where a line without a location may be served from: the locations that ship to a
    country, those of a site, or one pickup location."""

    country: str | None = None
    site: str | None = None
    pickup: str | None = None

    def admits(self, location: Location) -> bool:
        """Registered, active and matching: an unregistered or inactive location keeps its
        stock and its holds, but is never chosen."""
        if not location.allocatable:
            return False
        if self.pickup is not None:
            return location.location == self.pickup and location.pickup
        if self.site is not None:
            return location.site == self.site
        return self.country is not None and location.ships_to_country(self.country)


def eligible(locations: Iterable[Location], target: Target) -> tuple[Location, ...]:
    """The locations ``target`` admits, preferred first (lowest priority, then by name)."""
    return tuple(
        sorted(
            (loc for loc in locations if target.admits(loc)),
            key=lambda loc: (loc.priority, loc.location),
        )
    )


@dataclass(frozen=True, slots=True)
class Need:
    """One line to allocate: ``index`` is its place in the request (``body.items[i]``)."""

    index: int
    sku: str
    quantity: int
    target: Target
    candidates: tuple[Location, ...]


@dataclass(frozen=True, slots=True)
class Allocation:
    need: Need
    parts: tuple[tuple[str, int], ...]  # (location, quantity), preferred first


@dataclass(frozen=True, slots=True)
class Short:
    need: Need
    available: int  # what every eligible location has for it, in all
    locations: tuple[tuple[str, int], ...]  # and per eligible location


@dataclass(frozen=True, slots=True)
class Shortage:
    short: tuple[Short, ...]
    # Each line is available in all, from several locations together: only the one
    # shipment stands in the way, and allowSplit would serve the order.
    split_would_serve: bool


def has(available: Available, sku: str, location: str) -> int:
    """What a record offers a strict line: an oversold record (below zero) offers nothing."""
    return max(0, available.get((sku, location), 0))


def records_of(needs: Iterable[Need]) -> list[tuple[str, str]]:
    """The stock records a plan depends on: every candidate of every need."""
    return [(need.sku, loc.location) for need in needs for loc in need.candidates]


def plan(
    needs: Sequence[Need], available: Available, allow_split: bool
) -> tuple[Allocation, ...] | Shortage:
    """One location for every need if one can serve them all (one shipment): the lowest
    priority, then the most available. Otherwise, with ``allow_split``, each need at the
    best location for it, or split by priority over several; else a Shortage."""
    if not needs:
        return ()
    single = _one_location(needs, available)
    if single is not None:
        return tuple(Allocation(need, ((single, need.quantity),)) for need in needs)
    if not allow_split:
        return _no_single_location(needs, available)
    allocations, short = [], []
    for need in needs:
        parts = _split(need, available)
        if parts is None:
            short.append(_short(need, available))
        else:
            allocations.append(Allocation(need, parts))
    if short:
        return Shortage(tuple(short), split_would_serve=False)
    return tuple(allocations)


def _one_location(needs: Sequence[Need], available: Available) -> str | None:
    shared = [
        loc
        for loc in needs[0].candidates
        if all(any(c.location == loc.location for c in n.candidates) for n in needs[1:])
    ]
    able = [
        loc
        for loc in shared
        if all(has(available, n.sku, loc.location) >= n.quantity for n in needs)
    ]
    if not able:
        return None
    best = min(
        able,
        key=lambda loc: (
            loc.priority,
            -sum(has(available, n.sku, loc.location) for n in needs),
            loc.location,
        ),
    )
    return best.location


def _ranked(need: Need, available: Available) -> list[Location]:
    return sorted(
        need.candidates,
        key=lambda loc: (loc.priority, -has(available, need.sku, loc.location), loc.location),
    )


def _split(need: Need, available: Available) -> tuple[tuple[str, int], ...] | None:
    ranked = _ranked(need, available)
    whole = next(
        (loc for loc in ranked if has(available, need.sku, loc.location) >= need.quantity), None
    )
    if whole is not None:
        return ((whole.location, need.quantity),)
    parts, left = [], need.quantity
    for loc in ranked:
        take = min(left, has(available, need.sku, loc.location))
        if take:
            parts.append((loc.location, take))
            left -= take
        if left == 0:
            return tuple(parts)
    return None


def _short(need: Need, available: Available) -> Short:
    per = tuple((loc.location, has(available, need.sku, loc.location)) for loc in need.candidates)
    return Short(need, sum(quantity for _, quantity in per), per)


def _no_single_location(needs: Sequence[Need], available: Available) -> Shortage:
    """The lines the location that serves most of the order cannot serve: those are what a
    one-shipment order lacks."""
    locations = {loc.location: loc for need in needs for loc in need.candidates}

    def served(location: str) -> list[Need]:
        return [
            n
            for n in needs
            if any(c.location == location for c in n.candidates)
            and has(available, n.sku, location) >= n.quantity
        ]

    best = min(
        locations.values(),
        key=lambda loc: (
            -len(served(loc.location)),
            loc.priority,
            -sum(has(available, n.sku, loc.location) for n in needs),
            loc.location,
        ),
        default=None,
    )
    covered = set() if best is None else {n.index for n in served(best.location)}
    short = tuple(_short(n, available) for n in needs if n.index not in covered)
    return Shortage(short, split_would_serve=all(s.available >= s.need.quantity for s in short))


def availability(
    skus: Sequence[str], candidates: Sequence[Location], available: Available
) -> list[tuple[str, int, tuple[tuple[str, int], ...]]]:
    """Per sku, what the eligible locations offer in all and each (POST /availability)."""
    found = []
    for sku in skus:
        per = tuple((loc.location, has(available, sku, loc.location)) for loc in candidates)
        found.append((sku, sum(quantity for _, quantity in per), per))
    return found


# --- the cart update ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CartDraft:
    """A cart with location-less lines, before stock is read: the lines it keeps as they
    are (``fixed``, each with its index in the request), and what it needs more of."""

    fixed: tuple[tuple[int, CartLine], ...]
    needs: tuple[Need, ...]
    grown: Mapping[int, tuple[Line, ...]]  # need index -> the lines of its sku it grows from


def draft_cart(
    current: Reservation,
    cart: Sequence[CartLine],
    target_of: Callable[[int, CartLine], Target],
    locations: Sequence[Location],
) -> CartDraft:
    """A location-less cart line takes over every line of its sku: it may shrink them
    (least preferred location first) or need more, which allocation then places. Unless
    the hold allows splits, a line that holds stock grows only where it holds it."""
    rank = {loc.location: (0, loc.priority, loc.location) for loc in locations if loc.allocatable}
    fixed: list[tuple[int, CartLine]] = []
    needs: list[Need] = []
    grown: dict[int, tuple[Line, ...]] = {}
    for index, item in enumerate(cart):
        if item.location is not None:
            fixed.append((index, item))
            continue
        group = [line for line in current.lines if line.sku == item.sku]
        shipped = sum(line.consumed for line in group)
        if item.quantity < shipped:
            raise InvalidRequest(
                f"body.items[{index}].quantity",
                f"{item.quantity} is less than the {shipped} already shipped of this sku",
            )
        keep = item.quantity - shipped  # what the sku's lines should hold from now on
        held = sum(line.held for line in group)
        if keep > held:
            target = target_of(index, item)
            candidates = eligible(locations, target)
            holding = {line.location for line in group if line.held}
            if holding and not current.allow_split:
                candidates = tuple(loc for loc in candidates if loc.location in holding)
            needs.append(Need(index, item.sku, keep - held, target, candidates))
            grown[index] = tuple(group)
            continue
        # Least preferred first: unregistered or inactive locations give back before others.
        order = sorted(
            group, key=lambda line: rank.get(line.location, (1, 0, line.location)), reverse=True
        )
        release = held - keep
        for line in order:
            given = min(release, line.held)
            release -= given
            fixed.append((index, _derived(line, line.consumed + line.held - given)))
    return CartDraft(tuple(fixed), tuple(needs), grown)


def _derived(line: Line, quantity: int) -> CartLine:
    """An existing line, asked for ``quantity`` now; it stays named or allocated as it was
    (only registered locations are ever allocated)."""
    return CartLine(line.sku, line.location, quantity, site=line.site, allocated=line.allocated)


def complete_cart(
    draft: CartDraft, allocations: Sequence[Allocation]
) -> list[tuple[int, CartLine]]:
    """The located cart, each line with the index of the request line it comes from."""
    lines = list(draft.fixed)
    for allocation in allocations:
        index = allocation.need.index
        more = dict(allocation.parts)
        group = draft.grown[index]
        for line in group:
            lines.append(
                (index, _derived(line, line.consumed + line.held + more.pop(line.location, 0)))
            )
        site = allocation.need.target.site
        for location, quantity in more.items():
            lines.append(
                (
                    index,
                    CartLine(allocation.need.sku, location, quantity, site=site, allocated=True),
                )
            )
    return sorted(lines, key=lambda found: found[0])
