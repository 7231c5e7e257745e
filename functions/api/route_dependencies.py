"""What the routes are given: settings, the service and the verified caller.

Built once per execution environment, at init. Routes take them as Powertools
``Depends()`` parameters, so tests swap them through ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler.depends import Depends

from reservations import access
from reservations.bootstrap import build_service
from reservations.config import Settings
from reservations.service import ReservationService

CALLER = "caller"  # the key of the verified caller in the resolver's per-request context

settings = Settings.from_env()
_service = build_service(settings)


def get_settings() -> Settings:
    return settings


def get_service() -> ReservationService:
    return _service


_operations: Any = None


def get_operations() -> Any:
    """The operator routes' service (reservations.operations), built on first use: its SQS
    client and module are not worth a cold start of every environment."""
    global _operations
    if _operations is None:
        from reservations.bootstrap import build_operations

        _operations = build_operations(settings)
    return _operations


def get_caller(request: Request) -> access.Caller:
    """The verified caller of this request: lambda_handler read it from the claims, refused
    any request to a route without one, and handed it over in the resolver's context."""
    found: access.Caller = request.context[CALLER]
    return found


Service = Annotated[ReservationService, Depends(get_service)]
CurrentSettings = Annotated[Settings, Depends(get_settings)]
Caller = Annotated[access.Caller, Depends(get_caller)]
# reservations.operations.Operations; typed loosely so this module need not import it.
Operations = Annotated[Any, Depends(get_operations)]
