"""Routers included in the app on the first request for one of their routes: the
operator's (dead letters, drift, the console), the labels' and the movement ledger's.
Nearly every request comes from a shopper or a channel selling counted stock, and none
of those should pay for importing them at cold start (docs/performance.md, "Cold
start"). The API document includes them all before it is generated.
"""

from __future__ import annotations

import importlib
import threading

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

# A resource path's start -> the module whose ``router`` serves every route under it.
ROUTERS = (
    ("/operations/", "operations_routes"),
    ("/console", "console_routes"),
    ("/labels/", "label_routes"),
    ("/skus/", "label_routes"),
    ("/reservations/{reservation_id}/labels/", "label_routes"),
    ("/inventory/{sku}/locations/{location}/movements", "movement_routes"),
)
MODULES = frozenset(module for _, module in ROUTERS)

_included: set[str] = set()
_including = threading.Lock()  # the local stack serves requests from threads


def module_for(resource: str) -> str | None:
    """The lazy router's module that serves ``resource``; None for one included at init."""
    return next((module for start, module in ROUTERS if resource.startswith(start)), None)


def include_for(app: APIGatewayRestResolver, resource: str) -> None:
    """Include the router that serves ``resource`` (e.g. ``/operations/drift``), if it is a
    lazy router not yet included."""
    module = module_for(resource)
    if module is not None and module not in _included:
        _include(app, module)


def include_all(app: APIGatewayRestResolver) -> APIGatewayRestResolver:
    for module in sorted(MODULES):
        _include(app, module)
    return app


def _include(app: APIGatewayRestResolver, module: str) -> None:
    with _including:
        if module not in _included:
            app.include_router(importlib.import_module(module).router)
            _included.add(module)
