"""Bodies of the label routes, and the label parts of reservation and error bodies
(docs/architecture.md, "Serialized labels")."""

from __future__ import annotations

from pydantic import Field

from ..values import Identifier, Quantity, StrictModel
from .response import ResponseModel, absent_when_null


class LabelRequest(StrictModel):
    sku: Identifier
    location: Identifier
    quantity: Quantity = Field(description="Units on the label (1 for a serial number)")
    bin: Identifier | None = Field(default=None, description="Where in the location; null: none")


class LabelResponse(ResponseModel):
    label: str
    sku: str
    location: str
    bin: str | None = absent_when_null()
    quantity: int = Field(description="Units on the label now (0 once shipped empty)")
    status: str = Field(description="ACTIVE, RESERVED or SHIPPED")
    createdAt: str = Field(description="ISO 8601, UTC")
    updatedAt: str = Field(description="ISO 8601, UTC")
    reservationId: str | None = absent_when_null(
        "RESERVED: the hold, shown to its channel and to admins only"
    )
    orderId: str | None = absent_when_null("RESERVED: the hold's order, if any (as above)")


class LabelListResponse(ResponseModel):
    labels: list[LabelResponse] = Field(description="By location, then label")
    nextToken: str | None = absent_when_null("Pass as nextToken for the next page")


class LabelHoldResponse(ResponseModel):
    label: str
    quantity: int = Field(description="The label's quantity when it was reserved")
    held: bool = Field(description="The line still holds it")
    shipped: int = Field(description="What shipped from it with this hold")


class LabelStateResponse(ResponseModel):
    label: str
    status: str | None = Field(description="As found; null when there is no such label")
    sku: str | None = absent_when_null()
    location: str | None = absent_when_null()
