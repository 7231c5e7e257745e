"""The ERP's messages on its SQS queue: one JSON object per message, told apart by ``type``.

Every message names its ``schemaVersion`` so the contract can evolve without guessing.
Unknown fields are refused like in the HTTP API: a misspelt ``deductOnHand`` must not
silently fall back to its default. See docs/architecture.md for examples.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from .errors import field_path
from .json_shape import shape_problem
from .values import MAX_ON_HAND, MAX_SAFE_INTEGER, Identifier, OnHand, Quantity, StrictModel

SCHEMA_VERSION = 1

# Sequences are the ERP's own counters (a change number, a timestamp in ms): any integer a
# JSON client represents exactly.
Sequence = Annotated[int, Field(strict=True, ge=0, le=MAX_SAFE_INTEGER)]
Delta = Annotated[int, Field(strict=True, ge=-MAX_ON_HAND, le=MAX_ON_HAND)]


Text = Annotated[str, Field(min_length=1, max_length=256)]  # a reason, a reference
MeasureName = Annotated[str, Field(pattern=r"^[a-z][A-Za-z0-9]{0,39}$")]


class ErpMessageBase(StrictModel):
    schemaVersion: Literal[1]
    # Optional fields added after messages were first fingerprinted: left out of the
    # fingerprint unless sent, so a message applied before they existed is still known.
    _added_later: ClassVar[frozenset[str]] = frozenset()

    def fingerprint(self) -> str:
        """Identity of the content: an id reused for different content is told apart."""
        unsent = self._added_later - self.model_fields_set
        content = self.model_dump(mode="json", exclude=set(unsent))
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class StockSet(ErpMessageBase):
    """An absolute measure of one (sku, location) as of the ERP's ``sequence``: ``onHand``
    (physical stock), or ``value`` of the ``measure`` named."""

    type: Literal["stock.set"]
    sku: Identifier
    location: Identifier
    measure: MeasureName = "onHand"
    onHand: OnHand | None = None
    value: OnHand | None = Field(default=None, description="the measure's value")
    sequence: Sequence
    reason: Text | None = None
    reference: Text | None = None
    _added_later = frozenset({"measure", "value", "reason", "reference", "onHand"})

    @model_validator(mode="after")
    def _one_value(self) -> StockSet:
        if (self.onHand is None) == (self.value is None):
            raise ValueError("send the measure's value as value (or onHand alone, for onHand)")
        if self.onHand is not None and self.measure != "onHand":
            raise ValueError(f"onHand is not the value of {self.measure}: send value")
        return self

    @property
    def amount(self) -> int:
        return self.onHand if self.onHand is not None else self.value  # type: ignore[return-value]


class StockAdjust(ErpMessageBase):
    """A relative change of physical stock: a receipt, damage, a count correction."""

    type: Literal["stock.adjust"]
    adjustmentId: Identifier
    sku: Identifier
    location: Identifier
    measure: MeasureName = "onHand"
    delta: Delta
    reason: Text | None = None
    reference: Text | None = None
    _added_later = frozenset({"measure", "reason", "reference"})


class ReservationOffset(ErpMessageBase):
    """The ERP took over (part of) a soft hold: hard reservation, picking or shipment."""

    type: Literal["reservation.offset"]
    offsetId: Identifier
    reservationId: Identifier | None = Field(
        default=None, description="Without it, the oldest live holds on the record are offset"
    )
    sku: Identifier
    location: Identifier
    quantity: Quantity
    deductOnHand: Annotated[bool, Field(strict=True)] = True


class LabelUpsert(ErpMessageBase):
    """A serialized label as the ERP has it now (issue 16), as of its ``sequence``: a late or
    replayed one never rolls a newer one back."""

    type: Literal["label.upsert"]
    label: Identifier
    sku: Identifier
    location: Identifier
    quantity: Quantity
    bin: Identifier | None = None
    sequence: Sequence


class LabelRemove(ErpMessageBase):
    """The label left stock outside this service (scrapped, relabelled), as of ``sequence``."""

    type: Literal["label.remove"]
    label: Identifier
    sequence: Sequence


Message = StockSet | StockAdjust | ReservationOffset | LabelUpsert | LabelRemove
ErpMessage = Annotated[Message, Field(discriminator="type")]
MESSAGE_TYPES = ("stock.set", "stock.adjust", "reservation.offset", "label.upsert", "label.remove")


class PoisonMessage(Exception):
    """A message that can never take effect, however often it is delivered: it belongs in
    the dead-letter queue with this reason, not in another retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@cache
def _adapter() -> TypeAdapter[ErpMessage]:
    # Built on first use, not at import: it is the ERP function's only schema.
    return TypeAdapter(ErpMessage)


def parse_message(body: str) -> Message:
    """The message in an SQS body, or PoisonMessage saying what is wrong and where."""
    problem = shape_problem(body)
    if problem is not None:
        raise PoisonMessage(f"body: {problem.value}")
    try:
        raw: Any = json.loads(body)
    except ValueError as error:
        raise PoisonMessage(f"body is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise PoisonMessage(f"body must be a JSON object, got {type(raw).__name__}")
    if raw.get("type") not in MESSAGE_TYPES:
        raise PoisonMessage(
            f"type: unknown message type {raw.get('type')!r}; "
            f"expected one of {', '.join(MESSAGE_TYPES)}"
        )
    try:
        return _adapter().validate_python(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{field_path(detail['loc'][1:])}: {detail['msg']}"
            for detail in error.errors(include_url=False)
        )
        raise PoisonMessage(f"{raw['type']} message is invalid: {problems}") from None
