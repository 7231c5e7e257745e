"""Channels and scopes through the real handler, as API Gateway calls it after its authorizer.

Fail closed: the function runs only the route whose scopes it checked. An event whose
resource is unlisted, or filled by the path of another route, is 403 whatever the claims; a
trailing slash runs the route, for its caller only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import api_function
from local.apigw import LambdaContext, proxy_event
from reservations import access
from tests.support.api_client import ADMIN, HandlerClient, Identity
from tests.support.channel_holds import CALL_CENTRE, LINE, STOREFRONT, level

# --- fail closed: the function runs only the route whose scopes it checked ----------------

FULL = Identity("storefront", access.ALL_SCOPES)


def event_for(
    method: str, path: str, resource: str, identity: Identity | None, body: Any = None
) -> dict[str, Any]:
    """An event whose ``resource`` is set by hand: what a gateway that routed ``path`` to
    ``resource`` (rightly or not) would hand the function."""
    authorizer = None if identity is None else {"claims": identity.claims()}
    text = None if body is None else json.dumps(body)
    event = proxy_event(
        method, path, {"Content-Type": "application/json"}, text, authorizer=authorizer
    )
    event["resource"] = event["requestContext"]["resourcePath"] = resource
    return event


# (method, path, resource): the resource is not listed, or the path fills another route.
UNMAPPED: list[tuple[str, str, str, Any]] = [
    # What the local gateway used to send for a trailing slash: the path as the resource.
    ("PUT", "/inventory/SKU-A/locations/WH1/", "/inventory/SKU-A/locations/WH1/", {"onHand": 99}),
    ("GET", "/inventory/SKU-A/", "/inventory/SKU-A/", None),
    ("GET", "/reservations/hold-1/", "/reservations/hold-1/", None),
    ("POST", "/reservations/hold-1/confirm/", "/reservations/hold-1/confirm/", None),
    ("DELETE", "/reservations/hold-1/", "/reservations/hold-1/", None),
    # Listed routes, but the resolver would run another one.
    ("GET", "/inventory/SKU-A", "/openapi.json", None),
    ("GET", "/inventory/SKU-A/reservations", "/inventory/{sku}", None),
    ("DELETE", "/reservations/hold-1", "/reservations/{reservation_id}/confirm", None),
    ("PUT", "/inventory/SKU-A/locations/WH1", "/reservations", {"onHand": 99}),
    ("GET", "/Inventory/SKU-A", "/inventory/{sku}", None),
    ("GET", "/inventory//SKU-A", "/inventory/{sku}", None),
]


@pytest.mark.parametrize("identity", [None, FULL, ADMIN], ids=["no-claims", "every-scope", "admin"])
@pytest.mark.parametrize(("method", "path", "resource", "body"), UNMAPPED, ids=lambda v: str(v))
def test_a_route_the_function_cannot_map_is_403_whatever_the_claims(
    api: HandlerClient,
    held: dict[str, Any],
    identity: Identity | None,
    method: str,
    path: str,
    resource: str,
    body: Any,
) -> None:
    result = api_function.lambda_handler(
        event_for(method, path, resource, identity, body), LambdaContext()
    )
    assert (result["statusCode"], json.loads(result["body"])) == (403, {"message": "Forbidden"})
    assert api.as_(STOREFRONT).get("/reservations/hold-1").json == held
    assert level(api) == (10, 2, 8)


# API Gateway routes a trailing slash to the resource without it, and its authorizer applies.
SLASHED: list[tuple[str, str, str, Any]] = [
    ("GET", "/inventory/SKU-A/", "/inventory/{sku}", None),
    ("GET", "/inventory/SKU-A/reservations/", "/inventory/{sku}/reservations", None),
    ("GET", "/reservations/hold-1/", "/reservations/{reservation_id}", None),
    ("POST", "/reservations/hold-1/confirm/", "/reservations/{reservation_id}/confirm", None),
    ("POST", "/reservations/hold-1/extend/", "/reservations/{reservation_id}/extend", {"expiresInSeconds": 60}),
    ("POST", "/reservations/hold-1/release/", "/reservations/{reservation_id}/release", {"items": [LINE]}),
    ("POST", "/reservations/hold-1/fulfill/", "/reservations/{reservation_id}/fulfill", None),
    ("DELETE", "/reservations/hold-1/", "/reservations/{reservation_id}", None),
    ("PUT", "/inventory/SKU-A/locations/WH1/", "/inventory/{sku}/locations/{location}", {"onHand": 10}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "resource", "body"), SLASHED, ids=lambda v: str(v))
def test_a_trailing_slash_runs_the_route_for_its_caller_only(
    api: HandlerClient, held: dict[str, Any], method: str, path: str, resource: str, body: Any
) -> None:
    def answer(identity: Identity | None) -> int:
        event = event_for(method, path, resource, identity, body)
        status: int = api_function.lambda_handler(event, LambdaContext())["statusCode"]
        return status

    assert answer(None) == 401
    assert answer(Identity("storefront", ())) == 403
    if resource.startswith("/reservations/"):
        assert answer(CALL_CENTRE) == 404  # another channel's hold, as without the slash
    assert level(api) == (10, 2, 8)
    assert answer(FULL) == 200
