"""The values every contract shares (the HTTP API and the ERP's messages): identifiers,
quantities and their limits, validated by pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .countries import COUNTRY_CODES

MAX_QUANTITY = 1_000_000_000
# Physical stock is bounded well inside the range every JSON client represents exactly (2**53).
MAX_ON_HAND = 1_000_000_000_000
# Largest integer every JSON client represents exactly.
MAX_SAFE_INTEGER = 2**53 - 1


# Identifiers end up inside DynamoDB keys ("SKU#<sku>") and URL paths: a conservative
# alphabet keeps '#' and '/' out of them and makes them safe to log.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
IDENTIFIER_MAX = 64

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN)
]
Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_QUANTITY)]


def iso_country(code: str) -> str:
    if code not in COUNTRY_CODES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. FR)")
    return code


CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2), AfterValidator(iso_country)
]
OnHand = Annotated[int, Field(strict=True, ge=0, le=MAX_ON_HAND)]


class StrictModel(BaseModel):
    """Unknown fields are an error, not silently dropped: a typo must not change meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
