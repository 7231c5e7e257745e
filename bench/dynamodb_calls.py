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
from reservations.http.models import ChangeItemsRequest, CreateReservationRequest
from reservations.service import ReservationService
from reservations.store.search import HeaderQuery

from .options import Options
from .report import Section, Table, Target
from .stack import Stack, client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NAME = "dynamodb-calls"
TITLE = "DynamoDB requests per operation"
LOCATION = "WH1"
HEADERS = {"Content-Type": "application/json"}


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


@dataclass(frozen=True, slots=True)
class Names:
    """The SKUs and ids one path works on, so the two paths never share state."""

    prefix: str

    @property
    def sku(self) -> str:
        return f"{self.prefix}-MUG"

    @property
    def other_sku(self) -> str:
        return f"{self.prefix}-PLATE"

    @property
    def idle_sku(self) -> str:
        """Stocked and never held: a refusal here has no expired hold to look for."""
        return f"{self.prefix}-BOWL"

    @property
    def reservation(self) -> str:
        return f"{self.prefix}-order-1"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}-order-2"

    @property
    def unknown(self) -> str:
        return f"{self.prefix}-never-made"

    @property
    def order(self) -> str:
        return f"{self.prefix}-o-1"

    def granted_body(self) -> dict[str, Any]:
        return {
            "id": self.reservation,
            "orderId": self.order,
            "items": [
                {"sku": self.sku, "location": LOCATION, "quantity": 2},
                {"sku": self.other_sku, "location": LOCATION, "quantity": 2},
            ],
        }

    def rejected_body(self) -> dict[str, Any]:
        return {
            "id": self.rejected,
            "items": [{"sku": self.idle_sku, "location": LOCATION, "quantity": 1_000}],
        }

    def rejected_both_body(self) -> dict[str, Any]:
        return {
            "id": f"{self.rejected}-both",
            "items": [
                {"sku": self.idle_sku, "location": LOCATION, "quantity": 1_000},
                {"sku": self.idle_sku, "location": "WH-NONE", "quantity": 1},
            ],
        }

    def rejected_held_body(self) -> dict[str, Any]:
        return {
            "id": f"{self.rejected}-held",
            "items": [
                {"sku": self.sku, "location": LOCATION, "quantity": 1_000},
                {"sku": self.other_sku, "location": LOCATION, "quantity": 1_000},
            ],
        }

    def cart_body(self) -> dict[str, Any]:
        """The granted cart with one line grown by one."""
        grown = self.granted_body()["items"]
        return {"items": [{**grown[0], "quantity": 3}, grown[1]]}

    def release_body(self) -> dict[str, Any]:
        return {"items": [{"sku": self.other_sku, "location": LOCATION, "quantity": 1}]}


ServiceCall = Callable[[ReservationService, Names], object]
KEYED = {**HEADERS, "Idempotency-Key": "bench-release-1"}


@dataclass(frozen=True, slots=True)
class Operation:
    label: str
    route: str  # "METHOD /template", as the table shows it
    path: Callable[[Names], str]
    body: Callable[[Names], dict[str, Any] | None]
    status: int  # what the handler must answer
    call: ServiceCall | None  # the same operation on the service; None: the API's alone
    limit: int | None = None  # at most this many requests, or the run fails
    headers: dict[str, str] | None = None

    @property
    def method(self) -> str:
        return self.route.split()[0]


