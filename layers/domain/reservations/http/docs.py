"""The OpenAPI document and the Swagger UI page, built only when asked for.

Powertools' ``enable_swagger`` imports its OpenAPI models and Swagger assets when the app
is built, about 100 ms of every cold start; the reserve path never needs them. These two
pages import them on their first request instead, and produce the same output.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import access
from ..config import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

TITLE = "Soft reservations"
VERSION = "1.0.0"
TAGS = [
    {"name": "Reservations", "description": "Soft holds: place, read, and move through their life"},
    {"name": "Inventory", "description": "Stock per sku and location, and the holds on it"},
    {"name": "Operations", "description": "The service itself"},
]
# Cognito's token endpoint (the template sets it from the user pool domain).
DEFAULT_OAUTH_URL = "https://cognito-domain.invalid/oauth2/token"


LOCAL_BEARER_SCHEME = "localBearer"
LOCAL_HELP = (
    "Running locally (`make run`)? Get a token with `make token` (add "
    '`SCOPES="..."` for other scopes), press **Authorize** and paste it under '
    f"`{LOCAL_BEARER_SCHEME}`; then every *Try it out* carries it."
)


def _deployed() -> bool:
    """In AWS the template sets the user pool's token URL; the local stack does not."""
    return bool(os.environ.get("OAUTH_TOKEN_URL"))


def security_schemes() -> dict[str, Any]:
    """OAuth 2.0 client credentials against the Cognito user pool, one client per channel;
    locally also a bearer field for a ``make token`` token, the local authorizer's."""
    from aws_lambda_powertools.event_handler.openapi.models import (
        HTTPBearer,
        OAuth2,
        OAuthFlowClientCredentials,
        OAuthFlows,
    )

    scopes = {
        f"{server}/{name}": f"{name} of {server}"
        for server, names in access.RESOURCE_SERVERS.items()
        for name in names
    }
    token_url = os.environ.get("OAUTH_TOKEN_URL") or DEFAULT_OAUTH_URL
    flows = OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=token_url, scopes=scopes)
    )
    schemes: dict[str, Any] = {access.SECURITY_SCHEME: OAuth2(flows=flows)}
    if not _deployed():
        schemes[LOCAL_BEARER_SCHEME] = HTTPBearer(
            bearerFormat="JWT", description="A token of the local stack: `make token`"
        )
    return schemes


# Powertools documents a 422 with its own body for request validation; this API answers
# 400 with ErrorResponse instead (errors.validation_error_response), so that goes.
UNRETURNED_STATUS = "422"


def _secured(document: dict[str, Any]) -> dict[str, Any]:
    """Each operation's OAuth scopes from the one table of scopes (``access.ROUTE_SCOPES``),
    rather than spelt again beside each route."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            scopes = access.required_scopes(method, path)
            if isinstance(operation, dict) and scopes is not None:
                operation["security"] = [{access.SECURITY_SCHEME: list(scopes)}]
                if not _deployed():
                    operation["security"].append({LOCAL_BEARER_SCHEME: []})
    return document


def _only_what_is_returned(document: dict[str, Any]) -> dict[str, Any]:
    """Without Powertools' 422, and without the schemas nothing refers to any more (a
    dangling one would point to a schema that is gone, and the document would not validate)."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop(UNRETURNED_STATUS, None)
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    reachable: set[str] = set()
    todo = _references({k: v for k, v in document.items() if k != "components"})
    while todo:
        name = todo.pop()
        if name not in reachable and name in schemas:
            reachable.add(name)
            todo |= _references(schemas[name])
    for name in set(schemas) - reachable:
        del schemas[name]
    return document


IDEMPOTENT_METHODS = ("post", "put", "delete", "patch")
# Reads with a body: no effect to remember, no key to claim.
READS_WITH_A_BODY: frozenset[tuple[str, str]] = frozenset()
SAFE_BY_ID = {("post", "/reservations")}


def _idempotent(document: dict[str, Any]) -> dict[str, Any]:
    """Every mutation takes an Idempotency-Key (docs/architecture.md, "Idempotency keys"):
    the header, its two refusals, and whether a repeat without it is safe."""
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in IDEMPOTENT_METHODS or (method, path) in READS_WITH_A_BODY:
                continue
            operation.setdefault("parameters", []).append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "A repeat with the same key and body answers what the "
                    "first did (Idempotent-Replayed: true) and changes nothing",
                }
            )
            responses = operation.setdefault("responses", {})
            responses["422"] = {
                "description": "IDEMPOTENCY_KEY_REUSED: the key was used for another request",
                "content": {"application/json": {"schema": error}},
            }
            conflict = responses.setdefault(
                "409", {"description": "", "content": {"application/json": {"schema": error}}}
            )
            busy = "IDEMPOTENCY_KEY_IN_USE: the key's first request is still in flight"
            conflict["description"] = "; ".join(filter(None, [conflict["description"], busy]))
            if (method, path) not in SAFE_BY_ID:
                operation["description"] = (
                    operation.get("description", "")
                    + " Without an Idempotency-Key a repeat applies again."
                ).strip()
    return document


def _configured_limits(document: dict[str, Any], settings: Settings) -> None:
    """The lifetime a deployment allows, which may be shorter than the API's own limit."""
    for schema in document.get("components", {}).get("schemas", {}).values():
        field = schema.get("properties", {}).get("expiresInSeconds")
        for variant in [field, *(field or {}).get("anyOf", [])] if field else []:
            if "maximum" in variant:
                variant["maximum"] = settings.max_expires_in_seconds


def _references(node: Any) -> set[str]:
    prefix = "#/components/schemas/"
    text = json.dumps(node)
    return {part.split('"', 1)[0] for part in text.split(f'"$ref": "{prefix}')[1:]}


@cache
def openapi_json(app: APIGatewayRestResolver) -> str:
    """The document generated from the routes' pydantic models (cached per environment)."""
    generated = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=None if _deployed() else LOCAL_HELP,
        security_schemes=security_schemes(),
    )
    document = _idempotent(_secured(_only_what_is_returned(json.loads(generated))))
    _configured_limits(document, Settings.from_env())
    document["tags"] = TAGS
    return json.dumps(document, indent=2)


def swagger_html(app: APIGatewayRestResolver) -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    # "</" inside the inlined JSON would close the page's <script> element.
    spec = openapi_json(app).replace("</", "<\\/")
    return generate_swagger_html(
        spec,
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
