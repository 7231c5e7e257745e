"""The HTTP contract of the core service, on both engines: what it refuses (bodies, paths and
content it cannot take, methods a path does not serve, routes it does not know), and
/health."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.config import MAX_LINES
from tests.support.api_client import HandlerClient
from tests.support.reservation_requests import line


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"items": [{"sku": "S", "location": "L", "quantity": 0}]}, "body.items[0].quantity"),
            ({"items": [{"sku": "S", "location": "L", "quantity": -1}]}, "body.items[0].quantity"),
            ({"items": [{"sku": "S", "location": "L", "quantity": 1.5}]}, "body.items[0].quantity"),
            ({"items": [{"sku": "S", "location": "L", "quantity": "2"}]}, "body.items[0].quantity"),
            (
                {"items": [{"sku": "S", "location": "L", "quantity": True}]},
                "body.items[0].quantity",
            ),
            (
                {"items": [{"sku": "S", "location": "L", "quantity": 2**63}]},
                "body.items[0].quantity",
            ),
            (
                {"items": [{"sku": "S", "location": "L", "quantity": 1, "colour": "red"}]},
                "body.items[0].colour",
            ),
            ({"items": [], "id": "x"}, "body.items"),
            ({"id": "x"}, "body.items"),
            ({"items": [{"sku": "S#1", "location": "L", "quantity": 1}]}, "body.items[0].sku"),
            ({"items": [{"sku": "S" * 65, "location": "L", "quantity": 1}]}, "body.items[0].sku"),
            ({"items": [{"sku": "S", "location": "a/b", "quantity": 1}]}, "body.items[0].location"),
            (
                {"id": "has space", "items": [{"sku": "S", "location": "L", "quantity": 1}]},
                "body.id",
            ),
            ({"id": "x" * 65, "items": [{"sku": "S", "location": "L", "quantity": 1}]}, "body.id"),
            (
                {"items": [{"sku": "S", "location": "L", "quantity": 1}], "expiresInSeconds": 0},
                "body.expiresInSeconds",
            ),
            (
                {
                    "items": [{"sku": "S", "location": "L", "quantity": 1}],
                    "expiresInSeconds": 10**9,
                },
                "body.expiresInSeconds",
            ),
            (
                {
                    "items": [
                        {"sku": "S", "location": "L", "quantity": 1},
                        {"sku": "S", "location": "L", "quantity": 2},
                    ]
                },
                "body.items",
            ),
            (
                {
                    "items": [
                        {"sku": f"S{i}", "location": "L", "quantity": 1}
                        for i in range(MAX_LINES + 1)
                    ]
                },
                "body.items",
            ),
            ([], "body"),
        ],
    )
    def test_reserve_rejects_with_the_field_and_reason(
        self, api: HandlerClient, body: Any, field: str
    ) -> None:
        response = api.post("/reservations", body)
        assert response.status == 400, response.text
        payload = response.json
        assert payload["error"] == "VALIDATION_ERROR"
        assert field in [detail["field"] for detail in payload["details"]], payload
        assert all(detail["reason"] for detail in payload["details"])

    def test_the_largest_allowed_cart_fits_one_transaction(self, api: HandlerClient) -> None:
        items = [line(f"S{i}", 1, allowOversell=True) for i in range(MAX_LINES)]
        assert api.post("/reservations", {"items": items}).status == 201

    def test_malformed_json_names_the_position(self, api: HandlerClient) -> None:
        response = api.post("/reservations", body='{"items": [')
        assert response.status == 400
        assert response.json["error"] == "MALFORMED_JSON"
        assert "character" in response.json["message"]

    def test_body_too_large(self, api: HandlerClient) -> None:
        response = api.post("/reservations", body='{"id": "' + "x" * 70_000 + '"}')
        assert response.status == 413
        assert response.json["error"] == "PAYLOAD_TOO_LARGE"

    def test_deeply_nested_json(self, api: HandlerClient) -> None:
        response = api.post("/reservations", body="[" * 5000 + "]" * 5000)
        assert response.status == 400
        assert response.json["error"] == "MALFORMED_JSON"

    def test_non_utf8_body(self, api: HandlerClient) -> None:
        response = api.post("/reservations", body=b'{"id": "\xff\xfe"}')
        assert response.status == 400
        assert response.json["error"] == "MALFORMED_BODY"

    def test_unsupported_content_type(self, api: HandlerClient) -> None:
        response = api.post(
            "/reservations",
            body="id=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 415

    @pytest.mark.parametrize(
        "body",
        [
            {"onHand": -1},
            {"onHand": 1.0},
            {"onHand": "3"},
            {},
            {"onHand": 1, "x": 1},
            {"onHand": 10**13},
        ],
    )
    def test_set_on_hand_rejects(self, api: HandlerClient, body: Any) -> None:
        response = api.put("/inventory/SKU-1/locations/WH1", body)
        assert response.status == 400, response.text
        assert response.json["details"][0]["field"].startswith("body")

    @pytest.mark.parametrize(
        "path", ["/reservations/" + "x" * 65, "/reservations/bad%20id", "/inventory/a%25b"]
    )
    def test_malformed_path_ids(self, api: HandlerClient, path: str) -> None:
        response = api.get(path)
        assert response.status == 400
        assert response.json["details"][0]["field"].startswith("path.")

    def test_a_route_the_function_does_not_know_is_403_even_with_claims(
        self, api: HandlerClient
    ) -> None:
        # Fails closed: what it cannot map to its table of scopes it never runs.
        response = api.get("/nowhere")
        assert (response.status, response.json) == (403, {"message": "Forbidden"})


class TestOtherMethodsAndHealth:
    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("PATCH", "/reservations", "GET, POST"),
            ("PUT", "/reservations/r1", "DELETE, GET"),
            ("GET", "/reservations/r1/confirm", "POST"),
            ("DELETE", "/inventory/SKU-1/locations/WH1", "GET, PUT"),
            ("POST", "/health", "GET"),
        ],
    )
    def test_an_unsupported_method_on_a_path_is_405_with_allow(
        self, api: HandlerClient, method: str, path: str, allow: str
    ) -> None:
        response = api.as_(None).request(method, path)  # no token: it runs no route
        assert response.status == 405, response.text
        assert response.headers["Allow"] == allow
        assert response.json["error"] == "METHOD_NOT_ALLOWED"

    def test_an_unknown_path_is_still_refused(self, api: HandlerClient) -> None:
        assert api.request("PATCH", "/nowhere").status in (403, 404)

    def test_health_needs_no_token_and_names_the_version(self, api: HandlerClient) -> None:
        response = api.as_(None).get("/health")
        assert response.status == 200
        assert response.json == {"status": "ok", "version": "unversioned"}
