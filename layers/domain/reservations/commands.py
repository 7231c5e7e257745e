"""What callers ask of the service, in domain terms: the HTTP bodies (``reservations.http``)
are translated into these, so the service never depends on a transport's models."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SetThreshold:
    """A new low-stock threshold for a stock record: a number, or None to have none. A
    stock write that carries no SetThreshold keeps the record's."""

    value: int | None


@dataclass(frozen=True, slots=True)
class ReserveLine:
    sku: str
    location: str
    quantity: int
    allow_oversell: bool = False


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    lines: tuple[ReserveLine, ...]
    id: str | None = None  # the client's idempotency key; None: the service makes one
    order_id: str | None = None
    expires_in_seconds: int | None = None  # None: the service's default

    def fingerprint(self, channel: str) -> str:
        """Identity of the request: the same id with the same fingerprint is a replay, not a
        new hold. The field names are the API's, so fingerprints stored before stay valid."""
        canonical = {
            "channel": channel,
            "id": self.id,
            "orderId": self.order_id,
            "items": [
                {
                    "sku": line.sku,
                    "location": line.location,
                    "quantity": line.quantity,
                    "allowOversell": line.allow_oversell,
                }
                for line in self.lines
            ],
            "expiresInSeconds": self.expires_in_seconds,
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CartLine:
    """A line of the whole cart a hold should follow: ``quantity`` is what the shopper buys
    on it now (what already shipped included)."""

    sku: str
    location: str
    quantity: int
    allow_oversell: bool = False


@dataclass(frozen=True, slots=True)
class CartChange:
    """The whole cart a live hold should follow from now on."""

    lines: tuple[CartLine, ...]
    expires_in_seconds: int | None = None  # a new lifetime, counted from now (ACTIVE only)
    order_id: str | None = None  # set or change the order the hold belongs to
