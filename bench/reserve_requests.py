"""What the throughput bench sends: each thread's carts (located, and left to the service
to place), the raw transaction captured from the service, and POST /reservations over HTTP."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from reservations.bootstrap import build_service
from reservations.config import Settings
from reservations.http.models import CreateReservationRequest

from .capture import capture

LOCATION = "WH1"
WAREHOUSES = ("WH-FR-1", "WH-FR-2", "WH-FR-3")
LINES_PER_RESERVATION = 2
TEMPLATE_ID = "BENCHTEMPLATE0RESERVATION0ID"
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def skus(thread: int) -> list[str]:
    return [f"BENCH-T{thread:02d}-{line}" for line in range(LINES_PER_RESERVATION)]


def unlocated_skus(thread: int) -> list[str]:
    return [f"BENCH-U{thread:02d}-{line}" for line in range(LINES_PER_RESERVATION)]


def request_body(thread: int, reservation_id: str) -> dict[str, Any]:
    return {
        "id": reservation_id,
        "items": [{"sku": sku, "location": LOCATION, "quantity": 1} for sku in skus(thread)],
    }


def unlocated_body(thread: int, reservation_id: str) -> dict[str, Any]:
    """The same cart, its locations left to the service: one warehouse serves it whole."""
    return {
        "id": reservation_id,
        "items": [{"sku": sku, "quantity": 1} for sku in unlocated_skus(thread)],
        "shipTo": {"address": {"country": "FR"}},
    }


# --- the raw transaction ------------------------------------------------------------------


def capture_transaction(endpoint: str, table_name: str, thread: int) -> dict[str, Any]:
    """The TransactWriteItems parameters the service sends for this thread's request."""
    request = CreateReservationRequest.model_validate(
        request_body(thread, TEMPLATE_ID)
    ).to_command()
    return capture(
        endpoint,
        lambda dynamodb: build_service(Settings(table_name=table_name), dynamodb).reserve(
            request, "default"
        ),
    )


def describe_transaction(params: dict[str, Any]) -> str:
    kinds: dict[str, int] = {}
    for item in params["TransactItems"]:
        for kind in item:
            kinds[kind] = kinds.get(kind, 0) + 1
    parts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return f"{len(params['TransactItems'])} items ({parts})"


# --- the API over HTTP --------------------------------------------------------------------


class ApiReserve:
    """``POST /reservations`` on one keep-alive connection; anything but 201 is an error."""

    def __init__(
        self,
        url: str,
        thread: int,
        body: Callable[[int, str], dict[str, Any]] = request_body,
    ) -> None:
        split = urlsplit(url)
        self._connection = http.client.HTTPConnection(
            split.hostname or "127.0.0.1", split.port, timeout=30
        )
        self._thread = thread
        self._body = body
        # The local authorizer wants a token, as API Gateway does; verifying it is part of
        # what an API request costs here.
        from local.auth import issue_token

        token = issue_token("bench", ["reservations/write"], ttl_seconds=6 * 3600)
        self._headers = {**HEADERS, "Authorization": f"Bearer {token}"}

    def __call__(self) -> None:
        body = json.dumps(self._body(self._thread, uuid.uuid4().hex)).encode()
        try:
            self._connection.request("POST", "/reservations", body=body, headers=self._headers)
            response = self._connection.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError):
            self._connection.close()  # reopened by the next request
            raise
        if response.status != 201:
            raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")

    def close(self) -> None:
        self._connection.close()