def _reserve(body: Callable[[Names], dict[str, Any]]) -> ServiceCall:
    def call(service: ReservationService, names: Names) -> object:
        return service.reserve(
            CreateReservationRequest.model_validate(body(names)).to_command(), "default"
        )

    return call


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "PUT inventory (set onHand)",
        "PUT /inventory/{sku}/locations/{location}",
        lambda n: f"/inventory/{n.sku}/locations/{LOCATION}",
        lambda n: {"onHand": 10},
        200,
        lambda s, n: s.set_on_hand(n.sku, LOCATION, 10),
    ),
    Operation(
        "POST reservation, granted (2 lines)",
        "POST /reservations",
        lambda n: "/reservations",
        Names.granted_body,
        201,
        _reserve(Names.granted_body),
        limit=1,
    ),
    Operation(
        "POST reservation, rejected (insufficient stock, nothing held there)",
        "POST /reservations",
        lambda n: "/reservations",
        Names.rejected_body,
        409,
        _reserve(Names.rejected_body),
        limit=1,
    ),
    Operation(
        "POST reservation, rejected on both of 2 lines (one an unknown location)",
        "POST /reservations",
        lambda n: "/reservations",
        Names.rejected_both_body,
        409,
        _reserve(Names.rejected_both_body),
        limit=1,
    ),
    Operation(
        "POST reservation, rejected on 2 skus where live holds exist",
        "POST /reservations",
        lambda n: "/reservations",
        Names.rejected_held_body,
        409,
        _reserve(Names.rejected_held_body),
        # The transaction, then one Query per short sku for expired holds to release.
        limit=3,
    ),
    Operation(
        "POST reservation, identical replay",
        "POST /reservations",
        lambda n: "/reservations",
        Names.granted_body,
        200,
        _reserve(Names.granted_body),
    ),
    Operation(
        "PUT reservation items (cart update, a line grows)",
        "PUT /reservations/{id}/items",
        lambda n: f"/reservations/{n.reservation}/items",
        Names.cart_body,
        200,
        lambda s, n: s.change_items(
            n.reservation, ChangeItemsRequest.model_validate(n.cart_body()).to_command()
        ),
        limit=2,  # the read, then one transaction
    ),
    Operation(
        "GET reservations by order (a search page)",
        "GET /reservations?orderId=",
        lambda n: f"/reservations?orderId={n.order}",
        lambda n: None,
        200,
        lambda s, n: s.search.find(HeaderQuery("default", n.order)),
        limit=1,
    ),
    Operation(
        "POST release with an Idempotency-Key",
        "POST /reservations/{id}/release",
        lambda n: f"/reservations/{n.reservation}/release",
        Names.release_body,
        200,
        None,
        limit=3,  # the key's claim, the read, one transaction carrying the answer
        headers=KEYED,
    ),
    Operation(
        "the same release replayed (same key and body)",
        "POST /reservations/{id}/release",
        lambda n: f"/reservations/{n.reservation}/release",
        Names.release_body,
        200,
        None,
        limit=1,  # the claim finds the answer: nothing else is read or written
        headers=KEYED,
    ),
    Operation(
        "GET reservation",
        "GET /reservations/{id}",
        lambda n: f"/reservations/{n.reservation}",
        lambda n: None,
        200,
        lambda s, n: s.get(n.reservation),
        limit=1,
    ),
    Operation(
        "GET reservation, unknown id",
        "GET /reservations/{id}",
        lambda n: f"/reservations/{n.unknown}",
        lambda n: None,
        404,
        lambda s, n: s.get(n.unknown),
    ),
    Operation(
        "GET inventory",
        "GET /inventory/{sku}",
        lambda n: f"/inventory/{n.sku}",
        lambda n: None,
        200,
        lambda s, n: s.inventory(n.sku),
    ),
    Operation(
        "DELETE reservation (cancel)",
        "DELETE /reservations/{id}",
        lambda n: f"/reservations/{n.reservation}",
        lambda n: None,
        200,
        lambda s, n: s.cancel(n.reservation),
    ),
    Operation(
        "DELETE reservation again (already cancelled)",
        "DELETE /reservations/{id}",
        lambda n: f"/reservations/{n.reservation}",
        lambda n: None,
        200,
        lambda s, n: s.cancel(n.reservation),
    ),
)


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
    dynamodb = client(stack.endpoint)
    counter = RequestCounter(dynamodb)
    service = build_service(Settings(table_name=table_name), dynamodb)
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
