"""The operator console: static files (functions/api/console/) served by this function,
with a configuration saying how operators sign in (docs/console.md).

No token: the page holds no data; it signs the operator in, then calls the API with the
operator's token like any client. Files are read on first use, never at init.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParameter

from error_handlers import unknown_route
from openapi_responses import documented

router = Router()
TAGS = ["Console"]
FILES = Path(__file__).parent / "console"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
AssetPath = Annotated[str, PathParameter(max_length=64, pattern=r"^[a-z][a-z0-9-]*\.[a-z]+$")]
# The scopes the console asks for: what its screens and actions need, nothing more.
SCOPES = "openid reservations/admin inventory/read"


@cache
def _files() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in FILES.iterdir()}


def _headers(connect: str = "") -> dict[str, str]:
    # Nothing but this origin (and Cognito's token endpoint when it signs in there).
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {connect}".rstrip()
        + "; form-action 'self'; base-uri 'self'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@cache
def _client_id() -> str:
    """The console's app client id: from the environment, or the stack's parameter, read
    once (the template cannot pass it: its callback URL names this very API)."""
    if os.environ.get("CONSOLE_CLIENT_ID"):
        return os.environ["CONSOLE_CLIENT_ID"]
    name = os.environ.get("CONSOLE_CLIENT_ID_PARAMETER")
    if not name:
        return ""
    from reservations.bootstrap import session

    ssm: Any = session().create_client("ssm")
    value: str = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    return value


def _sign_in() -> dict[str, Any]:
    """How operators sign in: Cognito's hosted UI (authorization code with PKCE) in AWS, a
    development token from the local stack (``make run``) on this machine."""
    if os.environ.get("CONSOLE_SIGN_IN") == "development":
        return {"mode": "development", "tokenPath": "/_local/console-token"}
    domain = os.environ.get("OAUTH_DOMAIN_URL", "")
    return {
        "mode": "cognito",
        "authorizeUrl": f"{domain}/oauth2/authorize" if domain else "",
        "tokenUrl": f"{domain}/oauth2/token" if domain else "",
        "clientId": _client_id(),
        "scope": SCOPES,
    }


@router.get(
    "/console",
    operation_id="getConsole",
    summary="The operator console",
    description="The page; it signs an operator in and calls this API with their token.",
    tags=TAGS,
    responses={200: {"description": "The page", "content": {"text/html": {}}}},
)
def console_page() -> Response[Any]:
    # Assets are relative to the page, wherever the stage puts it (/v1/console/...).
    context = router.current_event.raw_event.get("requestContext") or {}
    path = str(context.get("path") or "/console").rstrip("/")
    page = _files()["index.html"].replace("__BASE__", f"{path}/")
    sign_in = _sign_in()
    headers = _headers(str(sign_in.get("tokenUrl", "")))
    return Response(status_code=200, content_type=TYPES[".html"], body=page, headers=headers)


@router.get(
    "/console/<asset>",
    operation_id="getConsoleAsset",
    summary="A file of the operator console",
    description="Its scripts and style sheet, and config.json: how operators sign in.",
    tags=TAGS,
    responses={
        200: {
            "description": "The file",
            "content": {
                "text/javascript": {},
                "text/css": {},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        400: documented("Invalid request: not a file name the console could have"),
        404: documented("No such file"),
    },
)
def console_asset(asset: AssetPath) -> Response[Any]:
    if asset == "config.json":
        config = {"signIn": _sign_in(), "apiKey": os.environ.get("CONSOLE_API_KEY", "")}
        body = json.dumps(config)
        return Response(200, "application/json", body, headers=_headers())
    found = _files().get(asset)
    kind = TYPES.get(Path(asset).suffix)
    if found is None or kind is None or asset == "index.html":
        return unknown_route()
    return Response(status_code=200, content_type=kind, body=found, headers=_headers())
