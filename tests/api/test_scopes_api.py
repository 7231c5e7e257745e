"""Channels and scopes through the real handler, as API Gateway calls it after its authorizer.

Each route wants one of its scopes. Without claims the handler refuses (defence in depth
behind API Gateway). The API documents need no token, are off unless enabled, and declare
the scopes of each route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import api_function
import route_dependencies
from reservations import access
from reservations.config import Settings
from tests.conftest import sqs_client_for
from tests.support.api_client import ADMIN, ApiResponse, HandlerClient, Identity
from tests.support.channel_holds import HOLD, LINE, STOREFRONT, level
from tests.support.operations import wire_operations

# --- scopes -----------------------------------------------------------------------------

ROUTE_EXAMPLES: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/reservations"): ("/reservations", HOLD),
    ("GET", "/reservations"): ("/reservations?channel=storefront", None),
    ("GET", "/reservations/{reservation_id}"): ("/reservations/hold-1", None),
    ("DELETE", "/reservations/{reservation_id}"): ("/reservations/hold-1", None),
    ("POST", "/reservations/{reservation_id}/confirm"): ("/reservations/hold-1/confirm", None),
    ("POST", "/reservations/{reservation_id}/extend"): (
        "/reservations/hold-1/extend",
        {"expiresInSeconds": 60},
    ),
    ("POST", "/reservations/{reservation_id}/release"): (
        "/reservations/hold-1/release",
        {"items": [LINE]},
    ),
    ("POST", "/reservations/{reservation_id}/fulfill"): ("/reservations/hold-1/fulfill", None),
    ("PUT", "/reservations/{reservation_id}/items"): (
        "/reservations/hold-1/items",
        {"items": [LINE]},
    ),
    ("GET", "/inventory/{sku}"): ("/inventory/SKU-A", None),
    ("GET", "/inventory/{sku}/reservations"): ("/inventory/SKU-A/reservations", None),
    ("GET", "/inventory/{sku}/locations/{location}"): ("/inventory/SKU-A/locations/WH1", None),
    ("GET", "/inventory/{sku}/locations/{location}/movements"): (
        "/inventory/SKU-A/locations/WH1/movements",
        None,
    ),
    ("PUT", "/inventory/{sku}/locations/{location}"): (
        "/inventory/SKU-A/locations/WH1",
        {"onHand": 1},
    ),
    ("GET", "/locations"): ("/locations", None),
    ("GET", "/locations/{location}"): ("/locations/WH1", None),  # holds stock: listed
    ("PUT", "/locations/{location}"): (
        "/locations/WH1",
        {"country": "GB", "priority": 1, "active": True},
    ),
    ("POST", "/availability"): ("/availability", {"skus": ["SKU-A"], "country": "GB"}),
    ("PUT", "/labels/{label}"): ("/labels/L-9", {"sku": "SKU-L", "location": "WH1", "quantity": 1}),
    ("GET", "/labels/{label}"): ("/labels/L-1", None),
    ("GET", "/skus/{sku}/labels"): ("/skus/SKU-L/labels", None),
    ("POST", "/reservations/{reservation_id}/labels/{label}/release"): (
        "/reservations/hold-L/labels/L-1/release",
        None,
    ),
    ("GET", "/operations/drift"): ("/operations/drift", None),
    ("GET", "/operations/dead-letters"): ("/operations/dead-letters", None),
    # The message id is the dead letter's, set by the fixture below.
    ("POST", "/operations/dead-letters/{message_id}/redrive"): (
        "/operations/dead-letters/{message_id}/redrive",
        None,
    ),
}
REDRIVE = ("POST", "/operations/dead-letters/{message_id}/redrive")
RELEASE_LABEL = ("POST", "/reservations/{reservation_id}/labels/{label}/release")
# Routes whose example needs label L-1 (of SKU-L at WH1); the release, held by hold-L.
NEED_A_LABEL = {("GET", "/labels/{label}"), ("GET", "/skus/{sku}/labels"), RELEASE_LABEL}


@pytest.fixture(autouse=True)
def labels_for_the_route(request: pytest.FixtureRequest) -> None:
    """Only the label routes' examples get a label (and the release, a hold on it), so
    every other route's effect is the same with them as without."""
    params = getattr(request.node, "callspec", None)
    route = None if params is None else params.params.get("route")
    if route not in NEED_A_LABEL:
        return
    api: HandlerClient = request.getfixturevalue("api")
    label = {"sku": "SKU-L", "location": "WH1", "quantity": 1}
    assert api.put("/labels/L-1", label).status == 201
    if route == RELEASE_LABEL:
        on_label = {
            "id": "hold-L",
            "items": [{"sku": "SKU-L", "location": "WH1", "labels": ["L-1"]}],
        }
        assert api.as_(STOREFRONT).post("/reservations", on_label).status == 201


