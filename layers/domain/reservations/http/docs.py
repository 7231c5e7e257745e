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

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

TITLE = "Soft reservations"
VERSION = "1.0.0"
TAGS = [
    {"name": "Reservations", "description": "Soft holds: place, read, and move through their life"},
    {"name": "Inventory", "description": "Stock per sku and location, and the holds on it"},
]
# Cognito's token endpoint (the template sets it from the user pool domain).
DEFAULT_OAUTH_URL = "https://cognito-domain.invalid/oauth2/token"


def security_schemes() -> dict[str, Any]:
    """OAuth 2.0 client credentials against the Cognito user pool, one client per channel."""
    from aws_lambda_powertools.event_handler.openapi.models import (
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
    return {access.SECURITY_SCHEME: OAuth2(flows=flows)}


# Powertools documents a 422 with its own body for request validation; this API answers
# 400 with ErrorResponse instead (http_errors.validation_error_response), so those go.
UNRETURNED_STATUS = "422"
UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _secured(document: dict[str, Any]) -> dict[str, Any]:
    """Each operation's OAuth scopes from the one table of scopes (``access.ROUTE_SCOPES``),
    rather than spelt again beside each route."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            scopes = access.required_scopes(method, path)
            if isinstance(operation, dict) and scopes is not None:
                operation["security"] = [{access.SECURITY_SCHEME: list(scopes)}]
    return document


def _only_what_is_returned(document: dict[str, Any]) -> dict[str, Any]:
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop(UNRETURNED_STATUS, None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in UNUSED_SCHEMAS:
        if f'"#/components/schemas/{name}"' not in json.dumps(
            {k: v for k, v in document.items() if k != "components"}
        ):
            schemas.pop(name, None)
    return document


@cache
def openapi_json(app: APIGatewayRestResolver) -> str:
    """The document generated from the routes' pydantic models (cached per environment)."""
    generated = app.get_openapi_json_schema(
        title=TITLE, version=VERSION, security_schemes=security_schemes()
    )
    document = _secured(_only_what_is_returned(json.loads(generated)))
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
