"""PUT /reservations/{id}/items: a live hold follows the cart, in one transaction, on both
engines."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from tests.support.api_client import HandlerClient, Identity
from tests.support.invariants import check_invariants


def stock(api: HandlerClient, sku: str, on_hand: int) -> None:
    assert api.put(f"/inventory/{sku}/locations/WH1", {"onHand": on_hand}).status == 200


def level(api: HandlerClient, sku: str) -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}").json
    return body["onHand"], body["reserved"], body["available"]


def item(sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "location": "WH1", "quantity": quantity, **extra}


def lines(body: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    """sku -> (quantity, held, released, consumed)."""
    return {
        i["sku"]: (i["quantity"], i["held"], i["released"], i["consumed"]) for i in body["items"]
    }


@pytest.fixture
def cart(api: HandlerClient) -> HandlerClient:
    stock(api, "A", 10)
    stock(api, "B", 10)
    stock(api, "C", 3)
    placed = api.post("/reservations", {"id": "c1", "items": [item("A", 2), item("B", 2)]})
    assert placed.status == 201
    return api


def change(api: HandlerClient, body: dict[str, Any], rid: str = "c1") -> Any:
    return api.put(f"/reservations/{rid}/items", body)


def test_lines_grow_shrink_leave_and_join_in_one_step(
    cart: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    response = change(cart, {"items": [item("A", 5), item("C", 1)]})
    assert response.status == 200, response.text
    assert lines(response.json) == {"A": (5, 5, 0, 0), "B": (0, 0, 2, 0), "C": (1, 1, 0, 0)}
    assert level(cart, "A") == (10, 5, 5)
    assert level(cart, "B") == (10, 0, 10)
    assert level(cart, "C") == (3, 1, 2)
    assert cart.get("/reservations/c1").json == response.json
    check_invariants(engine_client, engine_table)


def test_shrinking_reports_what_it_gave_back(cart: HandlerClient) -> None:
    response = change(cart, {"items": [item("A", 1), item("B", 2)]})
    assert lines(response.json)["A"] == (1, 1, 1, 0)
    assert level(cart, "A") == (10, 1, 9)
    grown = change(cart, {"items": [item("A", 4), item("B", 2)]})
    assert lines(grown.json)["A"] == (4, 4, 1, 0)
    assert level(cart, "A") == (10, 4, 6)


def test_a_short_line_changes_nothing_and_names_every_short_line(
    cart: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    before = cart.get("/reservations/c1").json
    response = change(cart, {"items": [item("A", 11), item("B", 1), item("C", 4)]})
    assert response.status == 409, response.text
    assert response.json["error"] == "INSUFFICIENT_STOCK"
    short = {(i["sku"], i["requested"], i["available"]) for i in response.json["items"]}
    assert short == {("A", 9, 8), ("C", 4, 3)}  # how much more each needed, and had
    assert cart.get("/reservations/c1").json == before
    assert (level(cart, "A"), level(cart, "B"), level(cart, "C")) == (
        (10, 2, 8),
        (10, 2, 8),
        (3, 0, 3),
    )
    check_invariants(engine_client, engine_table)


def test_the_same_cart_again_changes_nothing(cart: HandlerClient) -> None:
    first = change(cart, {"items": [item("A", 3), item("B", 2)]})
    again = change(cart, {"items": [item("B", 2), item("A", 3)]})
    assert first.status == again.status == 200
    assert lines(again.json) == lines(first.json)
    assert level(cart, "A") == (10, 3, 7)


def test_shipped_goods_stay_shipped(cart: HandlerClient) -> None:
    assert cart.post("/reservations/c1/fulfill", {"items": [item("A", 1)]}).status == 200
    # A leaves the cart: it keeps what shipped and gives back the rest.
    left = change(cart, {"items": [item("B", 2)]})
    assert lines(left.json)["A"] == (1, 0, 1, 1)
    assert level(cart, "A") == (9, 0, 9)
    # Back in the cart for 3: what shipped counts, 2 more are held.
    back = change(cart, {"items": [item("A", 3), item("B", 2)]})
    assert lines(back.json)["A"] == (3, 2, 1, 1)
    assert level(cart, "A") == (9, 2, 7)


def test_asking_for_less_than_shipped_is_a_400(cart: HandlerClient) -> None:
    assert cart.post("/reservations/c1/fulfill", {"items": [item("A", 2)]}).status == 200
    refused = change(cart, {"items": [item("A", 1), item("B", 2)]})
    assert refused.status == 400
    assert refused.json["details"][0]["field"] == "body.items[0].quantity"
    assert level(cart, "A") == (8, 0, 8)


def test_expiry_and_order_may_change_with_the_cart(cart: HandlerClient, clock: ManualClock) -> None:
    before = cart.get("/reservations/c1").json
    clock.advance(100)
    response = change(
        cart, {"items": [item("A", 2), item("B", 2)], "expiresInSeconds": 1800, "orderId": "o-9"}
    )
    assert response.status == 200
    assert response.json["orderId"] == "o-9"
    assert response.json["expiresAt"] > before["expiresAt"]


def test_a_confirmed_hold_follows_the_cart_but_has_no_expiry_to_change(
    cart: HandlerClient,
) -> None:
    assert cart.post("/reservations/c1/confirm").status == 200
    assert change(cart, {"items": [item("A", 4)]}).json["status"] == "CONFIRMED"
    refused = change(cart, {"items": [item("A", 4)], "expiresInSeconds": 60})
    assert refused.status == 400
    assert refused.json["details"][0]["field"] == "body.expiresInSeconds"


@pytest.mark.parametrize("ended", ["cancel", "expire"])
def test_an_ended_hold_cannot_change(cart: HandlerClient, clock: ManualClock, ended: str) -> None:
    if ended == "cancel":
        assert cart.delete("/reservations/c1").status == 200
    else:
        clock.advance(3600)
    refused = change(cart, {"items": [item("A", 1)]})
    assert refused.status == 409
    assert refused.json["error"] == "INVALID_STATE"
    assert level(cart, "A")[1] == (0 if ended == "cancel" else 2)


def test_another_channels_hold_is_unknown(cart: HandlerClient) -> None:
    other = cart.as_(Identity("marketplace"))
    assert change(other, {"items": [item("A", 1)]}).status == 404
    assert level(cart, "A") == (10, 2, 8)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "body.items"),
        ({"items": [item("A", 1), item("A", 2)]}, "body.items"),
        ({"items": [item("A", 0)]}, "body.items[0].quantity"),
        ({"items": [item("A", 1)], "extra": 1}, "body.extra"),
    ],
)
def test_bad_carts_are_400s_naming_the_field(
    cart: HandlerClient, body: dict[str, Any], field: str
) -> None:
    response = change(cart, body)
    assert response.status == 400, response.text
    assert response.json["details"][0]["field"] == field
    assert level(cart, "A") == (10, 2, 8)


def test_a_line_with_allow_oversell_needs_the_scope(cart: HandlerClient) -> None:
    no_oversell = cart.as_(Identity("storefront", ("reservations/write", "inventory/read")))
    refused = change(no_oversell, {"items": [item("A", 30, allowOversell=True)]})
    assert refused.status == 403
    assert refused.json["details"][0]["field"] == "body.items[0].allowOversell"
    assert level(cart, "A") == (10, 2, 8)


def test_the_cart_update_replays_by_idempotency_key(cart: HandlerClient) -> None:
    body = {"items": [item("A", 6), item("B", 2)]}
    first = cart.put("/reservations/c1/items", body, headers={"Idempotency-Key": "cart-1"})
    again = cart.put("/reservations/c1/items", body, headers={"Idempotency-Key": "cart-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.text == first.text
    assert level(cart, "A") == (10, 6, 4)


def test_an_oversell_line_grows_past_stock_within_the_bound(
    cart: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    oversold = change(cart, {"items": [item("C", 5, allowOversell=True)]})  # C has 3
    assert oversold.status == 200, oversold.text
    assert level(cart, "C") == (3, 5, -2)
    check_invariants(engine_client, engine_table)