DEAD = "unknown message type 'nope'"  # the reason of the one dead letter below


@pytest.fixture(autouse=True)
def dead_letter(
    engine_client: Any, engine_table: str, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The operator routes on this test's table, with one message in the ERP DLQ."""
    for wired in wire_operations(engine_client, engine_table, sqs_client_for(moto_server.endpoint)):
        message_id = wired.dead_letter({"type": "nope"}, DEAD)
        path = f"/operations/dead-letters/{message_id}/redrive"
        monkeypatch.setitem(ROUTE_EXAMPLES, REDRIVE, (path, None))
        yield


# The scopes that admit each route, spelt out here rather than read from access.ROUTE_SCOPES:
# a route widened or narrowed there must fail a test, not pass one built from the same table.
READ, WRITE, ADMIN_SCOPE = "reservations/read", "reservations/write", "reservations/admin"
EXPECTED_SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/reservations"): (WRITE,),
    ("GET", "/reservations"): (READ, ADMIN_SCOPE),
    ("GET", "/reservations/{reservation_id}"): (READ, ADMIN_SCOPE),
    ("DELETE", "/reservations/{reservation_id}"): (WRITE, ADMIN_SCOPE),
    ("POST", "/reservations/{reservation_id}/confirm"): (WRITE, ADMIN_SCOPE),
    ("POST", "/reservations/{reservation_id}/extend"): (WRITE, ADMIN_SCOPE),
    ("POST", "/reservations/{reservation_id}/release"): (WRITE, ADMIN_SCOPE),
    ("POST", "/reservations/{reservation_id}/fulfill"): (WRITE, ADMIN_SCOPE),
    ("PUT", "/reservations/{reservation_id}/items"): (WRITE, ADMIN_SCOPE),
    ("GET", "/inventory/{sku}"): ("inventory/read",),
    ("GET", "/inventory/{sku}/reservations"): (READ, ADMIN_SCOPE),
    ("GET", "/inventory/{sku}/locations/{location}"): ("inventory/read",),
    ("PUT", "/inventory/{sku}/locations/{location}"): ("inventory/write",),
    ("GET", "/inventory/{sku}/locations/{location}/movements"): ("inventory/read",),
    ("GET", "/locations"): ("inventory/read",),
    ("GET", "/locations/{location}"): ("inventory/read",),
    ("PUT", "/locations/{location}"): ("inventory/write",),
    ("POST", "/availability"): ("inventory/read",),
    ("PUT", "/labels/{label}"): ("inventory/write",),
    ("GET", "/labels/{label}"): ("inventory/read",),
    ("GET", "/skus/{sku}/labels"): ("inventory/read",),
    ("POST", "/reservations/{reservation_id}/labels/{label}/release"): (WRITE, ADMIN_SCOPE),
    ("GET", "/operations/drift"): (ADMIN_SCOPE,),
    ("GET", "/operations/dead-letters"): (ADMIN_SCOPE,),
    ("POST", "/operations/dead-letters/{message_id}/redrive"): (ADMIN_SCOPE,),
}
EVERY_SCOPE = (
    READ, WRITE, ADMIN_SCOPE, "reservations/oversell", "inventory/read", "inventory/write",
)  # fmt: skip

