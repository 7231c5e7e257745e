"""The HTTP contract: request and response bodies, validated by pydantic.

Field names are camelCase because clients are written against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..commands import CartChange, CartLine, ReserveLine, ReserveRequest
from ..config import MAX_EXPIRES_IN_SECONDS, MAX_LINES
from ..values import Identifier, OnHand, Quantity, StrictModel

ExpiresInSeconds = Annotated[int, Field(strict=True, gt=0, le=MAX_EXPIRES_IN_SECONDS)]


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

    def to_command(self) -> ReserveRequest:
        return ReserveRequest(
            lines=tuple(
                ReserveLine(item.sku, item.location, item.quantity, item.allowOversell)
                for item in self.items
            ),
            id=self.id,
            order_id=self.orderId,
            expires_in_seconds=self.expiresInSeconds,
        )


class ChangeItemsRequest(StrictModel):
    items: list[ReservationItemRequest] = Field(
        min_length=1,
        max_length=MAX_LINES,
        description=(
            "The whole cart: each line's quantity is what the shopper buys on it now; a line "
            "left out gives back what it holds"
        ),
    )
    expiresInSeconds: ExpiresInSeconds | None = Field(
        default=None, description="A new lifetime, counted from now (ACTIVE holds only)"
    )
    orderId: Identifier | None = Field(default=None, description="Set or change the order")

    _unique = field_validator("items")(lambda items: one_line_per_stock_record(items))

    def to_command(self) -> CartChange:
        return CartChange(
            lines=tuple(
                CartLine(item.sku, item.location, item.quantity, item.allowOversell)
                for item in self.items
            ),
            expires_in_seconds=self.expiresInSeconds,
            order_id=self.orderId,
        )


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
        default=None,
        min_length=1,
        max_length=MAX_LINES,
        description="What shipped; without it everything still held ships",
    )

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[LineQuantityRequest] | None) -> list[LineQuantityRequest] | None:
        return None if items is None else one_line_per_stock_record(items)


class SetOnHandRequest(StrictModel):
    onHand: OnHand
    lowStockThreshold: OnHand | None = Field(
        default=None,
        description=(
            "stock.low is published when available falls below it; null removes it, "
            "absent keeps the record's"
        ),
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


class ReservationItem(ResponseModel):
    sku: str
    location: str
    quantity: int = Field(
        description="Quantity the line asks for: as placed, or as the last cart update set it"
    )
    allowOversell: bool
    held: int = Field(description="Quantity this line still holds")
    released: int = Field(
        description="Quantity given back to stock (by a release, a cart update or the end)"
    )
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
    expiresAt: str | None = Field(
        description=(
            "ISO 8601, UTC: when an ACTIVE hold expires, or an EXPIRED one did; null once "
            "the hold can no longer expire (CONFIRMED, FULFILLED, CANCELLED)"
        )
    )


class ReservationSummary(ResponseModel):
    """A hold as a search lists it: its header, without the lines (GET it for those)."""

    id: str
    status: str
    channel: str
    orderId: str | None = None
    createdAt: str = Field(description="ISO 8601, UTC")
    expiresAt: str | None = Field(description="As on the reservation itself")
    lineCount: int


class ReservationListResponse(ResponseModel):
    reservations: list[ReservationSummary] = Field(description="Newest first")
    nextToken: str | None = Field(
        default=None, description="Pass it back as nextToken for the next page; absent: the last"
    )


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
    version: int = Field(
        description="Moves with every change of onHand (not with holds); as ETag, for If-Match"
    )
    lowStockThreshold: int | None = Field(
        default=None, description="stock.low is published when available falls below it"
    )


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


class HealthResponse(ResponseModel):
    status: str = Field(description="ok: the function answers")
    version: str = Field(description="The deployed version (template parameter ServiceVersion)")


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
    current: StockLevelResponse | None = Field(
        default=None, description="PRECONDITION_FAILED: the record as it is now"
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
