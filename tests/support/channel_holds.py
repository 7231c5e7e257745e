"""What the channel and scope tests of the API act with: the channels, the storefront's hold
on SKU-A (the ``held`` fixture of tests/api/conftest.py places it) and the stock level."""

from __future__ import annotations

from tests.support.api_client import HandlerClient, Identity

STOREFRONT = Identity("storefront")
CALL_CENTRE = Identity("callcentre")
HOLD = {"id": "hold-1", "items": [{"sku": "SKU-A", "location": "WH1", "quantity": 2}]}
LINE = {"sku": "SKU-A", "location": "WH1", "quantity": 1}


def level(api: HandlerClient) -> tuple[int, int, int]:
    body = api.get("/inventory/SKU-A").json
    return body["onHand"], body["reserved"], body["available"]