# What each example of ROUTE_EXAMPLES did, seen from outside: hold-1's status, the stock
# level after it, and what the answer must say. A 2xx alone does not show it happened.
Effect = tuple[str, tuple[int, int, int], Callable[[Any], bool]]
ROUTE_EFFECTS: dict[tuple[str, str], Effect] = {
    ("POST", "/reservations"): ("ACTIVE", (10, 2, 8), lambda b: b["id"] == "hold-1"),
    ("GET", "/reservations"): (
        "ACTIVE", (10, 2, 8), lambda b: [r["id"] for r in b["reservations"]] == ["hold-1"],
    ),
    ("GET", "/reservations/{reservation_id}"): (
        "ACTIVE", (10, 2, 8), lambda b: b["id"] == "hold-1",
    ),
    ("DELETE", "/reservations/{reservation_id}"): (
        "CANCELLED", (10, 0, 10), lambda b: b["status"] == "CANCELLED",
    ),
    ("POST", "/reservations/{reservation_id}/confirm"): (
        "CONFIRMED", (10, 2, 8), lambda b: b["status"] == "CONFIRMED",
    ),
    ("POST", "/reservations/{reservation_id}/extend"): (
        "ACTIVE", (10, 2, 8), lambda b: b["status"] == "ACTIVE",
    ),
    ("POST", "/reservations/{reservation_id}/release"): (
        "ACTIVE", (10, 1, 9), lambda b: b["items"][0]["released"] == 1,
    ),
    ("POST", "/reservations/{reservation_id}/fulfill"): (
        "FULFILLED", (8, 0, 8), lambda b: b["status"] == "FULFILLED",
    ),
    ("PUT", "/reservations/{reservation_id}/items"): (
        "ACTIVE", (10, 1, 9), lambda b: (b["items"][0]["quantity"], b["items"][0]["held"]) == (1, 1),
    ),
    ("GET", "/inventory/{sku}"): ("ACTIVE", (10, 2, 8), lambda b: b["available"] == 8),
    ("GET", "/inventory/{sku}/reservations"): (
        "ACTIVE", (10, 2, 8), lambda b: [h["id"] for h in b["holds"]] == ["hold-1"],
    ),
    ("GET", "/inventory/{sku}/locations/{location}"): (
        "ACTIVE", (10, 2, 8), lambda b: b["available"] == 8,
    ),
    ("PUT", "/inventory/{sku}/locations/{location}"): (
        "ACTIVE", (1, 2, -1), lambda b: b["onHand"] == 1,
    ),
    # No stream runs here: the ledger is empty, and the read changes nothing.
    ("GET", "/inventory/{sku}/locations/{location}/movements"): (
        "ACTIVE", (10, 2, 8), lambda b: b == {"movements": []},
    ),
    # WH1 holds stock but nobody registered it: listed as such, and never available.
    ("GET", "/locations"): (
        "ACTIVE", (10, 2, 8),
        lambda b: [(x["location"], x["registered"]) for x in b["locations"]] == [("WH1", False)],
    ),
    ("GET", "/locations/{location}"): (
        "ACTIVE", (10, 2, 8), lambda b: (b["location"], b["registered"]) == ("WH1", False),
    ),
    ("PUT", "/locations/{location}"): (
        "ACTIVE", (10, 2, 8), lambda b: (b["country"], b["registered"]) == ("GB", True),
    ),
    ("POST", "/availability"): (
        "ACTIVE", (10, 2, 8), lambda b: b["items"] == [
            {"sku": "SKU-A", "available": 0, "locations": []}
        ],
    ),
    ("PUT", "/labels/{label}"): (
        "ACTIVE", (10, 2, 8), lambda b: (b["label"], b["status"], b["quantity"]) == ("L-9", "ACTIVE", 1),
    ),
    ("GET", "/labels/{label}"): (
        "ACTIVE", (10, 2, 8), lambda b: (b["label"], b["sku"], b["status"]) == ("L-1", "SKU-L", "ACTIVE"),
    ),
    ("GET", "/skus/{sku}/labels"): (
        "ACTIVE", (10, 2, 8), lambda b: [x["label"] for x in b["labels"]] == ["L-1"],
    ),
    # hold-L held only L-1: given back, it ends; hold-1 and SKU-A are untouched.
    ("POST", "/reservations/{reservation_id}/labels/{label}/release"): (
        "ACTIVE", (10, 2, 8),
        lambda b: (b["id"], b["status"], b["items"][0]["labels"][0]["held"])
        == ("hold-L", "CANCELLED", False),
    ),
    ("GET", "/operations/drift"): (
        "ACTIVE", (10, 2, 8), lambda b: b["ok"] is True and b["heldUnits"] == 2,
    ),
    ("GET", "/operations/dead-letters"): (
        "ACTIVE", (10, 2, 8), lambda b: [m["reason"] for m in b["messages"]] == [DEAD],
    ),
    ("POST", "/operations/dead-letters/{message_id}/redrive"): (
        "ACTIVE", (10, 2, 8), lambda b: b["redrivenAs"] != "",
    ),
}  # fmt: skip


def test_every_protected_route_has_an_example_here() -> None:
    assert set(ROUTE_EXAMPLES) == set(access.ROUTE_SCOPES)
    assert set(ROUTE_EFFECTS) == set(access.ROUTE_SCOPES)


def test_each_route_admits_exactly_the_scopes_written_here() -> None:
    assert access.ROUTE_SCOPES == EXPECTED_SCOPES
    assert set(access.ALL_SCOPES) == set(EVERY_SCOPE)


