"""The local stack's authorizer over HTTP: the rules of API Gateway's Cognito authorizer.

Missing, expired, forged and wrong-audience tokens are 401 ``{"message": "Unauthorized"}``;
a valid token without the route's scopes is 403; a valid one reaches the function with its
claims where API Gateway puts them, and the hold is recorded for the token's client.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local.apigw import Match, match, proxy_event
from local.auth import (
    AUDIENCE,
    ISSUER,
    LocalAuthorizer,
    bearer,
    issue_token,
    load_or_create_key,
    token_claims,
)
from local.engines import Engine
from local.server import LocalApi
from local.template import ROOT
from reservations import access
from reservations.http.errors import gateway_error
from tests.conftest import local_api_on
from tests.support.local_stack import PYTHONPATH, call

UNAUTHORIZED = (401, {"message": "Unauthorized"})
FORBIDDEN = (403, {"message": "Forbidden"})
SALES = ("reservations/read", "reservations/write", "inventory/read")


@pytest.fixture(scope="module")
def api(moto_server: Engine) -> Iterator[LocalApi]:
    # The authorizer in front of the API, which touches no table: one engine is enough.
    with local_api_on(moto_server, workers=1) as running:
        stocked = call(
            "PUT",
            f"{running.url}/inventory/SKU-A/locations/WH1",
            {"onHand": 10},
            headers={"Authorization": f"Bearer {issue_token('ops', ['inventory/write'])}"},
        )
        assert stocked.status == 200, stocked.body
        yield running


def get(api: LocalApi, path: str, authorization: str | None) -> tuple[int, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    # An empty value is dropped by call()'s default header, so an absent header is "".
    reply = call("GET", f"{api.url}{path}", headers={"Authorization": "", **headers})
    return reply.status, reply.json


def test_a_valid_token_reaches_the_function(api: LocalApi) -> None:
    token = issue_token("storefront", ["inventory/read"])
    status, body = get(api, "/inventory/SKU-A", f"Bearer {token}")
    assert status == 200
    assert body["onHand"] == 10


def test_the_bare_token_is_accepted_too(api: LocalApi) -> None:
    assert get(api, "/inventory/SKU-A", issue_token("storefront", ["inventory/read"]))[0] == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt"],
    ids=["absent", "empty", "no-token", "blank-token", "basic", "garbage"],
)
def test_without_a_token_it_is_401(api: LocalApi, authorization: str | None) -> None:
    assert get(api, "/inventory/SKU-A", authorization) == UNAUTHORIZED


def test_an_expired_token_is_401(api: LocalApi) -> None:
    expired = issue_token("storefront", ["inventory/read"], now=time.time() - 7200)
    assert get(api, "/inventory/SKU-A", f"Bearer {expired}") == UNAUTHORIZED


def test_a_token_for_another_audience_is_401(api: LocalApi) -> None:
    other = issue_token("storefront", ["inventory/read"], audience="some-other-api")
    assert get(api, "/inventory/SKU-A", f"Bearer {other}") == UNAUTHORIZED


def test_a_token_from_another_issuer_is_401(api: LocalApi) -> None:
    other = issue_token("storefront", ["inventory/read"], issuer="https://evil.invalid/pool")
    assert get(api, "/inventory/SKU-A", f"Bearer {other}") == UNAUTHORIZED


def test_a_token_signed_with_another_key_is_401(api: LocalApi) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = issue_token("storefront", ["inventory/read"], key=stranger)
    assert get(api, "/inventory/SKU-A", f"Bearer {forged}") == UNAUTHORIZED


def test_a_token_whose_claims_were_edited_is_401(api: LocalApi) -> None:
    header, payload, signature = issue_token("storefront", ["inventory/read"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "reservations/admin inventory/read"
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert get(api, "/inventory/SKU-A", f"Bearer {header}.{edited}.{signature}") == UNAUTHORIZED


def test_unsigned_and_hmac_tokens_are_401(api: LocalApi) -> None:
    claims = token_claims("storefront", ["inventory/read"])
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    hmac = jwt.encode(claims, "a-shared-secret-that-is-long-enough-32b", algorithm="HS256")
    for token in (unsigned, hmac):
        assert get(api, "/inventory/SKU-A", f"Bearer {token}") == UNAUTHORIZED


def test_an_id_token_is_401(api: LocalApi) -> None:
    claims = {**token_claims("storefront", ["inventory/read"]), "token_use": "id"}
    from local.auth import dev_key

    token = jwt.encode(claims, dev_key(), algorithm="RS256")
    assert get(api, "/inventory/SKU-A", f"Bearer {token}") == UNAUTHORIZED


def test_too_few_scopes_is_403(api: LocalApi) -> None:
    token = issue_token("storefront", ["reservations/read"])
    assert get(api, "/inventory/SKU-A", f"Bearer {token}") == FORBIDDEN
    writer = issue_token("storefront", SALES)
    reply = call(
        "PUT",
        f"{api.url}/inventory/SKU-A/locations/WH1",
        {"onHand": 0},
        headers={"Authorization": f"Bearer {writer}"},
    )
    assert (reply.status, reply.json) == FORBIDDEN


def test_the_hold_belongs_to_the_tokens_client_and_no_other(api: LocalApi) -> None:
    storefront = {"Authorization": f"Bearer {issue_token('storefront', SALES)}"}
    callcentre = {"Authorization": f"Bearer {issue_token('callcentre', SALES)}"}
    request = {"id": "local-auth-1", "items": [{"sku": "SKU-A", "location": "WH1", "quantity": 1}]}
    created = call("POST", f"{api.url}/reservations", request, headers=storefront)
    assert created.status == 201, created.body
    assert created.json["channel"] == "storefront"
    mine = call("GET", f"{api.url}/reservations/local-auth-1", headers=storefront)
    assert mine.status == 200
    theirs = call("DELETE", f"{api.url}/reservations/local-auth-1", headers=callcentre)
    assert theirs.status == 404
    assert call("GET", f"{api.url}/reservations/local-auth-1", headers=storefront).json == mine.json


def test_api_documents_need_no_token(api: LocalApi) -> None:
    assert get(api, "/openapi.json", None)[0] == 200
    assert call("GET", f"{api.url}/swagger", headers={"Authorization": ""}).status == 200


# --- the authorizer itself ------------------------------------------------------------------


def test_claims_go_where_api_gateway_puts_them() -> None:
    event = proxy_event(
        "GET",
        "/inventory/SKU-A",
        {"Authorization": f"Bearer {issue_token('storefront', ['inventory/read'])}"},
    )
    assert LocalAuthorizer().authorize(event) is None
    claims = event["requestContext"]["authorizer"]["claims"]
    assert claims["client_id"] == "storefront"
    assert claims["scope"] == "inventory/read"
    assert claims["token_use"] == "access"
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"].endswith(" UTC " + claims["exp"][-4:])  # "Thu Nov 26 01:35:17 UTC 2026"


def test_the_authorizer_fails_closed_on_a_route_it_does_not_know() -> None:
    """Only a listed public route passes without a token; an unlisted one admits no token."""
    every = f"Bearer {issue_token('ops', access.ALL_SCOPES)}"
    for headers, refusal in (({}, UNAUTHORIZED), ({"Authorization": every}, FORBIDDEN)):
        event = proxy_event("GET", "/nowhere", headers)
        status, body = refusal
        assert LocalAuthorizer().authorize(event) == gateway_error(status, body)
        assert event["requestContext"]["authorizer"] is None


# --- routing, as API Gateway (REST) routes before its authorizer ---------------------------

MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})


def test_a_trailing_slash_is_the_route_and_its_authorizer(api: LocalApi) -> None:
    reader = f"Bearer {issue_token('storefront', ['inventory/read'])}"
    assert get(api, "/inventory/SKU-A/", None) == UNAUTHORIZED
    status, body = get(api, "/inventory/SKU-A/", reader)
    assert (status, body["onHand"]) == (200, 10)
    sales = {"Authorization": f"Bearer {issue_token('storefront', SALES)}"}
    for headers, refusal in (({"Authorization": ""}, UNAUTHORIZED), (sales, FORBIDDEN)):
        reply = call(
            "PUT", f"{api.url}/inventory/SKU-A/locations/WH1/", {"onHand": 999}, headers=headers
        )
        assert (reply.status, reply.json) == refusal
    assert get(api, "/inventory/SKU-A", reader)[1]["onHand"] == 10


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/"), ("GET", "/inventory//SKU-A"), ("GET", "/Inventory/SKU-A"),
     ("GET", "/inventory/SKU-A//"), ("GET", "/inventory/SKU-A/./reservations"),
     ("PATCH", "/nowhere"), ("HEAD", "/nowhere"), ("POST", "/")],
)  # fmt: skip
def test_a_path_that_fills_no_route_is_api_gateways_403(
    api: LocalApi, method: str, path: str
) -> None:
    """A REST API answers 403 Missing Authentication Token, invoking nothing, even with a
    token that has every scope."""
    every = {"Authorization": f"Bearer {issue_token('ops', access.ALL_SCOPES)}"}
    for headers in ({"Authorization": ""}, every):
        reply = call(method, f"{api.url}{path}", headers=headers)
        if method == "HEAD":  # the same answer, without its body
            assert reply.status == 403
        else:
            assert (reply.status, reply.json) == MISSING_TOKEN


@pytest.mark.parametrize("method", ["PATCH", "HEAD", "POST", "DELETE"])
def test_another_method_on_a_known_path_is_405_with_allow(api: LocalApi, method: str) -> None:
    """The path's ANY route reaches the function, which names what the path takes; no
    token is needed to learn that, and nothing runs."""
    every = {"Authorization": f"Bearer {issue_token('ops', access.ALL_SCOPES)}"}
    for headers in ({"Authorization": ""}, every):
        reply = call(method, f"{api.url}/inventory/SKU-A", headers=headers)
        assert (reply.status, reply.headers["Allow"]) == (405, "GET")
        if method != "HEAD":
            assert reply.json["error"] == "METHOD_NOT_ALLOWED"
    reader = f"Bearer {issue_token('storefront', ['inventory/read'])}"
    assert get(api, "/inventory/SKU-A", reader)[1]["onHand"] == 10


def test_reservation_routes_with_a_trailing_slash_run_for_their_owner(api: LocalApi) -> None:
    """Once a 502: the function ran them with no caller (issue 11, item 2)."""
    storefront = {"Authorization": f"Bearer {issue_token('storefront', SALES)}"}
    callcentre = {"Authorization": f"Bearer {issue_token('callcentre', SALES)}"}
    hold = {"id": "slashed-1", "items": [{"sku": "SKU-A", "location": "WH1", "quantity": 1}]}
    url = f"{api.url}/reservations/slashed-1/"
    created = call("POST", f"{api.url}/reservations/", hold, headers=storefront)
    assert created.status == 201, created.body
    assert created.json["channel"] == "storefront"
    assert call("GET", url, headers=storefront).json["status"] == "ACTIVE"
    assert call("GET", url, headers=callcentre).status == 404
    assert call("POST", f"{url}confirm/", headers=callcentre).status == 404
    assert call("POST", f"{url}confirm/", headers=storefront).json["status"] == "CONFIRMED"
    assert call("DELETE", url, headers=callcentre).status == 404
    assert call("DELETE", url, headers=storefront).json["status"] == "CANCELLED"


def test_an_encoded_slash_stays_inside_its_parameter(api: LocalApi) -> None:
    assert match("GET", "/inventory/SKU-A%2F") == Match("/inventory/{sku}", {"sku": "SKU-A/"})
    assert get(api, "/inventory/SKU-A%2F", None) == UNAUTHORIZED
    reader = f"Bearer {issue_token('storefront', ['inventory/read'])}"
    status, body = get(api, "/inventory/SKU-A%2F", reader)
    # Not SKU-A: the function routes the path as sent and refuses the identifier.
    assert (status, body["details"][0]["field"]) == (400, "path.sku")


def test_bearer_reads_the_header_whatever_its_case() -> None:
    assert bearer({"authorization": "bearer abc"}) == "abc"
    assert bearer({"AUTHORIZATION": "abc"}) == "abc"
    assert bearer({"Authorization": "Bearer   "}) is None
    assert bearer(None) is None


def test_the_key_is_created_once_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "key.pem"
    first = load_or_create_key(path)
    second = load_or_create_key(path)
    assert first.private_numbers() == second.private_numbers()
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_the_dev_key_lives_in_a_git_ignored_directory() -> None:
    from local.auth import KEY_FILE

    ignored = subprocess.run(["git", "check-ignore", "-q", str(KEY_FILE)], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{KEY_FILE} would be committed"


def test_make_token_prints_a_token_the_stack_accepts() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "local.auth",
            "--channel",
            "callcentre",
            "--scopes",
            "inventory/read",
        ],
        cwd=ROOT,
        env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    event = proxy_event("GET", "/inventory/SKU-A", {"Authorization": f"Bearer {token}"})
    assert LocalAuthorizer().authorize(event) is None
    assert event["requestContext"]["authorizer"]["claims"]["client_id"] == "callcentre"


def test_make_token_refuses_an_unknown_scope() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local.auth", "--channel", "x", "--scopes", "reservations/all"],
        cwd=ROOT,
        env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "reservations/all" in done.stderr
