"""Digital River's checkout shapes a reserve accepts (``shipTo``, ``shippingChoice``):
what allocation needs is kept, what names a person is accepted and never stored."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, StringConstraints

from ..records import Destination
from ..values import CountryCode, StrictModel
from .response import ResponseModel, absent_when_null

# Text a person typed: any characters but controls, which have no place in a name or code.
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Amount = (
    Annotated[int, Field(strict=True, ge=0, le=10**9)]
    | Annotated[float, Field(strict=True, ge=0, le=1e9, allow_inf_nan=False)]
)


class ShipToAddress(StrictModel):
    """Digital River's address: only country, state and postal code are kept."""

    country: CountryCode
    state: ShortText | None = None
    postalCode: ShortText | None = None
    line1: Text | None = None
    line2: Text | None = None
    city: Text | None = None


class AdditionalAddressInfo(StrictModel):
    neighborhood: Text | None = None
    division: Text | None = None
    phoneticName: Text | None = None


class ShipTo(StrictModel):
    """Digital River's ``shipTo``. Names, emails and phone numbers are accepted so a
    checkout can be passed on as it is, and are never stored."""

    address: ShipToAddress
    name: Text | None = None
    phone: Text | None = None
    email: Text | None = None
    organization: Text | None = None
    additionalAddressInfo: AdditionalAddressInfo | None = None

    def destination(self) -> Destination:
        return Destination(self.address.country, self.address.state, self.address.postalCode)


class ShippingChoice(StrictModel):
    """Digital River's ``shippingChoice``: kept as given and echoed back."""

    amount: Amount | None = None
    taxAmount: Amount | None = None
    description: Text | None = None
    serviceLevel: ShortText | None = None
    shippingTerms: ShortText | None = None

    def canonical(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True, separators=(",", ":"))


class ShippingChoiceResponse(ResponseModel):
    """The shippingChoice as the request gave it: fields it left out stay out."""

    amount: int | float | None = absent_when_null()
    taxAmount: int | float | None = absent_when_null()
    description: str | None = absent_when_null()
    serviceLevel: str | None = absent_when_null()
    shippingTerms: str | None = absent_when_null()
