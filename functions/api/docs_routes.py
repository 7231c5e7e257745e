"""Routes that need no token: the health check, and the API documents (only where
API_DOCS_ENABLED is true; template parameter EnableApiDocs: off in deployed stages unless
turned on)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

import lazy_routers
from error_handlers import unknown_route
from openapi_responses import documented
from reservations.http import docs
from reservations.http.models import HealthResponse
from route_dependencies import CurrentSettings

router = Router()


def _app() -> APIGatewayRestResolver:
    resolver = router.api_resolver
    assert isinstance(resolver, APIGatewayRestResolver), "docs_routes is not included in an app"
    return lazy_routers.include_all(resolver)  # the document lists every route


@router.get("/openapi.json", include_in_schema=False)
def openapi_document(settings: CurrentSettings) -> Response[Any]:
    if not settings.api_docs_enabled:
        return unknown_route()
    return Response(
        status_code=200, content_type="application/json", body=docs.openapi_json(_app())
    )


@router.get("/swagger", include_in_schema=False)
def swagger_ui(settings: CurrentSettings) -> Response[Any]:
    if not settings.api_docs_enabled:
        return unknown_route()
    # The page links to itself with ?format=json for the document it shows.
    if router.current_event.get_query_string_value("format") == "json":
        return openapi_document(settings)
    return Response(status_code=200, content_type="text/html", body=docs.swagger_html(_app()))


@router.get(
    "/health",
    operation_id="getHealth",
    summary="Is the API up",
    description=(
        "No token: for load balancers and smoke tests. It answers from the function alone "
        "(no table read), with the deployed version."
    ),
    tags=["Operations"],
    responses={200: documented("The function answers", HealthResponse)},
)
def health(settings: CurrentSettings) -> HealthResponse:
    return HealthResponse(status="ok", version=settings.service_version)
