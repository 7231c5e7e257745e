"""The service's country codes are ISO 3166-1's, as pycountry (a maintained copy of the
standard's list) has them; the layer keeps its own copy for a cheap cold start."""

from __future__ import annotations

import pycountry
import pytest
from pydantic import TypeAdapter, ValidationError

from reservations.countries import COUNTRY_CODES
from reservations.values import CountryCode


def test_the_codes_are_exactly_iso_3166_1_alpha_2() -> None:
    assert {country.alpha_2 for country in pycountry.countries} == COUNTRY_CODES
    assert len(COUNTRY_CODES) == 249


@pytest.mark.parametrize("code", ["fr", "FRA", "XK", "UK", "ZZ", "", "F"])
def test_anything_else_is_refused(code: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(CountryCode).validate_python(code)
