"""Requests of the core service's HTTP contract tests: stock a record, write a line, read a
SKU's inventory."""

from __future__ import annotations

from typing import Any

from tests.support.api_client import HandlerClient


def stock(api: HandlerClient, sku: str, location: str, on_hand: int) -> None:
    response = api.put(f"/inventory/{sku}/locations/{location}", {"onHand": on_hand})
    assert response.status == 200, response.text


def line(sku: str, quantity: int, location: str = "WH1", **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "location": location, "quantity": quantity, **extra}


def inventory(api: HandlerClient, sku: str) -> dict[str, Any]:
    response = api.get(f"/inventory/{sku}")
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json
    return body
