"""The OpenAPI document and the Swagger UI page, built only when asked for, and the
responses and security each route declares in it.

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

from pydantic import BaseModel

from . import access
from .models import ErrorResponse, GatewayErrorResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

TITLE = "Soft reservations"
VERSION = "1.0.0"
# Cognito's token endpoint (the template sets it from the user pool domain).
DEFAULT_OAUTH_URL = "https://cognito-domain.invalid/oauth2/token"


# --- what each route declares --------------------------------------------------------------


def documented(description: str, model: type[BaseModel] = ErrorResponse) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


# Every route that needs a token: API Gateway's authorizer (or the local one) answers these.
AUTH_ERRORS: dict[int, OpenAPIResponse] = {
    401: documented(
        "No valid token: missing, expired, forged or for another audience", GatewayErrorResponse
    ),
    403: documented("The token lacks every scope this route accepts", GatewayErrorResponse),
}
ERRORS: dict[int, OpenAPIResponse] = {
    400: documented("Invalid request: the field and the reason"),
    404: documented("Unknown reservation, sku or route; another channel's hold is unknown"),
    503: documented("Gave up under contention; retry after the Retry-After header"),
    **AUTH_ERRORS,
}
NOT_FOUND = ERRORS
# Routes with a body: refused before parsing when it is too large or not JSON.
BODY_ERRORS: dict[int, OpenAPIResponse] = {
    413: documented("PAYLOAD_TOO_LARGE: the body exceeds the size limit"),
    415: documented("UNSUPPORTED_MEDIA_TYPE: send application/json"),
    **ERRORS,
}


TRANSITION = {
    409: documented("INVALID_STATE: the transition is impossible from the current status"),
    **BODY_ERRORS,
}


def security(method: str, resource: str) -> list[dict[str, list[str]]]:
    """The route's OAuth scopes in the OpenAPI document, from the one table of scopes."""
    return [{access.SECURITY_SCHEME: list(access.ROUTE_SCOPES[(method, resource)])}]


# --- the document -----------------------------------------------------------------------------


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
    return json.dumps(_only_what_is_returned(json.loads(generated)), indent=2)


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
