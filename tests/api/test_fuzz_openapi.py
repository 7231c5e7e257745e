"""Property-based fuzz of the whole HTTP API from its own OpenAPI document (schemathesis).

Every operation of the document is called over HTTP on the local stack (``LocalApi``: the
local authorizer in front of the real handler, on moto server) with valid and invalid
requests, a bounded number per operation. No response may be a 5xx, and every response
must be one the document declares: its status code, its content type and its body schema.
``ignored_auth`` also calls each operation without the token and expects a refusal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import api_function
import lazy_routers
from local.auth import issue_token
from local.server import LocalApi
from reservations import access
from reservations.http import docs as api_docs
from tests.conftest import ENGINES, engine_of, local_api_on
from tests.support.local_stack import call

# Enough to find the classic failures (undocumented codes, 500s on odd input) in well under
# a minute for the whole API; raise it locally with SCHEMATHESIS_MAX_EXAMPLES-style edits.
MAX_EXAMPLES = 30
KNOWN_SKU = "FUZZ-SKU"

document = api_docs.openapi_json(lazy_routers.include_all(api_function.app))
schema = schemathesis.openapi.from_dict(json.loads(document))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
]


@pytest.fixture(scope="module", params=ENGINES)
def local_api(request: pytest.FixtureRequest) -> Iterator[LocalApi]:
    # Both engines: DynamoDB Local validates more strictly than moto, so odd input that
    # moto takes could be a 500 there.
    with local_api_on(engine_of(request), workers=2) as running:
        # Some stock and a hold, so that not every generated request ends in a 404.
        call("PUT", f"{running.url}/inventory/{KNOWN_SKU}/locations/WH1", {"onHand": 50})
        hold = {
            "id": "fuzz-hold",
            "items": [{"sku": KNOWN_SKU, "location": "WH1", "quantity": 1}],
        }
        call("POST", f"{running.url}/reservations", hold)
        yield running


@pytest.fixture(scope="module")
def headers() -> dict[str, str]:
    # Every scope, admin included, so requests get past the authorizer to the function.
    return {"Authorization": f"Bearer {issue_token('fuzzer', access.ALL_SCOPES)}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_api_answers_only_what_its_openapi_document_says(
    case: schemathesis.Case, local_api: LocalApi, headers: dict[str, str]
) -> None:
    case.call_and_validate(base_url=local_api.url, headers=headers, checks=CHECKS)
