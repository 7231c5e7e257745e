"""Every route of the template, reached by variants of its path, over HTTP on the local stack.

A trailing slash once skipped the authorizer (issue 11): the local gateway did not map
``/x/`` to ``/x`` and both it and the function let a route they did not know through. Here
each route of ``template.yaml`` is called with its plain path and with variants (trailing
and doubled slashes, percent-encoded slashes and dots, case changes, dot segments, a
fragment) by three callers that the plain path refuses or restricts: no token, a token
with every scope but the route's, and another sales channel's token with the route's
scopes.
No variant may get a 2xx where the plain path is refused, nor change anything then, and no
answer may be a 5xx.

The scopes below are written out here on purpose, not read from ``access.ROUTE_SCOPES``:
this file checks the table as much as it checks the routing.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.apigw import routes
from local.auth import issue_token
from local.engines import Engine
from local.server import LocalApi
from tests.conftest import client_for, fresh_table

EVERY_SCOPE = frozenset(
    {
        "reservations/read",
        "reservations/write",
        "reservations/admin",
        "reservations/oversell",
        "inventory/read",
        "inventory/write",
    }
)
READ = frozenset({"reservations/read", "reservations/admin"})
WRITE = frozenset({"reservations/write", "reservations/admin"})
PUBLIC = frozenset[str]()
ADMIN = frozenset({"reservations/admin"})
HOLD = "hold-1"
LINE = {"sku": "SKU-A", "location": "WH1", "quantity": 1}
LABEL = {"sku": "SKU-L", "location": "WH1", "quantity": 1}


@dataclass(frozen=True)
class Expected:
    """What a route wants, an example of it, and what its plain path answers another sales
    channel holding the route's scopes (the hold below is the storefront's)."""

    scopes: frozenset[str]  # empty: public
    path: str
    body: Any
    other_channel: int


EXPECTED: dict[tuple[str, str], Expected] = {
    ("POST", "/reservations"): Expected(
        frozenset({"reservations/write"}),
        "/reservations",
        {"items": [{"sku": "SKU-B", "location": "WH1", "quantity": 1}]},
        201,
    ),
    ("GET", "/reservations"): Expected(READ, "/reservations?status=ACTIVE", None, 200),
    ("GET", "/reservations/{reservation_id}"): Expected(READ, f"/reservations/{HOLD}", None, 404),
    ("DELETE", "/reservations/{reservation_id}"): Expected(
        WRITE, f"/reservations/{HOLD}", None, 404
    ),
    ("POST", "/reservations/{reservation_id}/confirm"): Expected(
        WRITE, f"/reservations/{HOLD}/confirm", None, 404
    ),
    ("POST", "/reservations/{reservation_id}/extend"): Expected(
        WRITE, f"/reservations/{HOLD}/extend", {"expiresInSeconds": 60}, 404
    ),
    ("POST", "/reservations/{reservation_id}/release"): Expected(
        WRITE, f"/reservations/{HOLD}/release", {"items": [LINE]}, 404
    ),
    ("POST", "/reservations/{reservation_id}/fulfill"): Expected(
        WRITE, f"/reservations/{HOLD}/fulfill", None, 404
    ),
    ("PUT", "/reservations/{reservation_id}/items"): Expected(
        WRITE, f"/reservations/{HOLD}/items", {"items": [LINE]}, 404
    ),
    ("GET", "/inventory/{sku}"): Expected(
        frozenset({"inventory/read"}), "/inventory/SKU-A", None, 200
    ),
    ("GET", "/inventory/{sku}/reservations"): Expected(
        READ, "/inventory/SKU-A/reservations", None, 200
    ),
    ("GET", "/inventory/{sku}/locations/{location}"): Expected(
        frozenset({"inventory/read"}), "/inventory/SKU-A/locations/WH1", None, 200
    ),
    ("GET", "/inventory/{sku}/locations/{location}/movements"): Expected(
        frozenset({"inventory/read"}), "/inventory/SKU-A/locations/WH1/movements", None, 200
    ),
    # Another writer setting the same level: allowed, and it changes nothing.
    ("PUT", "/inventory/{sku}/locations/{location}"): Expected(
        frozenset({"inventory/write"}), "/inventory/SKU-A/locations/WH1", {"onHand": 10}, 200
    ),
    ("GET", "/locations"): Expected(frozenset({"inventory/read"}), "/locations", None, 200),
    # WH1 holds stock (set below), so the network lists it, unregistered.
    ("GET", "/locations/{location}"): Expected(
        frozenset({"inventory/read"}), "/locations/WH1", None, 200
    ),
    ("PUT", "/locations/{location}"): Expected(
        frozenset({"inventory/write"}),
        "/locations/WH1",
        {"country": "GB", "priority": 1, "active": True},
        200,
    ),
    ("POST", "/availability"): Expected(
        frozenset({"inventory/read"}),
        "/availability",
        {"skus": ["SKU-A"], "country": "GB"},
        200,
    ),
    # Another writer stating the label as it is: allowed, and it changes nothing.
    ("PUT", "/labels/{label}"): Expected(frozenset({"inventory/write"}), "/labels/L-1", LABEL, 200),
    ("GET", "/labels/{label}"): Expected(frozenset({"inventory/read"}), "/labels/L-1", None, 200),
    ("GET", "/skus/{sku}/labels"): Expected(
        frozenset({"inventory/read"}), "/skus/SKU-L/labels", None, 200
    ),
    ("POST", "/reservations/{reservation_id}/labels/{label}/release"): Expected(
        WRITE, f"/reservations/{HOLD}/labels/L-1/release", None, 404
    ),
    ("GET", "/openapi.json"): Expected(PUBLIC, "/openapi.json", None, 200),
    ("GET", "/health"): Expected(PUBLIC, "/health", None, 200),
    ("GET", "/swagger"): Expected(PUBLIC, "/swagger", None, 200),
    # Operators only: a sales channel has none of their scopes.
    ("GET", "/operations/drift"): Expected(ADMIN, "/operations/drift", None, 403),
    ("GET", "/operations/dead-letters"): Expected(ADMIN, "/operations/dead-letters", None, 403),
    ("POST", "/operations/dead-letters/{message_id}/redrive"): Expected(
        ADMIN, "/operations/dead-letters/m-1/redrive", None, 403
    ),
    ("GET", "/console"): Expected(PUBLIC, "/console", None, 200),
    ("GET", "/console/{asset}"): Expected(PUBLIC, "/console/app.js", None, 200),
}
# What an anonymous or under-scoped caller sends to write routes: a change, were it let in.
HOSTILE_BODY: dict[tuple[str, str], Any] = {
    ("PUT", "/inventory/{sku}/locations/{location}"): {"onHand": 999},
    ("PUT", "/locations/{location}"): {"country": "FR", "priority": -5, "active": True},
    ("PUT", "/labels/{label}"): {**LABEL, "quantity": 999},
}


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _inside(path: str, insert: str) -> str:
    """``insert`` placed after the first segment: ``/a/b`` -> ``/a<insert>/b``."""
    first, *rest = _segments(path)
    return "/" + first + insert + "".join("/" + s for s in rest)


VARIANTS: dict[str, Callable[[str], str]] = {
    "plain": lambda p: p,
    "trailing-slash": lambda p: p + "/",
    "two-trailing-slashes": lambda p: p + "//",
    "encoded-trailing-slash": lambda p: p + "%2F",
    "encoded-trailing-slash-lower": lambda p: p + "%2f",
    "slash-and-fragment": lambda p: p + "/#",
    "slash-and-query": lambda p: p + "/?x=1",
    "doubled-leading-slash": lambda p: "/" + p,
    "doubled-inner-slash": lambda p: _inside(p, "/"),
    "encoded-inner-slash": lambda p: _inside(p, "%2F").replace("%2F/", "%2F", 1),
    "upper-case": lambda p: p.upper(),
    "capitalised": lambda p: "/" + p[1:].capitalize(),
    "dot-segment": lambda p: _inside(p, "/."),
    "dot-dot-segment": lambda p: _inside(p, "/x/.."),
    "trailing-dot": lambda p: p + "/.",
    "encoded-dot": lambda p: _inside(p, "/%2E"),
}
CALLERS = ("no-token", "wrong-scope", "other-channel")


def template_routes() -> list[tuple[str, str]]:
    """Every route of the template but the paths' ANY routes (405s, walked below)."""
    return sorted({(r.method, r.resource) for r in routes() if r.method != "ANY"})


