"""The fixed times, ids and stock the sample events share (``events/*.json``), so that
regenerating them changes nothing unless a shape changed."""

from __future__ import annotations

from .catalogue import DEMO_CATALOGUE, Stock

REQUEST_TIME_EPOCH_MS = 1_767_268_800_000  # 2026-01-01T12:00:00Z
RESERVATION_ID = "checkout-1001"


def _stock(sku: str, location: str) -> Stock:
    """A line of the demo catalogue; fails here, not in ``make invoke``, if it is gone."""
    return next(s for s in DEMO_CATALOGUE if (s.sku, s.location) == (sku, location))


MUG = _stock("MUG-BLUE", "WH-LONDON")
SHIRT_PARIS = _stock("TSHIRT-M-RED", "STORE-PARIS")
POSTER = _stock("POSTER-A2", "WH-LONDON")
