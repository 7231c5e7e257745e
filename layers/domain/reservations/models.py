"""The HTTP contract: request and response bodies, validated by pydantic.

Field names are camelCase because clients are written against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# One transaction carries at most 100 items: the reservation header, and for each line its
# stock record and its hold record.
MAX_LINES = 49
MAX_QUANTITY = 1_000_000_000
# Physical stock is bounded well inside the range every JSON client represents exactly (2**53).
MAX_ON_HAND = 1_000_000_000_000
# Largest integer every JSON client represents exactly; the service applies its own maximum.
MAX_SAFE_INTEGER = 2**53 - 1

# Identifiers end up inside DynamoDB keys ("SKU#<sku>") and URL paths: a conservative
# alphabet keeps '#' and '/' out of them and makes them safe to log.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
IDENTIFIER_MAX = 64

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN)
]
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY)]
OnHand = Annotated[int, Field(strict=True, ge=0, le=MAX_ON_HAND)]
ExpiresInSeconds = Annotated[int, Field(strict=True, gt=0, le=MAX_SAFE_INTEGER)]


class StockLine(Protocol):
    sku: str
    location: str


Lines = TypeVar("Lines", bound=Sequence[StockLine])


def one_line_per_stock_record(items: Lines) -> Lines:
    """A transaction cannot touch the same item twice, and merging silently would hide a
    client bug: reject a repeated (sku, location) and name both lines."""
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        key = (item.sku, item.location)
        if key in seen:
            raise ValueError(
                f"items[{index}] repeats sku {item.sku!r} at location {item.location!r} "
                f"of items[{seen[key]}]; send one line per (sku, location)"
            )
        seen[key] = index
    return items


class StrictModel(BaseModel):
    """Unknown fields are an error, not silently dropped: a typo must not change meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ReservationItemRequest(StrictModel):
    sku: Identifier
    location: Identifier
    quantity: Quantity
    allowOversell: Annotated[bool, Field(strict=True)] = False


class CreateReservationRequest(StrictModel):
    id: Identifier | None = Field(
        default=None, description="Idempotency key chosen by the client, e.g. the checkout id."
    )
    orderId: Identifier | None = None
    items: list[ReservationItemRequest] = Field(min_length=1, max_length=MAX_LINES)
    expiresInSeconds: ExpiresInSeconds | None = Field(
        default=None,
        description="Lifetime of the hold; the service applies a default and a maximum.",
    )

    _unique = field_validator("items")(lambda items: one_line_per_stock_record(items))


class ExtendReservationRequest(StrictModel):
    expiresInSeconds: ExpiresInSeconds = Field(description="New lifetime, counted from now")


class LineQuantityRequest(StrictModel):
    sku: Identifier
    location: Identifier
    quantity: Quantity


class ReleaseReservationRequest(StrictModel):
    items: list[LineQuantityRequest] = Field(min_length=1, max_length=MAX_LINES)

    _unique = field_validator("items")(lambda items: one_line_per_stock_record(items))


class FulfillReservationRequest(StrictModel):
    items: list[LineQuantityRequest] | None = Field(
        default=None, description="What shipped; without it everything still held ships"
    )

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[LineQuantityRequest] | None) -> list[LineQuantityRequest] | None:
        return None if items is None else one_line_per_stock_record(items)


class SetOnHandRequest(StrictModel):
    onHand: OnHand


class ResponseModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


class ReservationItem(ResponseModel):
    sku: str
    location: str
    quantity: int = Field(description="Quantity asked for when the hold was placed")
    allowOversell: bool
    held: int = Field(description="Quantity this line still holds")
    released: int = Field(description="Quantity given back to stock")
    consumed: int = Field(description="Quantity shipped out of stock")
    offset: int = Field(
        description="Of released and consumed, the quantity the ERP took over (offsets)"
    )


class ReservationResponse(ResponseModel):
    id: str
    status: str
    channel: str
    orderId: str | None = None
    items: list[ReservationItem]
    createdAt: str = Field(description="ISO 8601, UTC")
    expiresAt: str | None = Field(description="ISO 8601, UTC; null once confirmed")


class HoldResponse(ResponseModel):
    id: str = Field(description="The reservation holding the stock")
    status: str
    channel: str
    location: str
    quantity: int = Field(description="Quantity still held")
    expiresAt: str | None


class SkuHoldsResponse(ResponseModel):
    sku: str
    holds: list[HoldResponse]


class StockLevelResponse(ResponseModel):
    location: str
    onHand: int
    reserved: int
    available: int
    updatedAt: str | None = None


class InventoryResponse(ResponseModel):
    sku: str
    onHand: int
    reserved: int
    available: int
    locations: list[StockLevelResponse]


class ShortItemResponse(ResponseModel):
    sku: str
    location: str
    requested: int
    available: int


class ErrorDetail(ResponseModel):
    field: str
    reason: str


class GatewayErrorResponse(ResponseModel):
    """What API Gateway answers itself, e.g. its authorizer refusing a token."""

    message: str


class ForbiddenResponse(ResponseModel):
    """A 403: API Gateway's own body when the token lacks the route's scopes, or the
    function's FORBIDDEN (with ``error`` and ``details``) when the body asks for more."""

    message: str
    error: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(ResponseModel):
    error: str
    message: str
    details: list[ErrorDetail] | None = None
    items: list[ShortItemResponse] | None = None
    status: str | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
