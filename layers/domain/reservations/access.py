"""Who may call what: the OAuth scopes of each route, and the caller API Gateway verified.

This table is the one source of truth for scopes. ``template.yaml`` repeats it as each
API event's ``AuthorizationScopes`` (a test fails when they differ), the local stack's
authorizer enforces it, and the API function checks it again from the verified claims.

A route lists the scopes that admit it: any one of them is enough (API Gateway's rule for
a method's OAuth scopes). Tokens are never checked here: API Gateway's Cognito authorizer
(or the local stand-in) verified them and put their claims into the request context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RESERVATIONS_READ = "reservations/read"
RESERVATIONS_WRITE = "reservations/write"
RESERVATIONS_ADMIN = "reservations/admin"
# Not a route's scope: what a reserve with an allowOversell line needs besides the route's.
RESERVATIONS_OVERSELL = "reservations/oversell"
INVENTORY_READ = "inventory/read"
INVENTORY_WRITE = "inventory/write"

# Resource server identifier -> its scope names (a scope is "<identifier>/<name>").
RESOURCE_SERVERS: dict[str, tuple[str, ...]] = {
    "reservations": ("read", "write", "admin", "oversell"),
    "inventory": ("read", "write"),
}
ALL_SCOPES = tuple(
    f"{server}/{name}" for server, names in RESOURCE_SERVERS.items() for name in names
)

# (method, API Gateway resource path) -> the scopes that admit it.
ROUTE_SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/reservations"): (RESERVATIONS_WRITE,),
    ("GET", "/reservations"): (RESERVATIONS_READ, RESERVATIONS_ADMIN),
    ("GET", "/reservations/{reservation_id}"): (RESERVATIONS_READ, RESERVATIONS_ADMIN),
    ("DELETE", "/reservations/{reservation_id}"): (RESERVATIONS_WRITE, RESERVATIONS_ADMIN),
    ("POST", "/reservations/{reservation_id}/confirm"): (RESERVATIONS_WRITE, RESERVATIONS_ADMIN),
    ("POST", "/reservations/{reservation_id}/extend"): (RESERVATIONS_WRITE, RESERVATIONS_ADMIN),
    ("POST", "/reservations/{reservation_id}/release"): (RESERVATIONS_WRITE, RESERVATIONS_ADMIN),
    ("POST", "/reservations/{reservation_id}/fulfill"): (RESERVATIONS_WRITE, RESERVATIONS_ADMIN),
    ("PUT", "/reservations/{reservation_id}/items"): (RESERVATIONS_WRITE, RESERVATIONS_ADMIN),
    ("POST", "/reservations/{reservation_id}/labels/{label}/release"): (
        RESERVATIONS_WRITE,
        RESERVATIONS_ADMIN,
    ),
    ("GET", "/inventory/{sku}"): (INVENTORY_READ,),
    ("GET", "/inventory/{sku}/reservations"): (RESERVATIONS_READ, RESERVATIONS_ADMIN),
    ("GET", "/inventory/{sku}/locations/{location}"): (INVENTORY_READ,),
    ("PUT", "/inventory/{sku}/locations/{location}"): (INVENTORY_WRITE,),
    ("GET", "/inventory/{sku}/locations/{location}/movements"): (INVENTORY_READ,),
    ("GET", "/locations"): (INVENTORY_READ,),
    ("GET", "/locations/{location}"): (INVENTORY_READ,),
    ("PUT", "/locations/{location}"): (INVENTORY_WRITE,),
    ("POST", "/availability"): (INVENTORY_READ,),
    ("PUT", "/labels/{label}"): (INVENTORY_WRITE,),
    ("GET", "/labels/{label}"): (INVENTORY_READ,),
    ("GET", "/skus/{sku}/labels"): (INVENTORY_READ,),
    ("GET", "/operations/drift"): (RESERVATIONS_ADMIN,),
    ("GET", "/operations/dead-letters"): (RESERVATIONS_ADMIN,),
    ("POST", "/operations/dead-letters/{message_id}/redrive"): (RESERVATIONS_ADMIN,),
}
# No token: the API documents (served only where API_DOCS_ENABLED is true), the health check
# and the operator console's static files (which sign the operator in, then call the routes
# above).
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/openapi.json"),
        ("GET", "/swagger"),
        ("GET", "/health"),
        ("GET", "/console"),
        ("GET", "/console/{asset}"),
    }
)
# Reads whose question is too large for a query string (POST, yet they change nothing): a
# key has nothing to make happen once, so they neither claim one nor replay an answer.
READS_WITH_A_BODY = frozenset({("POST", "/availability")})
# Every path also takes any other method (an API Gateway ANY route without a token), for
# one answer only: 405 with the methods it does take. No route ever runs for those.
ANY_METHOD = "ANY"

# Name of the OAuth 2.0 scheme in the OpenAPI document.
SECURITY_SCHEME = "oauth2"

# API Gateway's own bodies for a refused token and for too few scopes.
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}


def required_scopes(method: str, resource: str) -> tuple[str, ...] | None:
    """The scopes that admit a route; None for a public route or one that does not exist."""
    return ROUTE_SCOPES.get((method.upper(), resource))


def is_public(method: str, resource: str) -> bool:
    """Only the routes listed as public need no token; every other one, known or not, does."""
    return (method.upper(), resource) in PUBLIC_ROUTES


def admits(granted: frozenset[str] | set[str], method: str, resource: str) -> bool:
    """Whether one of the granted scopes admits the route. Fails closed: a route missing
    from ROUTE_SCOPES (unknown, or public and so never asked) admits nobody."""
    needed = required_scopes(method, resource)
    return needed is not None and bool(granted & set(needed))


def _has_parameter(route: tuple[str, str]) -> bool:
    return "{" in route[1]


def route_of_path(method: str, path: str) -> str | None:
    """The route template (of ROUTE_SCOPES or PUBLIC_ROUTES) that a request path fills, read
    as the API function's resolver reads it: trailing slashes ignored, each parameter one
    whole segment, literals as sent (a percent-encoded literal is not the literal).

    The function compares it with the resource API Gateway authorized, so the route that
    runs is always the one whose scopes were checked (docs/security.md, "Fail closed").
    """
    segments = path.rstrip("/").split("/")
    # Routes without parameters first, as the resolver and API Gateway prefer them.
    for known_method, template in sorted((*ROUTE_SCOPES, *PUBLIC_ROUTES), key=_has_parameter):
        if method.upper() not in (known_method, ANY_METHOD):
            continue
        parts = template.split("/")
        if len(parts) == len(segments) and all(
            segment != "" if part.startswith("{") else segment == part
            for part, segment in zip(parts, segments, strict=True)
        ):
            return template
    return None


def methods_of(resource: str) -> list[str]:
    """The methods a path takes, for a 405's Allow header."""
    return sorted({m for m, r in (*ROUTE_SCOPES, *PUBLIC_ROUTES) if r == resource})


