"""What the serialized-label API tests share: the channels they act as, the drift check run
after each of their tests (``no_drift``, autouse where imported), and putting, holding and
reading labels over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.api_client import HandlerClient, Identity
from tests.support.invariants import check_invariants

STOREFRONT = Identity("storefront")
CALL_CENTRE = Identity("callcentre")


@pytest.fixture(autouse=True)
def no_drift(engine_client: Any, engine_table: str) -> Iterator[None]:
    yield
    check_invariants(engine_client, engine_table)


def put_label(api: HandlerClient, name: str, quantity: int, **where: str) -> dict[str, Any]:
    body = {"sku": where.get("sku", "SER"), "location": where.get("location", "WH1")}
    response = api.put(f"/labels/{name}", {**body, "quantity": quantity})
    assert response.status in (200, 201), response.text
    found: dict[str, Any] = response.json
    return found


def level(api: HandlerClient, sku: str = "SER", location: str = "WH1") -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}/locations/{location}").json
    return body["onHand"], body["reserved"], body["available"]


def hold(api: HandlerClient, rid: str, labels: list[str], **extra: Any) -> Any:
    line = {"sku": "SER", "location": "WH1", "labels": labels, **extra}
    return api.as_(STOREFRONT).post("/reservations", {"id": rid, "items": [line]})


def label(api: HandlerClient, name: str, who: Identity = STOREFRONT) -> dict[str, Any]:
    response = api.as_(who).get(f"/labels/{name}")
    assert response.status == 200, response.text
    found: dict[str, Any] = response.json
    return found
