"""The operator-only routers (dead letters, drift, the console), included in the app on the
first request for one of them: nearly every request comes from a shopper or a channel, and
none of those should pay for importing them at cold start (docs/performance.md, "Cold
start"). The API document includes them all before it is generated.
"""

from __future__ import annotations

import importlib
import threading

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

# First segment of a resource path -> the module whose ``router`` serves it.
MODULES = {"operations": "operations_routes", "console": "console_routes"}

_included: set[str] = set()
_including = threading.Lock()  # the local stack serves requests from threads


def include_for(app: APIGatewayRestResolver, resource: str) -> None:
    """Include the router that serves ``resource`` (e.g. ``/operations/drift``), if it is an
    operator router not yet included."""
    module = MODULES.get(resource.lstrip("/").split("/", 1)[0])
    if module is not None and module not in _included:
        _include(app, module)


def include_all(app: APIGatewayRestResolver) -> APIGatewayRestResolver:
    for module in MODULES.values():
        _include(app, module)
    return app


def _include(app: APIGatewayRestResolver, module: str) -> None:
    with _including:
        if module not in _included:
            app.include_router(importlib.import_module(module).router)
            _included.add(module)