def test_every_route_of_the_template_is_walked() -> None:
    assert set(template_routes()) == set(EXPECTED)


@dataclass
class Stack:
    api: LocalApi
    client: Any
    table: str

    def state(self) -> list[dict[str, Any]]:
        """Every item of the table: a refused request must leave all of them as they were."""
        items = self.client.scan(TableName=self.table, ConsistentRead=True)["Items"]
        return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))

    def send(self, method: str, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        status, _, answer = self.send_with_headers(method, path, body, token)
        return status, answer

    def send_with_headers(
        self, method: str, path: str, body: Any, token: str | None
    ) -> tuple[int, dict[str, str], Any]:
        """The request as written (http.client normalises nothing in the path)."""
        host, port = self.api.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            data = None if body is None else json.dumps(body)
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        headers = dict(response.getheaders())
        try:
            return response.status, headers, json.loads(raw)
        except ValueError:
            return response.status, headers, raw.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def stack(moto_server: Engine) -> Iterator[Stack]:
    # Routing and the authorizer touch no table: one engine is enough.
    client = client_for(moto_server.endpoint)
    for table in fresh_table(client):
        env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": table}
        with LocalApi(port=0, workers=1, env=env, quiet=True) as api:
            running = Stack(api, client, table)
            stock = issue_token("ops", ["inventory/write"])
            for sku, on_hand in (("SKU-A", 10), ("SKU-B", 1000)):
                path = f"/inventory/{sku}/locations/WH1"
                assert running.send("PUT", path, {"onHand": on_hand}, stock)[0] == 200
            assert running.send("PUT", "/labels/L-1", LABEL, stock)[0] == 201
            hold = {"id": HOLD, "items": [{**LINE, "quantity": 2}]}
            storefront = issue_token("storefront", ["reservations/write"])
            assert running.send("POST", "/reservations", hold, storefront)[0] == 201
            yield running


def caller_token(caller: str, route: tuple[str, str]) -> str | None:
    scopes = EXPECTED[route].scopes
    if caller == "no-token":
        return None
    if caller == "wrong-scope":
        return issue_token("storefront", sorted(EVERY_SCOPE - scopes))
    # A sales channel: the route's scopes but admin, which would act on any channel's hold.
    return issue_token("callcentre", sorted(scopes - {"reservations/admin"}))


def plain_answer(caller: str, route: tuple[str, str]) -> int:
    expected = EXPECTED[route]
    if not expected.scopes:
        return 200
    return {"no-token": 401, "wrong-scope": 403}.get(caller, expected.other_channel)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("route", template_routes(), ids=" ".join)
def test_no_path_variant_gets_past_what_the_plain_path_refuses(
    stack: Stack, route: tuple[str, str], variant: str, caller: str
) -> None:
    method, _ = route
    expected = EXPECTED[route]
    plain = plain_answer(caller, route)
    body = expected.body if caller == "other-channel" else HOSTILE_BODY.get(route, expected.body)
    path = VARIANTS[variant](expected.path)
    before = stack.state()

    status, answer = stack.send(method, path, body, caller_token(caller, route))

    assert status < 500, (path, status, answer)
    if variant == "plain":
        assert status == plain, (path, answer)
    if plain >= 400:
        assert not 200 <= status < 300, (path, status, answer)
        assert stack.state() == before, f"{method} {path} changed the table"
    if route[1] in ("/inventory/{sku}/reservations", "/reservations") and status == 200:
        assert HOLD not in json.dumps(answer), "another channel's hold was listed"


OTHER_METHODS = ("PATCH", "HEAD", "OPTIONS", "TRACE")


def other_methods() -> list[tuple[tuple[str, str], str]]:
    """(one route of each path, a method the path does not take)."""
    by_path = {resource: (method, resource) for method, resource in template_routes()}
    return [
        (route, method)
        for resource, route in sorted(by_path.items())
        for method in OTHER_METHODS
        if (method, resource) not in EXPECTED
    ]


@pytest.mark.parametrize(("route", "method"), other_methods(), ids=lambda v: str(v))
def test_another_method_on_a_path_is_405_and_runs_nothing(
    stack: Stack, route: tuple[str, str], method: str
) -> None:
    """Each path's ANY route: no token needed, nothing runs, the methods it takes in Allow."""
    expected = EXPECTED[route]
    before = stack.state()
    status, headers, answer = stack.send_with_headers(method, expected.path, None, None)
    assert status == 405, (method, expected.path, answer)
    allowed = sorted(m for m, r in EXPECTED if r == route[1])
    assert headers.get("Allow") == ", ".join(allowed)
    assert stack.state() == before
