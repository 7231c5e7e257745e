"""Bodies of the location network's routes and of ``POST /availability``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from ..countries import COUNTRY_CODES
from ..errors import InvalidRequest
from ..records import Location
from ..values import CountryCode, Identifier, StrictModel, iso_country
from .checkout import Text
from .models import LocationAvailable
from .response import ResponseModel

MAX_AVAILABILITY_SKUS = 100
Priority = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
Flag = Annotated[bool, Field(strict=True)]


def _country_or_everywhere(code: str) -> str:
    return code if code == "*" else iso_country(code)


ShipsToEntry = Annotated[str, AfterValidator(_country_or_everywhere)]


# --- the location network -------------------------------------------------------------------


class LocationRequest(StrictModel):
    name: Text | None = None
    country: CountryCode = Field(description="ISO 3166-1 alpha-2, where the location is")
    site: Identifier | None = Field(
        default=None, description="A grouping of locations, as a Dynamics 365 site"
    )
    priority: Priority = Field(description="Lower is preferred by allocation")
    active: Flag = Field(
        description="An inactive location keeps its stock and holds but is never chosen"
    )
    shipsTo: list[ShipsToEntry] | None = Field(
        default=None,
        min_length=1,
        max_length=len(COUNTRY_CODES),
        description='Countries it delivers to; default [country]; ["*"] for everywhere',
    )
    pickup: Flag = Field(default=False, description="Shoppers may collect there (pickupAt)")

    @field_validator("shipsTo")
    @classmethod
    def _ships_to(cls, codes: list[str] | None) -> list[str] | None:
        if codes is None:
            return None
        if "*" in codes and len(codes) > 1:
            raise ValueError('"*" (everywhere) stands alone')
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"repeats {', '.join(repeated)}")
        return codes

    def to_location(self, location: str) -> Location:
        return Location(
            location=location,
            country=self.country,
            name=self.name,
            site=self.site,
            priority=self.priority,
            active=self.active,
            ships_to=tuple(self.shipsTo or [self.country]),
            pickup=self.pickup,
        )


class LocationResponse(ResponseModel):
    location: str
    registered: bool = Field(
        description="False: stock was seen there, nobody registered it; never allocated"
    )
    name: str | None = None
    country: str | None = None
    site: str | None = None
    priority: int | None = None
    active: bool | None = None
    shipsTo: list[str] | None = None
    pickup: bool | None = None
    updatedAt: str | None = None


class LocationListResponse(ResponseModel):
    locations: list[LocationResponse]


# --- availability for a storefront ----------------------------------------------------------


class AvailabilityRequest(StrictModel):
    skus: list[Identifier] = Field(min_length=1, max_length=MAX_AVAILABILITY_SKUS)
    country: CountryCode | None = Field(default=None, description="What ships to this country")
    site: Identifier | None = Field(default=None, description="What the site's locations hold")
    pickupAt: Identifier | None = Field(default=None, description="What one can collect there")

    @field_validator("skus")
    @classmethod
    def _unique(cls, skus: list[str]) -> list[str]:
        repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
        if repeated:
            raise ValueError(f"repeats {', '.join(repeated)}")
        return skus

    def check(self) -> None:
        given = [name for name in ("country", "site", "pickupAt") if getattr(self, name)]
        if len(given) != 1:
            raise InvalidRequest("body", "give exactly one of country, site and pickupAt")


class SkuAvailability(ResponseModel):
    sku: str
    available: int = Field(description="Summed over the eligible locations")
    locations: list[LocationAvailable] = Field(
        description="Per eligible location; never below zero: an oversold record offers nothing"
    )


class AvailabilityResponse(ResponseModel):
    items: list[SkuAvailability]
