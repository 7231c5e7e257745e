"""What is stored: reservations, their lines, and stock levels (not the API's shapes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    ACTIVE = "ACTIVE"
    CONFIRMED = "CONFIRMED"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class Change(StrEnum):
    """What the last step of a hold's life was: the header records it with each version, so
    a reader of the table's stream can name a change without seeing the request
    (docs/architecture.md, "Lifecycle events")."""

    CREATED = "created"
    CONFIRMED = "confirmed"
    EXTENDED = "extended"
    CHANGED = "changed"  # a cart update
    RELEASED = "released"
    FULFILLED = "fulfilled"
    OFFSET = "offset"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Statuses whose lines still hold stock.
LIVE_STATUSES = frozenset({Status.ACTIVE, Status.CONFIRMED})


def status_at(status: Status, expires_at: int, now: float) -> Status:
    """An ACTIVE hold past its expiry reads EXPIRED even before the sweeper gets to it."""
    if status is Status.ACTIVE and expires_at <= now:
        return Status.EXPIRED
    return status


def end_status(lines: tuple[Line, ...], otherwise: Status) -> Status:
    """How a hold with nothing left held ended: FULFILLED if any of it shipped or was offset
    by the ERP, whatever ended the rest; else ``otherwise`` (CANCELLED or EXPIRED)."""
    shipped = any(line.consumed or line.offset for line in lines)
    return Status.FULFILLED if shipped else otherwise


class LabelStatus(StrEnum):
    ACTIVE = "ACTIVE"
    RESERVED = "RESERVED"
    SHIPPED = "SHIPPED"


@dataclass(frozen=True, slots=True)
class LabelHold:
    """A serialized label a line holds whole (issue 16): ``quantity`` is the label's when it
    was reserved. Once the line lets it go, ``held`` is False and ``shipped`` says how much
    of it left stock with the order (the rest went back to the label, ACTIVE again)."""

    label: str
    quantity: int
    held: bool = True
    shipped: int = 0


@dataclass(frozen=True, slots=True)
class Label:
    """A serial number, lot or pallet label: stock at a location (docs/architecture.md,
    "Serialized labels"). ``reservation_id``, ``order_id`` and ``channel`` are set while
    it is RESERVED."""

    label: str
    sku: str
    location: str
    quantity: int
    created_at: int
    updated_at: int
    status: LabelStatus = LabelStatus.ACTIVE
    bin: str | None = None
    reservation_id: str | None = None
    order_id: str | None = None
    channel: str | None = None
    version: int = 1
    erp_sequence: int | None = None

    @property
    def in_stock(self) -> int:
        """What the label counts towards its stock record's onHand."""
        return 0 if self.status is LabelStatus.SHIPPED else self.quantity


@dataclass(frozen=True, slots=True)
class Line:
    """One (sku, location) of a reservation. ``held`` is what it still holds on the stock record.

    What left ``held`` went to ``released`` (back to available) or ``consumed`` (out of
    physical stock). ``offset`` counts the part of either that the ERP took over.
    ``quantity`` is what the line asks for now (a cart update changes it); ``granted`` is
    all it ever took from stock, so ``held + released + consumed == taken`` always.
    """

    sku: str
    location: str
    quantity: int
    allow_oversell: bool = False
    held: int = 0
    released: int = 0
    consumed: int = 0
    offset: int = 0
    granted: int | None = None  # None: as placed, its quantity
    # The service chose the location (issue 14): the caller named none, or only a site.
    allocated: bool = False
    site: str | None = None  # the site the caller named instead of a location
    # Serialized labels the line was placed on, held whole; ``held`` is then the sum of
    # the quantities of those still held.
    labels: tuple[LabelHold, ...] = ()
    # The bucket of a sharded stock record the line took from, and holds on: 0 is the
    # record itself (docs/architecture.md, "Sharded stock"). It never changes: a line
    # that grows takes more from the same bucket.
    bucket: int = 0
    # Placed by an environment that knows whether the record is sharded (not stored: only
    # the write that places it reads it).
    placed: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        # One spelling of "as placed", so equal lines compare equal however they were made.
        if self.granted is None:
            object.__setattr__(self, "granted", self.quantity)

    @property
    def taken(self) -> int:
        """All the line ever took from stock."""
        return self.quantity if self.granted is None else self.granted

    def holds_label(self, label: str) -> bool:
        return any(x.label == label and x.held for x in self.labels)


