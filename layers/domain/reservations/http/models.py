"""The HTTP contract: request and response bodies, validated by pydantic.

Field names are camelCase because clients are written against them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from ..commands import CartChange, CartLine, ReserveLine, ReserveRequest
from ..config import MAX_EXPIRES_IN_SECONDS, MAX_LINES
from ..errors import InvalidRequest
from ..values import Identifier, Quantity, StrictModel
from .checkout import ShippingChoice, ShippingChoiceResponse, ShipTo
from .label_models import LabelHoldResponse, LabelStateResponse
from .line_rules import labels_fit, max_labels, one_line_per_stock_record
from .response import ResponseModel, absent_when_null
from .stock_models import StockLevelResponse

ExpiresInSeconds = Annotated[int, Field(strict=True, gt=0, le=MAX_EXPIRES_IN_SECONDS)]


class ReservationItemRequest(StrictModel):
    sku: Identifier
    location: Identifier | None = Field(
        default=None,
        description="Where to hold; without it the service chooses (shipTo, pickupAt or site)",
    )
    site: Identifier | None = Field(
        default=None, description="Instead of a location: any location of this site"
    )
    quantity: Quantity | None = Field(
        default=None, description="Required without labels; with them, the labels' own"
    )
    allowOversell: Annotated[bool, Field(strict=True)] = False
    labels: list[Identifier] | None = Field(
        default=None,
        min_length=1,
        max_length=max_labels(1),
        description="Serialized labels to hold whole, ACTIVE at this sku and location",
    )

    def check(self, index: int, located_elsewhere: bool) -> None:
        """Rules across fields, each a 400 naming its field. ``located_elsewhere``: the
        request says where lines without a location go (shipTo or pickupAt)."""
        where = f"body.items[{index}]"
        if self.labels is not None and (self.location is None or self.allowOversell):
            raise InvalidRequest(f"{where}.labels", "need a location, and no allowOversell")
        if self.labels is None and self.quantity is None:
            raise InvalidRequest(f"{where}.quantity", "required without labels")
        if self.location is not None and self.site is not None:
            raise InvalidRequest(f"{where}.site", "give location or site, not both")
        if self.allowOversell and self.location is None:
            raise InvalidRequest(
                f"{where}.allowOversell", "needs a location: oversell is taken where named"
            )
        if self.location is None and self.site is None and not located_elsewhere:
            raise InvalidRequest(f"{where}.location", "required without shipTo or pickupAt")

    def to_line(self) -> ReserveLine:
        labels = tuple(self.labels or ())
        quantity = self.quantity or 0
        return ReserveLine(self.sku, self.location, quantity, self.allowOversell, self.site, labels)

    def to_cart_line(self, index: int) -> CartLine:
        if self.labels is not None:
            raise InvalidRequest(f"body.items[{index}].labels", "a cart update takes no labels")
        assert self.quantity is not None  # check() required it
        return CartLine(self.sku, self.location, self.quantity, self.allowOversell, self.site)


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
    shipTo: ShipTo | None = Field(
        default=None,
        description=(
            "Digital River's shipTo: lines without a location go to locations shipping to its "
            "country. Only country, state and postal code are kept."
        ),
    )
    shippingChoice: ShippingChoice | None = Field(
        default=None, description="Digital River's shippingChoice, kept as given and echoed"
    )
    pickupAt: Identifier | None = Field(
        default=None,
        description="Click-and-collect: every line without a location at this pickup location",
    )
    allowSplit: Annotated[bool, Field(strict=True)] = Field(
        default=False,
        description="Lines without a location may ship from several locations",
    )

    _unique = field_validator("items")(lambda items: labels_fit(one_line_per_stock_record(items)))

    def to_command(self) -> ReserveRequest:
        if self.shipTo is not None and self.pickupAt is not None:
            raise InvalidRequest("body.pickupAt", "give shipTo or pickupAt, not both")
        elsewhere = self.shipTo is not None or self.pickupAt is not None
        for index, item in enumerate(self.items):
            item.check(index, elsewhere)
        if any(x.labels for x in self.items) and any(x.location is None for x in self.items):
            raise InvalidRequest(
                "body.items", "a request that names labels names every line's location"
            )
        return ReserveRequest(
            lines=tuple(item.to_line() for item in self.items),
            id=self.id,
            order_id=self.orderId,
            expires_in_seconds=self.expiresInSeconds,
            ship_to=None if self.shipTo is None else self.shipTo.destination(),
            shipping_choice=None
            if self.shippingChoice is None
            else self.shippingChoice.canonical(),
            pickup_at=self.pickupAt,
            allow_split=self.allowSplit,
        )


class ChangeItemsRequest(StrictModel):
    items: list[ReservationItemRequest] = Field(
        min_length=1,
        max_length=MAX_LINES,
        description=(
            "The whole cart: each line's quantity is what the shopper buys on it now; a line "
            "left out gives back what it holds. A line without a location stands for every "
            "line of its sku and is allocated with the hold's own shipTo or pickupAt"
        ),
    )
    expiresInSeconds: ExpiresInSeconds | None = Field(
        default=None, description="A new lifetime, counted from now (ACTIVE holds only)"
    )
    orderId: Identifier | None = Field(default=None, description="Set or change the order")

    _unique = field_validator("items")(lambda items: one_line_per_stock_record(items))

    def to_command(self) -> CartChange:
        # Where location-less lines go is the hold's: the service checks it has a place.
        for index, item in enumerate(self.items):
            item.check(index, located_elsewhere=True)
        return CartChange(
            lines=tuple(item.to_cart_line(index) for index, item in enumerate(self.items)),
            expires_in_seconds=self.expiresInSeconds,
            order_id=self.orderId,
        )


class ExtendReservationRequest(StrictModel):
    expiresInSeconds: ExpiresInSeconds = Field(description="New lifetime, counted from now")


class LineQuantityRequest(StrictModel):
    sku: Identifier
    location: Identifier
    quantity: Quantity
    labels: list[Identifier] | None = Field(
        default=None,
        min_length=1,
        max_length=max_labels(1),
        description=(
            "Fulfil only: the labels this quantity shipped from (default: the line's, in order)"
        ),
    )


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


class AllocationItem(ResponseModel):
    """The part of a split line held at one location: release or fulfil it by this
    (sku, location)."""

    location: str
    quantity: int
    held: int
    released: int
    consumed: int
    offset: int


class ReservationItem(ResponseModel):
    sku: str
    location: str | None = Field(
        description="Where the line is held; null when it was split (see allocations)"
    )
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
    site: str | None = absent_when_null("The site the line named, if any")
    allocated: bool | None = absent_when_null(
        "True when the service chose the location (absent otherwise)"
    )
    allocations: list[AllocationItem] | None = absent_when_null(
        "A line split over several locations: each part (absent otherwise)"
    )
    labels: list[LabelHoldResponse] | None = absent_when_null("The labels the line was placed on")


class DestinationResponse(ResponseModel):
    country: str
    state: str | None = absent_when_null()
    postalCode: str | None = absent_when_null()


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
    shipTo: DestinationResponse | None = absent_when_null(
        "What was kept of the request's shipTo (absent without one)"
    )
    shippingChoice: ShippingChoiceResponse | None = absent_when_null(
        "As the request gave it (absent without one)"
    )
    pickupAt: str | None = absent_when_null("As the request gave it")
    allowSplit: bool | None = absent_when_null("Present when the request set it")


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


class LocationAvailable(ResponseModel):
    location: str
    available: int


class ShortItemResponse(ResponseModel):
    sku: str
    location: str | None = Field(
        description="The short line's location; null for a line to allocate to a country or site"
    )
    requested: int
    available: int = Field(
        description="At the location, or for a line to allocate: summed over eligible locations"
    )
    country: str | None = absent_when_null()
    site: str | None = absent_when_null()
    locations: list[LocationAvailable] | None = absent_when_null(
        "For a line to allocate: what each eligible location has"
    )


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
    labels: list[LabelStateResponse] | None = None
    current: StockLevelResponse | None = Field(
        default=None, description="PRECONDITION_FAILED: the record as it is now"
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
