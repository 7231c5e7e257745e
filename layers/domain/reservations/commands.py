"""What callers ask of the service, in domain terms: the HTTP bodies (``reservations.http``)
are translated into these, so the service never depends on a transport's models."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .records import Destination


@dataclass(frozen=True, slots=True)
class SetThreshold:
    """A new low-stock threshold for a stock record: a number, or None to have none. A
    stock write that carries no SetThreshold keeps the record's."""

    value: int | None


@dataclass(frozen=True, slots=True)
class ReserveLine:
    sku: str
    location: str | None  # None: the service allocates it (issue 14)
    quantity: int
    allow_oversell: bool = False
    site: str | None = None  # without a location: any location of this site
    labels: tuple[str, ...] = ()  # held whole; the line holds what they carry


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    lines: tuple[ReserveLine, ...]
    id: str | None = None  # the client's idempotency key; None: the service makes one
    order_id: str | None = None
    expires_in_seconds: int | None = None  # None: the service's default
    # Where lines without a location go (issue 14); at most one of ship_to and pickup_at.
    ship_to: Destination | None = None
    shipping_choice: str | None = None  # canonical JSON of the client's shippingChoice
    pickup_at: str | None = None
    allow_split: bool = False

    @property
    def needs_allocation(self) -> bool:
        return any(line.location is None for line in self.lines)

    def fingerprint(self, channel: str) -> str:
        """Identity of the request: the same id with the same fingerprint is a replay, not a
        new hold. The field names are the API's, so fingerprints stored before stay valid:
        a field the request does not use adds nothing to it."""
        items: list[dict[str, Any]] = []
        for line in self.lines:
            item: dict[str, Any] = {
                "sku": line.sku,
                "location": line.location,
                "quantity": line.quantity,
                "allowOversell": line.allow_oversell,
            }
            if line.site is not None:
                item["site"] = line.site
            if line.labels:
                item["labels"] = list(line.labels)
            items.append(item)
        canonical: dict[str, Any] = {
            "channel": channel,
            "id": self.id,
            "orderId": self.order_id,
            "items": items,
            "expiresInSeconds": self.expires_in_seconds,
        }
        if self.ship_to is not None:
            kept = {
                "country": self.ship_to.country,
                "state": self.ship_to.state,
                "postalCode": self.ship_to.postal_code,
            }
            canonical["shipTo"] = {k: v for k, v in kept.items() if v is not None}
        if self.shipping_choice is not None:
            canonical["shippingChoice"] = json.loads(self.shipping_choice)
        if self.pickup_at is not None:
            canonical["pickupAt"] = self.pickup_at
        if self.allow_split:
            canonical["allowSplit"] = True
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CartLine:
    """A line of the whole cart a hold should follow: ``quantity`` is what the shopper buys
    on it now (what already shipped included)."""

    sku: str
    location: str | None  # None: the service allocates it, as for a reserve
    quantity: int
    allow_oversell: bool = False
    site: str | None = None
    allocated: bool = False  # the service chose this location (a line it derived)


@dataclass(frozen=True, slots=True)
class CartChange:
    """The whole cart a live hold should follow from now on."""

    lines: tuple[CartLine, ...]
    expires_in_seconds: int | None = None  # a new lifetime, counted from now (ACTIVE only)
    order_id: str | None = None  # set or change the order the hold belongs to

    @property
    def needs_allocation(self) -> bool:
        return any(line.location is None for line in self.lines)