def paths() -> list[str]:
    """Every path of the API: each also has an ANY route in the template (405)."""
    return sorted({r for _, r in (*ROUTE_SCOPES, *PUBLIC_ROUTES)})


def oversell_refused(granted: frozenset[str], allow_oversell: Sequence[bool]) -> list[int]:
    """The lines (by index) that ask to oversell without the scope that allows it."""
    if RESERVATIONS_OVERSELL in granted:
        return []
    return [index for index, wanted in enumerate(allow_oversell) if wanted]


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified caller: its channel (the OAuth client) and the scopes its token carries."""

    channel: str
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return RESERVATIONS_ADMIN in self.scopes

    @property
    def owner_filter(self) -> str | None:
        """Whose holds this caller may touch: its own channel's, or anyone's (None) if admin."""
        return None if self.is_admin else self.channel


def caller_from_claims(claims: Mapping[str, Any] | None) -> Caller | None:
    """The caller from the claims of a client-credentials access token, as API Gateway's
    Cognito authorizer passes them (``requestContext.authorizer.claims``, values as strings).

    ``client_id`` names the app client, that is the channel; ``scope`` is space-separated.
    None when there are no claims or they name no client: the request is not authenticated.
    """
    if not claims:
        return None
    client_id = claims.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip():
        return None
    scope = claims.get("scope")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    return Caller(channel=client_id.strip(), scopes=scopes)
