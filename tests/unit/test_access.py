"""The caller from API Gateway's claims, and the table of scopes per route."""

from __future__ import annotations

from typing import Any

import pytest

from reservations import access
from reservations.access import Caller, caller_from_claims


def test_the_channel_is_the_client_and_scopes_are_space_separated() -> None:
    caller = caller_from_claims(
        {"client_id": "storefront", "scope": "inventory/read  reservations/read"}
    )
    assert caller == Caller("storefront", frozenset({"inventory/read", "reservations/read"}))
    assert not caller.is_admin
    assert caller.owner_filter == "storefront"


def test_an_admin_may_touch_any_channels_holds() -> None:
    caller = caller_from_claims({"client_id": "ops", "scope": "reservations/admin"})
    assert caller is not None
    assert caller.is_admin
    assert caller.owner_filter is None


@pytest.mark.parametrize(
    "claims",
    [
        None,
        {},
        {"scope": "reservations/read"},
        {"client_id": ""},
        {"client_id": "  "},
        {"client_id": 7},
    ],
)
def test_no_client_means_no_caller(claims: Any) -> None:
    assert caller_from_claims(claims) is None


def test_a_token_without_scopes_is_a_caller_with_none() -> None:
    caller = caller_from_claims({"client_id": "x"})
    assert caller is not None
    assert caller.scopes == frozenset()
    assert not access.admits(caller.scopes, "GET", "/inventory/{sku}")


def test_every_route_lists_known_scopes_and_admin_never_writes_stock() -> None:
    for scopes in access.ROUTE_SCOPES.values():
        assert scopes
        assert set(scopes) <= set(access.ALL_SCOPES)
    assert access.ROUTE_SCOPES[("PUT", "/inventory/{sku}/locations/{location}")] == (
        "inventory/write",
    )
    assert access.ROUTE_SCOPES[("POST", "/reservations")] == ("reservations/write",)


def test_public_and_unknown_routes_need_no_scope() -> None:
    assert access.required_scopes("GET", "/openapi.json") is None
    assert access.required_scopes("GET", "/nowhere") is None
    assert access.required_scopes("get", "/inventory/{sku}") == ("inventory/read",)


def test_only_listed_routes_admit_and_only_listed_ones_are_public() -> None:
    every = frozenset(access.ALL_SCOPES)
    assert access.admits(every, "get", "/inventory/{sku}")
    # Fail closed: a route the table does not list admits nobody, whatever the scopes.
    assert not access.admits(every, "GET", "/nowhere")
    assert not access.admits(every, "GET", "/inventory/SKU-A/")
    assert not access.admits(every, "PATCH", "/inventory/{sku}")
    assert access.is_public("get", "/swagger")
    assert not access.is_public("GET", "/nowhere")
    assert not access.is_public("GET", "/inventory/{sku}")


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/inventory/SKU-A", "/inventory/{sku}"),
        ("GET", "/inventory/SKU-A/", "/inventory/{sku}"),
        ("GET", "/inventory/SKU-A///", "/inventory/{sku}"),  # the resolver ignores them all
        ("GET", "/inventory/SKU-A/reservations", "/inventory/{sku}/reservations"),
        ("put", "/inventory/A/locations/B", "/inventory/{sku}/locations/{location}"),
        ("GET", "/inventory/WH1%2F", "/inventory/{sku}"),  # an encoded slash is no separator
        ("POST", "/reservations/", "/reservations"),
        ("GET", "/openapi.json", "/openapi.json"),
        ("GET", "/inventory/XX", "/inventory/{sku}"),  # only slashes are trimmed
        ("GET", "/inventory//SKU-A", None),
        ("GET", "/inventory//reservations", None),  # a parameter is never empty
        ("GET", "/Inventory/SKU-A", None),
        ("GET", "/inventory/SKU-A/./reservations", None),
        ("POST", "/reservations/x/%63onfirm", None),
        ("POST", "/inventory/SKU-A", None),
        ("GET", "/", None),
        ("GET", "", None),
    ],
)
def test_route_of_path_reads_the_path_as_the_resolver_does(
    method: str, path: str, route: str | None
) -> None:
    assert access.route_of_path(method, path) == route


def test_a_literal_route_wins_over_a_parameter_whatever_the_tables_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Listed after the route with a parameter that its path would fill too.
    routes = {**access.ROUTE_SCOPES, ("GET", "/inventory/summary"): ("inventory/read",)}
    monkeypatch.setattr(access, "ROUTE_SCOPES", routes)
    assert access.route_of_path("GET", "/inventory/summary") == "/inventory/summary"
    assert access.route_of_path("GET", "/inventory/SKU-A") == "/inventory/{sku}"


def test_oversell_needs_its_own_scope_line_by_line() -> None:
    asked = [False, True, False, True]
    assert access.oversell_refused(frozenset({"reservations/write"}), asked) == [1, 3]
    assert access.oversell_refused(frozenset({"reservations/write"}), [False, False]) == []
    granted = frozenset({"reservations/write", "reservations/oversell"})
    assert access.oversell_refused(granted, asked) == []


def test_the_methods_a_path_takes_for_a_405s_allow_header() -> None:
    assert access.methods_of("/reservations") == ["GET", "POST"]
    assert access.methods_of("/reservations/{reservation_id}") == ["DELETE", "GET"]
    assert access.methods_of("/inventory/{sku}/locations/{location}") == ["GET", "PUT"]
    assert access.methods_of("/health") == ["GET"]  # a public route's too
    assert access.methods_of("/nowhere") == []


def test_every_path_of_the_api_once_in_order() -> None:
    # Written out: each one is also an ANY route of the template, answered with a 405.
    assert access.paths() == [
        "/availability",
        "/console",
        "/console/{asset}",
        "/health",
        "/inventory/{sku}",
        "/inventory/{sku}/locations/{location}",
        "/inventory/{sku}/locations/{location}/movements",
        "/inventory/{sku}/reservations",
        "/labels/{label}",
        "/locations",
        "/locations/{location}",
        "/openapi.json",
        "/operations/dead-letters",
        "/operations/dead-letters/{message_id}/redrive",
        "/operations/drift",
        "/reservations",
        "/reservations/{reservation_id}",
        "/reservations/{reservation_id}/confirm",
        "/reservations/{reservation_id}/extend",
        "/reservations/{reservation_id}/fulfill",
        "/reservations/{reservation_id}/items",
        "/reservations/{reservation_id}/labels/{label}/release",
        "/reservations/{reservation_id}/release",
        "/skus/{sku}/labels",
        "/swagger",
    ]