@dataclass(frozen=True, slots=True)
class Destination:
    """What is kept of a ship-to address: enough to allocate, nothing that names a person."""

    country: str
    state: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    status: Status
    channel: str
    lines: tuple[Line, ...]
    created_at: int
    expires_at: int
    fingerprint: str
    version: int
    order_id: str | None = None
    # Token of the API call that created the record: a retry of that same call
    # recognises its own write and still answers 201.
    request_token: str = ""
    updated_at: int = 0
    # When DynamoDB TTL may delete the records (None: never, while the hold is confirmed).
    purge_at: int | None = None
    # Where location-less lines were allocated for, kept for the cart update (issue 14).
    ship_to: Destination | None = None
    shipping_choice: str | None = None  # canonical JSON, as the client gave it
    pickup_at: str | None = None
    allow_split: bool = False
    change: Change = Change.CREATED  # the step that wrote this version

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def status_at(self, now: float) -> Status:
        current = status_at(self.status, self.expires_at, now)
        if current is Status.EXPIRED and self.status is Status.ACTIVE:
            return end_status(self.lines, Status.EXPIRED)  # as the sweeper will end it
        return current

    def is_live_at(self, now: float) -> bool:
        return self.status_at(now) in LIVE_STATUSES

    def line(self, sku: str, location: str) -> Line | None:
        return next((x for x in self.lines if (x.sku, x.location) == (sku, location)), None)

    @property
    def held(self) -> int:
        return sum(line.held for line in self.lines)


@dataclass(frozen=True, slots=True)
class HeldLine:
    """A line still holding stock, as listed per sku."""

    reservation_id: str
    channel: str
    status: Status
    expires_at: int
    line: Line
    created_at: int = 0

    def is_live_at(self, now: float) -> bool:
        """Still holding: CONFIRMED, or ACTIVE and not yet due (a due one reads EXPIRED)."""
        return status_at(self.status, self.expires_at, now) in LIVE_STATUSES


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    location: str
    on_hand: int
    reserved: int
    available: int
    updated_at: int = 0
    # Counts changes of physical stock (onHand), not of holds: compare-and-set of a stock
    # write (If-Match) is not disturbed by reserves placed meanwhile.
    version: int = 0
    # stock.low is announced when available falls below it (None: never).
    low_stock_threshold: int | None = None
    # The record's other measures (inbound, safetyStock, ...), those ever written.
    measures: dict[str, int] = field(default_factory=dict)
    # Buckets its available is spread over (docs/architecture.md, "Sharded stock");
    # available and reserved above are then the totals over all of them.
    shards: int = 1
    # Ever sharded: buckets may hold part of its stock, so the record's own item alone
    # (a stream image) does not show its totals.
    bucketed: bool = False

    @property
    def supply(self) -> int:
        return self.available + self.reserved

    def measure(self, name: str) -> int | None:
        """A measure's value, None if never written (onHand is always there)."""
        return self.on_hand if name == "onHand" else self.measures.get(name)


@dataclass(frozen=True, slots=True)
class Cause:
    """Who moved stock and why, as the movement ledger records it: ``source`` is the
    channel or ``erp``; ``reason`` and ``reference`` are the writer's own words."""

    source: str
    reason: str | None = None
    reference: str | None = None


SERVICE_SOURCE = "service"  # the source of a write whose caller named none (tests, tools)
SERVICE = Cause(SERVICE_SOURCE)


@dataclass(frozen=True, slots=True)
class Movement:
    """One change of one measure of a stock record, as the ledger keeps it: ``value`` is the
    measure after it, ``version`` the record's version it made."""

    sku: str
    location: str
    measure: str
    delta: int
    value: int
    at: int
    version: int
    source: str
    reason: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    sku: str
    locations: list[StockLevel] = field(default_factory=list)

    @property
    def on_hand(self) -> int:
        return sum(level.on_hand for level in self.locations)

    @property
    def reserved(self) -> int:
        return sum(level.reserved for level in self.locations)

    @property
    def available(self) -> int:
        return sum(level.available for level in self.locations)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that an ERP message took effect, written in the same transaction as the effect,
    so a redelivered message is recognised instead of applied twice.

    ``part`` names one step of a message applied in several transactions (an auto offset
    writes one part per hold it covers, then the whole receipt, ``part=None``).
    """

    kind: str  # "offset" | "adjust"
    message_id: str  # offsetId | adjustmentId
    fingerprint: str  # of the whole message: a reused id with other content is refused
    applied: int = 0
    part: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A stock location as the location network knows it (docs/architecture.md,
    "Locations and allocation"). ``registered`` is False for a location the service only saw
    stock on: allocation never chooses it."""

    location: str
    registered: bool = True
    country: str | None = None
    name: str | None = None
    site: str | None = None
    priority: int = 0
    active: bool = False
    ships_to: tuple[str, ...] = ()  # countries, or ("*",) for everywhere
    pickup: bool = False
    updated_at: int = 0

    @property
    def allocatable(self) -> bool:
        return self.registered and self.active

    def ships_to_country(self, country: str) -> bool:
        return "*" in self.ships_to or country in self.ships_to
