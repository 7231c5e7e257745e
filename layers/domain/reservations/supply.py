"""What a stock record supplies: a formula of ``+`` and ``-`` over named measures, as
Dynamics 365's *available for reservation* (docs/architecture.md, "Supply measures").

The formula is configuration, parsed here (never evaluated as code) and refused at start
with a message naming what is wrong. ``onHand`` appears in it once, added: every write that
moves physical stock (labels, fulfilment, offsets) moves ``available`` by the same amount,
which holds only while a unit of ``onHand`` is a unit of supply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ON_HAND = "onHand"
STANDARD_MEASURES = (ON_HAND, "inbound", "outbound", "safetyStock")
MEASURE_NAME = re.compile(r"[a-z][A-Za-z0-9]{0,39}")
# A measure is an attribute of the stock record named as it is: these names the record
# uses already (store/items.py and the writes in store/) cannot be measures.
RECORD_ATTRIBUTES = frozenset(
    {"PK", "SK", "sku", "location", "entity", "reserved", "available", "supply", "version",
     "updatedAt", "erpSequence", "lowStockThreshold", "serialized", "purgeAt",
     "moveSource", "moveReason", "moveReference", "shards", "bucketsEver"}
)  # fmt: skip
_TOKEN = re.compile(r"\s*(?:([+-])|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


class FormulaError(ValueError):
    """A formula or measure list the service cannot run with."""


@dataclass(frozen=True, slots=True)
class Formula:
    text: str
    terms: tuple[tuple[int, str], ...]  # (+1 or -1, measure), in the order written

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.terms)

    def coefficient(self, measure: str) -> int:
        """How a unit of ``measure`` moves supply: +1, -1, or 0 when it is not in it."""
        return next((sign for sign, name in self.terms if name == measure), 0)

    @property
    def is_default(self) -> bool:
        """Supply is onHand alone: an absolute onHand needs no earlier value to move
        available (``available = :onHand - reserved``)."""
        return self.terms == ((1, ON_HAND),)

    def delta(self, before: Mapping[str, int | None], after: Mapping[str, int]) -> int:
        """How far supply moves when the measures in ``after`` take those values, from
        ``before`` (a measure absent or None there was never written: zero)."""
        return sum(
            self.coefficient(name) * (value - (before.get(name) or 0))
            for name, value in after.items()
        )

    def supply(self, values: Mapping[str, int]) -> int:
        """The formula's value; a measure never written counts as zero."""
        return sum(sign * values.get(name, 0) for sign, name in self.terms)


DEFAULT_FORMULA = Formula(ON_HAND, ((1, ON_HAND),))


def measure_names(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The standard measures and a deployment's own, each checked."""
    names = list(STANDARD_MEASURES)
    for name in extra:
        if not MEASURE_NAME.fullmatch(name):
            raise FormulaError(
                f"measure {name!r}: a name is a lower-case letter then up to 39 letters or "
                "digits (camelCase)"
            )
        if name in names:
            raise FormulaError(f"measure {name!r} is named twice")
        if name in RECORD_ATTRIBUTES:
            raise FormulaError(f"measure {name!r}: the stock record uses that name already")
        names.append(name)
    return tuple(names)


def parse(text: str, measures: Iterable[str] = STANDARD_MEASURES) -> Formula:
    """``onHand + inbound - outbound - safetyStock`` as terms; FormulaError names the first
    problem and where it is."""
    known = tuple(measures)
    terms: list[tuple[int, str]] = []
    sign, signed = 1, False  # the sign of the next term, and whether one was written
    position = 0
    while text[position:].strip():
        token = _TOKEN.match(text, position)
        assert token is not None  # \S matches whatever is not blank
        assert token.lastindex is not None
        operator, name, other = token.groups()
        where = f"at character {token.start(token.lastindex)}"
        if other is not None:
            raise FormulaError(f"{text!r}: {other!r} {where}: only + and - and measure names")
        if operator is not None:
            if signed:
                raise FormulaError(f"{text!r}: two signs in a row {where}")
            sign, signed = (1 if operator == "+" else -1), True
        else:
            if terms and not signed:
                raise FormulaError(f"{text!r}: a + or - is missing before {name!r} {where}")
            if name not in known:
                raise FormulaError(
                    f"{text!r}: {name!r} is not a measure; the measures are {', '.join(known)}"
                )
            if any(name == seen for _, seen in terms):
                raise FormulaError(f"{text!r}: {name!r} appears twice")
            terms.append((sign, name))
            signed = False  # the next term needs its own sign: an operator sets it
        position = token.end()
    if not terms:
        raise FormulaError("the supply formula is empty; the default is onHand")
    if signed:
        raise FormulaError(f"{text!r} ends with a sign")
    if (1, ON_HAND) not in terms:
        raise FormulaError(f"{text!r}: onHand must be in it, added (+onHand)")
    return Formula(text.strip(), tuple(terms))
