"""API Gateway (REST) entry point: the resolver, its routers and the handler.

Routes live in one module per resource (``reservation_routes``, ``inventory_routes``,
``docs_routes``), errors in ``error_handlers``, what routes are given in ``route_dependencies``;
the operator's and the labels' routes are included on first use (``lazy_routers``).
"""

from __future__ import annotations

import gc

# A cold start is mostly imports: tens of thousands of objects that live as long as the
# process. The collector is paused so it does not scan them ~170 times during init, and
# they are frozen at the end of this module, so the first request does not scan them all.
gc.disable()

import warnings
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import docs_routes
import error_handlers
import idempotency_keys
import inventory_routes
import lazy_routers
import location_routes
import reservation_routes
import route_dependencies
import search_routes
from reservations import access
from reservations.http import request_guard
from reservations.http.errors import gateway_error, proxy_error

ANONYMOUS = "-"
logger = Logger()
metrics = Metrics()
# Reads publish no metric; that is expected, not worth a warning on every request.
warnings.filterwarnings("ignore", message="No application metrics to publish")
app = APIGatewayRestResolver(enable_validation=True)
for module in (
    reservation_routes,
    search_routes,
    inventory_routes,
    location_routes,
    docs_routes,
    error_handlers,
):
    app.include_router(module.router)
app.use(middlewares=[idempotency_keys.middleware])


def claims_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Where API Gateway's Cognito authorizer puts the verified claims (REST API)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    return claims if isinstance(claims, Mapping) else None


def authorize(event: Mapping[str, Any], found: access.Caller | None) -> dict[str, Any] | None:
    """API Gateway's answer when the verified caller is not admitted to this route, else None.

    Defence in depth behind API Gateway's Cognito authorizer, and it fails closed: a route
    must be listed (in ROUTE_SCOPES, or public), and the path the resolver will route must
    fill that very route, whatever claims the event carries; an event without claims
    (``make invoke`` with a bare event, a misconfigured method) is refused as API Gateway
    would refuse it.
    """
    method = str(event.get("httpMethod", ""))
    resource = str(event.get("resource", ""))
    allowed = access.methods_of(resource)
    path = str(event.get("path", ""))
    if allowed and method.upper() not in allowed:
        # An ANY route: a path the API has, a method it does not take there. No route runs.
        if access.route_of_path(access.ANY_METHOD, path) == resource:
            return method_not_allowed(method, path, allowed)
        return gateway_error(403, access.FORBIDDEN)
    # The scopes were checked for `resource`; the resolver runs what `path` says.
    if access.route_of_path(method, path) != resource:
        return gateway_error(403, access.FORBIDDEN)
    if access.is_public(method, resource):
        return None
    if found is None:
        return gateway_error(401, access.UNAUTHORIZED)
    if not access.admits(found.scopes, method, resource):
        return gateway_error(403, access.FORBIDDEN)
    return None


def method_not_allowed(method: str, path: str, allowed: list[str]) -> dict[str, Any]:
    answer = proxy_error(
        405, "METHOD_NOT_ALLOWED", f"{path} takes {', '.join(allowed)}, not {method}", "method"
    )
    answer["headers"]["Allow"] = ", ".join(allowed)
    return answer


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Every line of this request carries its request id (correlation_id) and channel; never
    # the token, headers or body.
    found = access.caller_from_claims(claims_of(event))
    logger.append_keys(channel=found.channel if found else ANONYMOUS)
    # Refused before Powertools parses anything: no token, too few scopes, then size,
    # encoding, nesting, content type.
    response = authorize(event, found) or request_guard.refuse(
        event, route_dependencies.settings.max_body_bytes
    )
    if response is None:
        lazy_routers.include_for(app, str(event.get("resource", "")))
        app.context[route_dependencies.CALLER] = found  # resolve() clears the context after
        response = app.resolve(request_guard.with_canonical_content_type(event), context)
    logger.info(
        "request",
        extra={
            "method": event.get("httpMethod"),
            "resource": event.get("resource"),
            "status": response.get("statusCode"),
        },
    )
    return response


# See the top of this module: what init built is never collected, and is never scanned.
gc.freeze()
gc.enable()
