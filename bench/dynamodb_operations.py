"""The operations the dynamodb-calls bench counts: what each sends, on which names, and the
same operation on the service where there is one (bench/dynamodb_calls.py runs them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reservations.http.locations import AvailabilityRequest
from reservations.http.models import ChangeItemsRequest, CreateReservationRequest
from reservations.records import LabelStatus
from reservations.service import ReservationService
from reservations.store.search import HeaderQuery

LOCATION = "WH1"
HEADERS = {"Content-Type": "application/json"}
# The location network of the location-less rows: three warehouses shipping to France.
WAREHOUSES = ("WH-FR-1", "WH-FR-2", "WH-FR-3")
CART_LINES = 3
AVAILABILITY_SKUS = 100


@dataclass(frozen=True, slots=True)
class Names:
    """The SKUs and ids one path works on, so the two paths never share state."""

    prefix: str

    @property
    def sku(self) -> str:
        return f"{self.prefix}-MUG"

    @property
    def other_sku(self) -> str:
        return f"{self.prefix}-PLATE"

    @property
    def idle_sku(self) -> str:
        """Stocked and never held: a refusal here has no expired hold to look for."""
        return f"{self.prefix}-BOWL"

    @property
    def reservation(self) -> str:
        return f"{self.prefix}-order-1"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}-order-2"

    @property
    def unknown(self) -> str:
        return f"{self.prefix}-never-made"

    @property
    def order(self) -> str:
        return f"{self.prefix}-o-1"

    def granted_body(self) -> dict[str, Any]:
        return {
            "id": self.reservation,
            "orderId": self.order,
            "items": [
                {"sku": self.sku, "location": LOCATION, "quantity": 2},
                {"sku": self.other_sku, "location": LOCATION, "quantity": 2},
            ],
        }

    def rejected_body(self) -> dict[str, Any]:
        return {
            "id": self.rejected,
            "items": [{"sku": self.idle_sku, "location": LOCATION, "quantity": 1_000}],
        }

    def rejected_both_body(self) -> dict[str, Any]:
        return {
            "id": f"{self.rejected}-both",
            "items": [
                {"sku": self.idle_sku, "location": LOCATION, "quantity": 1_000},
                {"sku": self.idle_sku, "location": "WH-NONE", "quantity": 1},
            ],
        }

    def cart_skus(self) -> list[str]:
        return [f"{self.prefix}-CART-{line}" for line in range(CART_LINES)]

    def unlocated_body(self) -> dict[str, Any]:
        return {
            "id": f"{self.prefix}-order-3",
            "items": [{"sku": sku, "quantity": 1} for sku in self.cart_skus()],
            "shipTo": {"address": {"country": "FR", "postalCode": "75001"}},
        }

    def availability_body(self) -> dict[str, Any]:
        skus = [f"{self.prefix}-UNSEEN-{i}" for i in range(AVAILABILITY_SKUS - CART_LINES)]
        return {"skus": [*skus, *self.cart_skus()], "country": "FR"}

    def rejected_held_body(self) -> dict[str, Any]:
        return {
            "id": f"{self.rejected}-held",
            "items": [
                {"sku": self.sku, "location": LOCATION, "quantity": 1_000},
                {"sku": self.other_sku, "location": LOCATION, "quantity": 1_000},
            ],
        }

    def cart_body(self) -> dict[str, Any]:
        """The granted cart with one line grown by one."""
        grown = self.granted_body()["items"]
        return {"items": [{**grown[0], "quantity": 3}, grown[1]]}

    def release_body(self) -> dict[str, Any]:
        return {"items": [{"sku": self.other_sku, "location": LOCATION, "quantity": 1}]}

    @property
    def labelled_sku(self) -> str:
        return f"{self.prefix}-SERIAL"

    def labels(self, kind: str) -> list[str]:
        """Three labels of ``kind`` (SN: a unit each, PAL: pallets of PALLET units)."""
        return [f"{self.prefix}-{kind}-{i}" for i in range(3)]

    def labels_body(self, kind: str) -> dict[str, Any]:
        line = {"sku": self.labelled_sku, "location": LOCATION, "labels": self.labels(kind)}
        return {"id": f"{self.prefix}-labels-{kind}", "items": [line]}


PALLET = 4  # units on each PAL label
ServiceCall = Callable[[ReservationService, Names], object]
KEYED = {**HEADERS, "Idempotency-Key": "bench-release-1"}


@dataclass(frozen=True, slots=True)
class Operation:
    label: str
    route: str  # "METHOD /template", as the table shows it
    path: Callable[[Names], str]
    body: Callable[[Names], dict[str, Any] | None]
    status: int  # what the handler must answer
    call: ServiceCall | None  # the same operation on the service; None: the API's alone
    limit: int | None = None  # at most this many requests, or the run fails
    headers: dict[str, str] | None = None

    @property
    def method(self) -> str:
        return self.route.split()[0]


def _reserve(body: Callable[[Names], dict[str, Any]]) -> ServiceCall:
    def call(service: ReservationService, names: Names) -> object:
        return service.reserve(
            CreateReservationRequest.model_validate(body(names)).to_command(), "default"
        )

    return call


def _availability(service: ReservationService, body: dict[str, Any]) -> object:
    request = AvailabilityRequest.model_validate(body)
    target = service.locations.target(country=request.country)
    return service.locations.availability(request.skus, target)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "PUT inventory (set onHand)",
        "PUT /inventory/{sku}/locations/{location}",
        lambda n: f"/inventory/{n.sku}/locations/{LOCATION}",
        lambda n: {"onHand": 10},
        200,
        lambda s, n: s.set_on_hand(n.sku, LOCATION, 10),
    ),
    Operation(
        "PUT inventory (set inbound and safetyStock; the record seen here before)",
        "PUT /inventory/{sku}/locations/{location}",
        lambda n: f"/inventory/{n.sku}/locations/{LOCATION}",
        lambda n: {"inbound": 4, "safetyStock": 1, "reason": "bench"},
        200,
        lambda s, n: s.set_measures(n.sku, LOCATION, {"inbound": 4, "safetyStock": 1}),
        # Conditioned on the values this environment saw: one UpdateItem (issue 15).
        limit=1,
    ),
    Operation(
        "GET a stock record's movements (a page)",
        "GET /inventory/{sku}/locations/{location}/movements",
        lambda n: f"/inventory/{n.sku}/locations/{LOCATION}/movements",
        lambda n: None,
        200,
        lambda s, n: s.ledger.page(n.sku, LOCATION, 50, None),
        limit=1,  # one Query, newest first
    ),
    Operation(
        "POST reservation, granted (2 lines)",
        "POST /reservations",
        lambda n: "/reservations",
        Names.granted_body,
        201,
        _reserve(Names.granted_body),
        limit=1,
    ),
    Operation(
        "POST reservation, rejected (insufficient stock, nothing held there)",
        "POST /reservations",
        lambda n: "/reservations",
        Names.rejected_body,
        409,
        _reserve(Names.rejected_body),
        limit=1,
    ),
    Operation(
        "POST reservation, rejected on both of 2 lines (one an unknown location)",
        "POST /reservations",
        lambda n: "/reservations",
        Names.rejected_both_body,
        409,
        _reserve(Names.rejected_both_body),
        limit=1,
    ),
    Operation(
        "POST reservation, rejected on 2 skus where live holds exist",
        "POST /reservations",
        lambda n: "/reservations",
        Names.rejected_held_body,
        409,
        _reserve(Names.rejected_held_body),
        # The transaction, then one Query per short sku for expired holds to release.
        limit=3,
    ),
    Operation(
        "POST reservation, identical replay",
        "POST /reservations",
        lambda n: "/reservations",
        Names.granted_body,
        200,
        _reserve(Names.granted_body),
    ),
    Operation(
        f"POST reservation without a location, {CART_LINES}-line cart",
        "POST /reservations",
        lambda n: "/reservations",
        Names.unlocated_body,
        201,
        _reserve(Names.unlocated_body),
        # One BatchGetItem of the candidates' stock, one transaction.
        limit=2,
    ),
    Operation(
        f"POST availability, {AVAILABILITY_SKUS} skus over {len(WAREHOUSES)} locations",
        "POST /availability",
        lambda n: "/availability",
        Names.availability_body,
        200,
        lambda s, n: _availability(s, n.availability_body()),
        # One BatchGetItem per 100 stock records.
        limit=3,
    ),
    Operation(
        "PUT reservation items (cart update, a line grows)",
        "PUT /reservations/{id}/items",
        lambda n: f"/reservations/{n.reservation}/items",
        Names.cart_body,
        200,
        lambda s, n: s.change_items(
            n.reservation, ChangeItemsRequest.model_validate(n.cart_body()).to_command()
        ),
        limit=2,  # the read, then one transaction
    ),
    Operation(
        "GET reservations by order (a search page)",
        "GET /reservations?orderId=",
        lambda n: f"/reservations?orderId={n.order}",
        lambda n: None,
        200,
        lambda s, n: s.search.find(HeaderQuery("default", n.order)),
        limit=1,
    ),
    Operation(
        "POST release with an Idempotency-Key",
        "POST /reservations/{id}/release",
        lambda n: f"/reservations/{n.reservation}/release",
        Names.release_body,
        200,
        None,
        limit=3,  # the key's claim, the read, one transaction carrying the answer
        headers=KEYED,
    ),
    Operation(
        "the same release replayed (same key and body)",
        "POST /reservations/{id}/release",
        lambda n: f"/reservations/{n.reservation}/release",
        Names.release_body,
        200,
        None,
        limit=1,  # the claim finds the answer: nothing else is read or written
        headers=KEYED,
    ),
    Operation(
        "POST reservation, a line on 3 serial labels this environment never saw",
        "POST /reservations",
        lambda n: "/reservations",
        lambda n: n.labels_body("SN"),
        201,
        _reserve(lambda n: n.labels_body("SN")),
        limit=1,  # counted a unit each, which they are: one transaction
    ),
    Operation(
        f"POST reservation, a line on 3 labels of {PALLET} units never seen here",
        "POST /reservations",
        lambda n: "/reservations",
        lambda n: n.labels_body("PAL"),
        201,
        _reserve(lambda n: n.labels_body("PAL")),
        limit=2,  # counted a unit, refused with the true count, written again
    ),
    Operation(
        "POST release of one label",
        "POST /reservations/{id}/labels/{label}/release",
        lambda n: f"/reservations/{n.prefix}-labels-SN/labels/{n.labels('SN')[0]}/release",
        lambda n: None,
        200,
        lambda s, n: s.labels.release(f"{n.prefix}-labels-SN", n.labels("SN")[0]),
        limit=2,  # the read, one transaction
    ),
    Operation(
        "GET a sku's labels (a page)",
        "GET /skus/{sku}/labels",
        lambda n: f"/skus/{n.labelled_sku}/labels?status=ACTIVE",
        lambda n: None,
        200,
        lambda s, n: s.labels.page(n.labelled_sku, None, LabelStatus.ACTIVE, 50, None),
        limit=1,
    ),
    Operation(
        "GET reservation",
        "GET /reservations/{id}",
        lambda n: f"/reservations/{n.reservation}",
        lambda n: None,
        200,
        lambda s, n: s.get(n.reservation),
        limit=1,
    ),
    Operation(
        "GET reservation, unknown id",
        "GET /reservations/{id}",
        lambda n: f"/reservations/{n.unknown}",
        lambda n: None,
        404,
        lambda s, n: s.get(n.unknown),
    ),
    Operation(
        "GET inventory",
        "GET /inventory/{sku}",
        lambda n: f"/inventory/{n.sku}",
        lambda n: None,
        200,
        lambda s, n: s.inventory(n.sku),
    ),
    Operation(
        "DELETE reservation (cancel)",
        "DELETE /reservations/{id}",
        lambda n: f"/reservations/{n.reservation}",
        lambda n: None,
        200,
        lambda s, n: s.cancel(n.reservation),
    ),
    Operation(
        "DELETE reservation again (already cancelled)",
        "DELETE /reservations/{id}",
        lambda n: f"/reservations/{n.reservation}",
        lambda n: None,
        200,
        lambda s, n: s.cancel(n.reservation),
    ),
)
