"""What the hold-lifecycle API tests share: stocking, reserving and reading holds over HTTP,
and the scheduled event and Lambda context the sweeper is invoked with."""

from __future__ import annotations

from typing import Any

from local.apigw import LambdaContext
from tests.support.api_client import HandlerClient


def stock(api: HandlerClient, sku: str, on_hand: int, location: str = "WH1") -> None:
    assert api.put(f"/inventory/{sku}/locations/{location}", {"onHand": on_hand}).status == 200


def reserve(api: HandlerClient, rid: str, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    body = {
        "id": rid,
        "items": [{"sku": s, "location": "WH1", "quantity": q} for s, q in lines],
        **extra,
    }
    response = api.post("/reservations", body)
    assert response.status == 201, response.text
    result: dict[str, Any] = response.json
    return result


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-11-25T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/sweep"],
        "detail": {},
    }


class Countdown(LambdaContext):
    """A Lambda context whose time left changes only when the test says so."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__("sweeper", timeout_seconds)
        self.remaining_ms = int(timeout_seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def level(api: HandlerClient, sku: str) -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}").json
    return body["onHand"], body["reserved"], body["available"]


def lines(body: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [(i["sku"], i["held"], i["released"], i["consumed"]) for i in body["items"]]
