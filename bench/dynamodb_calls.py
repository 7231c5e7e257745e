"""DynamoDB requests per API operation, counted on the wire with botocore events.

Every operation runs twice against DynamoDB Local, on separate SKUs and ids: once as a
direct call of the service (``build_service(settings, client)``) and once through
``api_function.lambda_handler`` with the proxy event API Gateway would send, its
``service`` swapped for one on the counting client. Equal counts show the handler path
(Powertools routing, validation, presenters) adds no DynamoDB request. Idempotency keys
live in the API alone: their rows count the handler path only.

A ``before-send`` handler sees every HTTP request botocore makes, retries included.
Granted and rejected reserves and reading a reservation must each cost exactly one
request; more fails the run. One refusal costs more by design: where live holds exist on
a short (sku, location), the service first looks for expired holds to release there (one
Query per short sku on the per-sku index), so an expired hold never blocks a sale.

A line on serialized labels (issue 16) is one transaction when the environment knows the
labels' quantities or they are single units (serial numbers); labels of more units that it
never saw cost one more, the refusal that tells their true count.

A reserve that names no location (issue 14) reads its candidates' stock first: a 3-line
cart costs 2 (one BatchGetItem, one transaction) and ``POST /availability`` for 100 skus
over 3 locations at most 3; both with the location list already cached, as a warm
execution environment has it (it is read at most every LOCATIONS_CACHE_SECONDS).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

from local.apigw import LambdaContext, proxy_event
from reservations import access
from reservations.bootstrap import build_service
from reservations.config import Settings
from reservations.errors import DomainError
from reservations.labelling import LabelWrite
from reservations.records import Location
from reservations.service import ReservationService

from .dynamodb_operations import (
    HEADERS,
    LOCATION,
    OPERATIONS,
    PALLET,
    WAREHOUSES,
    Names,
    Operation,
)
from .options import Options
from .report import Section, Table, Target
from .stack import Stack, client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NAME = "dynamodb-calls"
TITLE = "DynamoDB requests per operation"


class RequestCounter:
    """Counts the HTTP requests a client sends, by operation name."""

    def __init__(self, dynamodb: DynamoDBClient) -> None:
        self.sent: list[str] = []
        dynamodb.meta.events.register("before-send.dynamodb", self._on_send)

    def _on_send(self, event_name: str, **_: Any) -> None:
        # Returning anything but None here would replace the response: never do.
        self.sent.append(event_name.rsplit(".", 1)[-1])

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.sent = []
        yield self.sent


@dataclass(slots=True)
class Counted:
    operation: Operation
    service_calls: list[str] = field(default_factory=list)
    service_outcome: str = ""
    handler_calls: list[str] = field(default_factory=list)
    handler_status: int = 0

    @property
    def within_limit(self) -> bool:
        limit = self.operation.limit
        return limit is None or max(len(self.service_calls), len(self.handler_calls)) <= limit


@contextlib.contextmanager
def _handler_service(service: ReservationService) -> Iterator[Callable[..., Any]]:
    """``api_function.lambda_handler`` with the service its routes are given swapped for
    ``service`` (Powertools' dependency overrides)."""
    import api_function  # builds its own client at import; replaced for the duration
    import route_dependencies

    overrides = api_function.app.dependency_overrides
    with mock.patch.dict(overrides, {route_dependencies.get_service: lambda: service}):
        yield api_function.lambda_handler


def _invoke(handler: Callable[..., Any], operation: Operation, names: Names) -> int:
    from local.auth import api_gateway_claims, token_claims

    body = operation.body(names)
    # What API Gateway's authorizer passes on: a channel with every scope but admin.
    scopes = [
        access.RESERVATIONS_READ,
        access.RESERVATIONS_WRITE,
        access.INVENTORY_READ,
        access.INVENTORY_WRITE,
    ]
    headers = operation.headers or (HEADERS if body is not None else None)
    event = proxy_event(
        operation.method,
        operation.path(names),
        headers,
        json.dumps(body) if body is not None else None,
        authorizer={"claims": api_gateway_claims(token_claims("bench", scopes))},
    )
    response = handler(event, LambdaContext())
    status: int = response["statusCode"]
    return status


def _register_network(service: ReservationService) -> None:
    """The French warehouses, and the location the other rows use (in Britain, so France
    has 3 locations); then the list read once, as a warm execution environment has it."""
    for priority, name in enumerate(WAREHOUSES, start=1):
        service.locations.register(Location(name, country="FR", priority=priority, active=True))
    service.locations.register(Location(LOCATION, country="GB", priority=1, active=True))
    service.locations.network()


def _seed_labels(stack: Stack, table_name: str, names: tuple[Names, ...]) -> None:
    """Labels written by another execution environment: the one counted never saw them."""
    elsewhere = build_service(Settings(table_name=table_name), client(stack.endpoint))
    for n in names:
        for kind, quantity in (("SN", 1), ("PAL", PALLET)):
            for label in n.labels(kind):
                elsewhere.labels.put(LabelWrite(label, n.labelled_sku, LOCATION, quantity))


def run(stack: Stack, options: Options) -> Section:
    del options  # nothing to tune: each operation runs once per path
    table_name = stack.new_table(NAME)
    service_names, handler_names = Names("SVC"), Names("API")
    stack.seed(
        table_name,
        {
            key: 10
            for n in (service_names, handler_names)
            for key in ((n.other_sku, LOCATION), (n.idle_sku, LOCATION))
        },
    )
    stack.seed(
        table_name,
        {
            (sku, warehouse): 10
            for n in (service_names, handler_names)
            for sku in n.cart_skus()
            for warehouse in WAREHOUSES
        },
    )
    _seed_labels(stack, table_name, (service_names, handler_names))
    dynamodb = client(stack.endpoint)
    counter = RequestCounter(dynamodb)
    service = build_service(Settings(table_name=table_name), dynamodb)
    _register_network(service)
    results = [Counted(operation) for operation in OPERATIONS]
    for result in results:
        call = result.operation.call
        if call is None:
            continue
        with counter.counting() as sent:
            try:
                call(service, service_names)
                result.service_outcome = "ok"
            except DomainError as error:
                result.service_outcome = type(error).__name__
        result.service_calls = list(sent)
    with _handler_service(service) as handler:
        for result in results:
            with counter.counting() as sent:
                result.handler_status = _invoke(handler, result.operation, handler_names)
            result.handler_calls = list(sent)
    return _section(results)


def _section(results: list[Counted]) -> Section:
    section = Section(NAME, TITLE)
    section.summary = [
        "Requests counted with a botocore `before-send.dynamodb` handler (retries would count "
        "too), once calling the service directly and once through `lambda_handler` with an "
        "API Gateway proxy event, on DynamoDB Local.",
    ]
    rows = []
    for r in results:
        limit = r.operation.limit
        rows.append(
            [
                r.operation.label,
                f"`{r.operation.route}`",
                f"{r.handler_status}"
                + (
                    ""
                    if r.handler_status == r.operation.status
                    else f" (expected {r.operation.status})"
                ),
                f"**{len(r.handler_calls)}**",
                str(len(r.service_calls)) if r.operation.call is not None else "(API only)",
                " + ".join(r.handler_calls) or "-",
                "-" if limit is None else f"<= {limit}",
            ]
        )
    section.tables.append(
        Table(
            [
                "operation",
                "request",
                "status",
                "DynamoDB requests (handler)",
                "same via service",
                "calls",
                "limit",
            ],
            rows,
        )
    )
    for r in results:
        if r.operation.limit is not None:
            section.targets.append(
                Target(
                    r.operation.label,
                    f"<= {r.operation.limit}",
                    str(max(len(r.handler_calls), len(r.service_calls))),
                    r.within_limit,
                    hard=True,
                )
            )
    same = all(r.handler_calls == r.service_calls for r in results if r.operation.call is not None)
    section.targets.append(
        Target(
            "handler path adds no DynamoDB request",
            "handler = service",
            "equal" if same else "differs",
            same,
            hard=True,
        )
    )
    statuses = all(r.handler_status == r.operation.status for r in results)
    section.targets.append(
        Target(
            "every operation answers as expected",
            "status as listed",
            "yes" if statuses else "no",
            statuses,
            hard=True,
        )
    )
    return section