def assert_effect(api: HandlerClient, route: tuple[str, str], response: ApiResponse) -> None:
    status, stock, answered = ROUTE_EFFECTS[route]
    assert api.as_(STOREFRONT).get("/reservations/hold-1").json["status"] == status, route
    assert level(api) == stock, route
    assert answered(response.json), response.text


@pytest.mark.parametrize("route", sorted(EXPECTED_SCOPES), ids=" ".join)
def test_a_token_without_the_routes_scopes_is_403_and_changes_nothing(
    api: HandlerClient, held: Any, route: tuple[str, str]
) -> None:
    method, _ = route
    path, body = ROUTE_EXAMPLES[route]
    others = tuple(s for s in EVERY_SCOPE if s not in EXPECTED_SCOPES[route])
    refused = api.as_(Identity("storefront", others)).request(method, path, body)
    assert (refused.status, refused.json) == (403, {"message": "Forbidden"})
    assert api.as_(STOREFRONT).get("/reservations/hold-1").json == held
    assert level(api) == (10, 2, 8)


@pytest.mark.parametrize(
    ("route", "scope"),
    [(route, scope) for route in sorted(EXPECTED_SCOPES) for scope in EXPECTED_SCOPES[route]],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
def test_each_scope_the_route_lists_is_enough(
    api: HandlerClient, held: Any, route: tuple[str, str], scope: str
) -> None:
    method, _ = route
    path, body = ROUTE_EXAMPLES[route]
    response = api.as_(Identity("storefront", (scope,))).request(method, path, body)
    assert 200 <= response.status < 300, response.text
    assert_effect(api, route, response)


@pytest.mark.parametrize("route", sorted(access.ROUTE_SCOPES), ids=" ".join)
def test_no_claims_is_401_before_the_body_is_looked_at(
    api: HandlerClient, held: Any, route: tuple[str, str]
) -> None:
    method, _ = route
    path, _body = ROUTE_EXAMPLES[route]
    anonymous = api.as_(None)
    # Even a body the guard would refuse: authentication comes first, as in API Gateway.
    refused = anonymous.request(method, path, body=b"\xff" * 10)
    assert (refused.status, refused.json) == (401, {"message": "Unauthorized"})
    assert level(api) == (10, 2, 8)


def test_claims_without_a_client_are_401(api: HandlerClient) -> None:
    class NoClient(Identity):
        def claims(self) -> dict[str, str]:
            return {k: v for k, v in super().claims().items() if k != "client_id"}

    response = api.as_(NoClient("x")).get("/inventory/SKU-A")
    assert (response.status, response.json) == (401, {"message": "Unauthorized"})


def test_inventory_writes_need_inventory_write(api: HandlerClient) -> None:
    sales = Identity("storefront", ("reservations/write", "reservations/read", "inventory/read"))
    assert api.as_(sales).put("/inventory/SKU-A/locations/WH1", {"onHand": 5}).status == 403
    # Not even an admin of reservations may set stock.
    assert api.as_(ADMIN).put("/inventory/SKU-A/locations/WH1", {"onHand": 5}).status == 403
    writer = Identity("backoffice", ("inventory/write",))
    assert api.as_(writer).put("/inventory/SKU-A/locations/WH1", {"onHand": 5}).status == 200


# --- API documents ---------------------------------------------------------------------


def test_api_documents_need_no_token_where_enabled(api: HandlerClient) -> None:
    anonymous = api.as_(None)
    assert anonymous.get("/openapi.json").status == 200
    assert anonymous.get("/swagger").status == 200


def test_api_documents_are_off_unless_enabled(
    api: HandlerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = api_function.app.dependency_overrides
    monkeypatch.setitem(
        overrides, route_dependencies.get_settings, lambda: Settings(table_name="t")
    )
    for path in ("/openapi.json", "/swagger"):
        response = api.get(path)
        assert response.status == 404
        assert response.json["error"] == "NOT_FOUND"


def test_openapi_declares_the_scopes_of_each_route(api: HandlerClient) -> None:
    document = api.get("/openapi.json").json
    scheme = document["components"]["securitySchemes"][access.SECURITY_SCHEME]
    assert set(scheme["flows"]["clientCredentials"]["scopes"]) == set(access.ALL_SCOPES)
    for (method, path), scopes in access.ROUTE_SCOPES.items():
        operation = document["paths"][path][method.lower()]
        assert operation["security"][0] == {access.SECURITY_SCHEME: list(scopes)}
        assert {"401", "403", "404"} <= set(operation["responses"]), (method, path)
