"""The lines of a reserve that name labels: each label is counted at the quantity this
execution environment knows for it (a single unit when it knows none), so the reserve stays
one transaction; a label counted wrong is refused by its condition, returns its item, and
the reserve is written again with the true count (docs/architecture.md, "Serialized
labels")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .commands import ReserveRequest
from .errors import LabelState, LabelUnavailable
from .records import LabelHold, LabelStatus, Line, Reservation
from .store.label_items import is_removed, label_from_item
from .store.labels import LabelsRefused, LabelStore


def _with_holds(line: Line, holds: tuple[LabelHold, ...]) -> Line:
    quantity = sum(x.quantity for x in holds)
    return replace(line, quantity=quantity, held=quantity, granted=quantity, labels=holds)


class LabelledLines:
    def __init__(self, labels: LabelStore) -> None:
        self._labels = labels

    def counted(self, lines: Sequence[Line], request: ReserveRequest) -> tuple[Line, ...]:
        """The request's lines, those naming labels holding them whole at their known count."""
        named = {(x.sku, x.location): x.labels for x in request.lines if x.labels}
        return tuple(
            _with_holds(
                line,
                tuple(
                    LabelHold(x, self._labels.guess(x)) for x in named[(line.sku, line.location)]
                ),
            )
            if (line.sku, line.location) in named
            else line
            for line in lines
        )

    def recounted(self, reservation: Reservation, refused: LabelsRefused) -> Reservation:
        """The reservation with the refused labels at their true quantity; LabelUnavailable
        naming every label that is not ACTIVE stock of its line's sku and location."""
        line_of = {x.label: line for line in reservation.lines for x in line.labels}
        unavailable: list[LabelState] = []
        for name, _, item in refused.refused:
            if item is None or is_removed(item):
                unavailable.append(LabelState(name, None))
                continue
            label = label_from_item(item)
            line = line_of[name]
            if label.status is not LabelStatus.ACTIVE or (label.sku, label.location) != (
                line.sku,
                line.location,
            ):
                unavailable.append(LabelState(name, label.status.value, label.sku, label.location))
            else:
                self._labels.learn(name, label.quantity)
        if unavailable:
            raise LabelUnavailable(unavailable)
        lines = tuple(
            _with_holds(
                line, tuple(replace(x, quantity=self._labels.guess(x.label)) for x in line.labels)
            )
            if line.labels
            else line
            for line in reservation.lines
        )
        return replace(reservation, lines=lines)
