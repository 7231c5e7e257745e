"""The API documents: no token, and only where API_DOCS_ENABLED is true (template
parameter EnableApiDocs: off in deployed stages unless turned on)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from error_handlers import unknown_route
from reservations.http import docs
from route_dependencies import CurrentSettings

router = Router()


def _app() -> APIGatewayRestResolver:
    resolver = router.api_resolver
    assert isinstance(resolver, APIGatewayRestResolver), "docs_routes is not included in an app"
    return resolver


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
