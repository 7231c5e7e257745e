"""What happens to the labels of a line when it ships, is released, or is offset: pure
functions over :class:`~reservations.records.Line` (docs/architecture.md, "Serialized
labels"). A label is held whole; whatever of it does not ship goes back to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .errors import InvalidRequest, LabelNotHeld
from .records import LabelHold, Line


def let_go(labels: tuple[LabelHold, ...]) -> tuple[LabelHold, ...]:
    """Every label still held goes back to stock whole."""
    return tuple(replace(x, held=False) if x.held else x for x in labels)


def release_whole(line: Line) -> Line:
    """The line gives back everything it holds, its labels whole."""
    return replace(line, held=0, released=line.released + line.held, labels=let_go(line.labels))


def release_label(line: Line, label: str) -> Line:
    """One label goes back to stock; the line holds the rest."""
    hold = next(x for x in line.labels if x.label == label and x.held)
    labels = tuple(replace(x, held=False) if x is hold else x for x in line.labels)
    return replace(
        line, held=line.held - hold.quantity, released=line.released + hold.quantity, labels=labels
    )


def ship(line: Line, quantity: int, named: Sequence[str] | None, where: str) -> Line:
    """``quantity`` leaves stock from the line's labels (the ``named`` ones, in that order, or
    all it holds in the order placed); what is left on every label it held goes back to
    stock, so the line ends holding nothing. LabelNotHeld names labels it does not hold."""
    held = [x for x in line.labels if x.held]
    if named is not None:
        missing = [label for label in named if not line.holds_label(label)]
        if missing:
            raise LabelNotHeld(missing)
        by_name = {x.label: x for x in held}
        held = [by_name[label] for label in dict.fromkeys(named)]
        capacity = sum(x.quantity for x in held)
        if quantity > capacity:
            raise InvalidRequest(
                f"{where}.quantity", f"{quantity} exceeds the {capacity} on the labels named"
            )
    shipped: dict[str, int] = {}
    left = quantity
    for hold in held:
        shipped[hold.label] = min(left, hold.quantity)
        left -= shipped[hold.label]
    labels = tuple(
        replace(x, held=False, shipped=shipped.get(x.label, 0)) if x.held else x
        for x in line.labels
    )
    return replace(
        line,
        held=0,
        consumed=line.consumed + quantity,
        released=line.released + line.held - quantity,
        labels=labels,
    )
