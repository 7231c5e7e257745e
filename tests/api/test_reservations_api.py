"""The HTTP contract of the core service, on both engines."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

import api_function
from local.apigw import LambdaContext, proxy_event
from reservations import access
from reservations.clock import ManualClock
from reservations.config import MAX_LINES
from tests.support.api_client import DEFAULT_IDENTITY, HandlerClient
from tests.support.invariants import check_invariants


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


class TestReserve:
    def test_holds_every_item_and_reports_it(self, api: HandlerClient, clock: ManualClock) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-2", "WH1", 3)
        response = api.post(
            "/reservations",
            {
                "id": "checkout-1",
                "orderId": "order-9",
                "expiresInSeconds": 600,
                "items": [line("SKU-1", 2), line("SKU-2", 3)],
            },
        )
        assert response.status == 201, response.text
        body = response.json
        assert body["id"] == "checkout-1"
        assert body["status"] == "ACTIVE"
        assert body["orderId"] == "order-9"
        assert body["channel"] == "storefront"
        assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("SKU-1", 2), ("SKU-2", 3)]
        assert body["expiresAt"] > body["createdAt"]
        assert [(i["held"], i["released"], i["consumed"]) for i in body["items"]] == [
            (2, 0, 0),
            (3, 0, 0),
        ]
        one = inventory(api, "SKU-1")
        assert (one["onHand"], one["reserved"], one["available"]) == (5, 2, 3)
        two = inventory(api, "SKU-2")
        assert (two["onHand"], two["reserved"], two["available"]) == (3, 3, 0)

    def test_generates_a_sortable_id_when_none_is_given(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "SKU-1", "WH1", 10)
        first = api.post("/reservations", {"items": [line("SKU-1", 1)]}).json["id"]
        clock.advance(1)
        second = api.post("/reservations", {"items": [line("SKU-1", 1)]}).json["id"]
        assert first != second
        assert first < second
        assert api.get(f"/reservations/{first}").status == 200

    def test_all_or_nothing_names_every_short_item_with_its_availability(
        self, api: HandlerClient
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-2", "WH1", 1)
        response = api.post(
            "/reservations",
            {
                "items": [
                    line("SKU-1", 6),
                    line("SKU-2", 1),
                    line("GHOST", 1),
                    line("SKU-2", 2, "WH9"),
                ]
            },
        )
        assert response.status == 409, response.text
        body = response.json
        assert body["error"] == "INSUFFICIENT_STOCK"
        assert body["items"] == [
            {"sku": "SKU-1", "location": "WH1", "requested": 6, "available": 5},
            {"sku": "GHOST", "location": "WH1", "requested": 1, "available": 0},
            {"sku": "SKU-2", "location": "WH9", "requested": 2, "available": 0},
        ]
        # Nothing was held, not even the line that had stock.
        assert inventory(api, "SKU-2")["reserved"] == 0
        assert inventory(api, "SKU-1")["reserved"] == 0

    def test_the_last_unit_goes_once(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 1)
        assert api.post("/reservations", {"items": [line("SKU-1", 1)]}).status == 201
        second = api.post("/reservations", {"items": [line("SKU-1", 1)]})
        assert second.status == 409
        assert second.json["items"][0]["available"] == 0

    def test_allow_oversell_holds_below_zero(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 1)
        response = api.post(
            "/reservations",
            {
                "items": [
                    line("SKU-1", 3, allowOversell=True),
                    line("NEW-SKU", 2, allowOversell=True),
                ]
            },
        )
        assert response.status == 201, response.text
        one = inventory(api, "SKU-1")
        assert (one["onHand"], one["reserved"], one["available"]) == (1, 3, -2)
        new = inventory(api, "NEW-SKU")
        assert (new["onHand"], new["reserved"], new["available"]) == (0, 2, -2)

    def test_oversell_line_does_not_excuse_a_short_strict_line(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 1)
        stock(api, "SKU-2", "WH1", 0)
        response = api.post(
            "/reservations", {"items": [line("SKU-1", 5, allowOversell=True), line("SKU-2", 1)]}
        )
        assert response.status == 409
        assert [i["sku"] for i in response.json["items"]] == ["SKU-2"]
        assert inventory(api, "SKU-1")["reserved"] == 0


class TestIdempotency:
    def test_same_id_and_body_returns_the_same_reservation_and_holds_nothing_more(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        request = {"id": "checkout-7", "items": [line("SKU-1", 2)]}
        first = api.post("/reservations", request)
        clock.advance(30)
        again = api.post("/reservations", request)
        assert (first.status, again.status) == (201, 200)
        assert again.json == first.json
        assert inventory(api, "SKU-1")["reserved"] == 2

    def test_same_id_with_a_different_body_is_a_conflict(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 5)
        assert api.post("/reservations", {"id": "c-1", "items": [line("SKU-1", 2)]}).status == 201
        other = api.post("/reservations", {"id": "c-1", "items": [line("SKU-1", 3)]})
        assert other.status == 409
        assert other.json["error"] == "IDEMPOTENCY_CONFLICT"
        assert inventory(api, "SKU-1")["reserved"] == 2

    def test_replay_after_cancel_returns_the_cancelled_reservation(
        self, api: HandlerClient
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        request = {"id": "c-2", "items": [line("SKU-1", 2)]}
        api.post("/reservations", request)
        api.delete("/reservations/c-2")
        replay = api.post("/reservations", request)
        assert replay.status == 200
        assert replay.json["status"] == "CANCELLED"
        assert inventory(api, "SKU-1")["reserved"] == 0


class TestReadAndCancel:
    def test_get_unknown_is_404(self, api: HandlerClient) -> None:
        response = api.get("/reservations/nope")
        assert response.status == 404
        assert response.json["error"] == "NOT_FOUND"

    def test_cancel_releases_once(
        self, api: HandlerClient, engine_client: Any, engine_table: str
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-1", "WH2", 5)
        api.post(
            "/reservations", {"id": "c-3", "items": [line("SKU-1", 2), line("SKU-1", 4, "WH2")]}
        )
        first = api.delete("/reservations/c-3")
        assert first.status == 200
        assert first.json["status"] == "CANCELLED"
        again = api.delete("/reservations/c-3")
        assert again.status == 200
        assert again.json["status"] == "CANCELLED"
        assert [(i["held"], i["released"]) for i in first.json["items"]] == [(0, 2), (0, 4)]
        totals = inventory(api, "SKU-1")
        assert (totals["onHand"], totals["reserved"], totals["available"]) == (10, 0, 10)
        assert api.get("/reservations/c-3").json["status"] == "CANCELLED"
        check_invariants(engine_client, engine_table)

    def test_cancel_unknown_is_404(self, api: HandlerClient) -> None:
        assert api.delete("/reservations/nope").status == 404


class TestInventory:
    def test_lists_locations_and_totals(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-1", "STORE-7", 2)
        body = inventory(api, "SKU-1")
        assert body["sku"] == "SKU-1"
        assert {loc["location"]: loc["onHand"] for loc in body["locations"]} == {
            "WH1": 5,
            "STORE-7": 2,
        }
        assert (body["onHand"], body["reserved"], body["available"]) == (7, 0, 7)

    def test_unknown_sku_is_404(self, api: HandlerClient) -> None:
        assert api.get("/inventory/NOPE").status == 404

    def test_setting_on_hand_keeps_holds(
        self, api: HandlerClient, engine_client: Any, engine_table: str
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        api.post("/reservations", {"items": [line("SKU-1", 4)]})
        response = api.put("/inventory/SKU-1/locations/WH1", {"onHand": 2})
        assert response.status == 200
        assert (response.json["onHand"], response.json["reserved"], response.json["available"]) == (
            2,
            4,
            -2,
        )
        check_invariants(engine_client, engine_table)


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


def test_a_created_reservation_says_where_it_is(api: HandlerClient) -> None:
    assert api.put("/inventory/LOC-A/locations/WH1", {"onHand": 2}).status == 200
    body = {"id": "loc-1", "items": [{"sku": "LOC-A", "location": "WH1", "quantity": 1}]}
    created = api.post("/reservations", body)
    assert created.status == 201
    assert created.headers["Location"] == "/reservations/loc-1"
    assert api.get(created.headers["Location"]).json["id"] == "loc-1"


def test_the_location_keeps_the_stage_the_client_called(api: HandlerClient) -> None:
    """Through the execute-api URL the client calls /<stage>/reservations: so does Location."""
    assert api.put("/inventory/LOC-B/locations/WH1", {"onHand": 2}).status == 200
    body = {"id": "loc-2", "items": [{"sku": "LOC-B", "location": "WH1", "quantity": 1}]}
    claims = {"claims": DEFAULT_IDENTITY.claims()}
    event = proxy_event(
        "POST",
        "/reservations",
        {"Content-Type": "application/json"},
        json.dumps(body),
        authorizer=claims,
    )
    event["requestContext"]["path"] = "/prod/reservations"
    result = api_function.lambda_handler(event, LambdaContext())
    assert result["statusCode"] == 201
    headers = {
        **(result.get("headers") or {}),
        **{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()},
    }
    assert headers["Location"] == "/prod/reservations/loc-2"


class TestDocuments:
    def test_openapi_document_describes_the_routes(self, api: HandlerClient) -> None:
        response = api.get("/openapi.json")
        assert response.status == 200
        document = response.json
        assert document["openapi"].startswith("3.")
        assert {
            "/reservations",
            "/reservations/{reservation_id}",
            "/inventory/{sku}",
            "/inventory/{sku}/locations/{location}",
        } <= set(document["paths"])
        schemas = document["components"]["schemas"]
        assert "CreateReservationRequest" in schemas
        assert schemas["ReservationItemRequest"]["additionalProperties"] is False

    def test_swagger_ui(self, api: HandlerClient) -> None:
        response = api.get("/swagger")
        assert response.status == 200
        assert "swagger-ui" in response.text.lower()

    def test_the_served_document_is_valid_openapi(self, api: HandlerClient) -> None:
        document = api.get("/openapi.json").json
        validate(document)  # openapi-spec-validator: every $ref resolves, every field is known
        refs = json.dumps(document).count('"$ref": "#/components/schemas/')
        assert refs > 0

    def test_the_swagger_page_links_to_its_document_as_json(self, api: HandlerClient) -> None:
        assert "?format=json" in api.get("/swagger").text
        linked = api.get("/swagger", query={"format": "json"})
        assert linked.status == 200
        assert linked.headers["Content-Type"] == "application/json"
        assert linked.json == api.get("/openapi.json").json

    def test_every_operation_has_a_stable_id_a_tag_and_a_summary(self, api: HandlerClient) -> None:
        operations = {
            (method.upper(), path): operation
            for path, item in api.get("/openapi.json").json["paths"].items()
            for method, operation in item.items()
        }
        assert {key: op["operationId"] for key, op in operations.items()} == {
            ("POST", "/reservations"): "createReservation",
            ("GET", "/reservations"): "listReservations",
            ("GET", "/reservations/{reservation_id}"): "getReservation",
            ("DELETE", "/reservations/{reservation_id}"): "cancelReservation",
            ("POST", "/reservations/{reservation_id}/confirm"): "confirmReservation",
            ("POST", "/reservations/{reservation_id}/extend"): "extendReservation",
            ("POST", "/reservations/{reservation_id}/release"): "releaseReservation",
            ("POST", "/reservations/{reservation_id}/fulfill"): "fulfillReservation",
            ("PUT", "/reservations/{reservation_id}/items"): "changeReservationItems",
            ("GET", "/inventory/{sku}"): "getInventory",
            ("GET", "/inventory/{sku}/reservations"): "listHoldsOnSku",
            ("GET", "/inventory/{sku}/locations/{location}"): "getStockLevel",
            ("PUT", "/inventory/{sku}/locations/{location}"): "setOnHand",
            ("GET", "/inventory/{sku}/locations/{location}/movements"): "listStockMovements",
            ("GET", "/locations"): "listLocations",
            ("GET", "/locations/{location}"): "getLocation",
            ("PUT", "/locations/{location}"): "registerLocation",
            ("POST", "/availability"): "getAvailability",
            ("PUT", "/labels/{label}"): "putLabel",
            ("GET", "/labels/{label}"): "getLabel",
            ("GET", "/skus/{sku}/labels"): "listSkuLabels",
            ("POST", "/reservations/{reservation_id}/labels/{label}/release"): (
                "releaseReservationLabel"
            ),
            ("GET", "/health"): "getHealth",
            ("GET", "/operations/drift"): "runDriftCheck",
            ("GET", "/operations/dead-letters"): "listDeadLetters",
            ("POST", "/operations/dead-letters/{message_id}/redrive"): "redriveDeadLetter",
            ("GET", "/console"): "getConsole",
            ("GET", "/console/{asset}"): "getConsoleAsset",
        }
        tags = (["Reservations"], ["Inventory"], ["Labels"], ["Operations"], ["Console"])
        for key, operation in operations.items():
            assert operation["tags"] in tags, key
            assert operation["summary"] and operation["description"], key
            assert operation["summary"].split()[0] not in ("GET", "POST", "PUT", "DELETE"), key

    def test_documented_lifetime_is_the_one_the_service_applies(self, api: HandlerClient) -> None:
        schemas = api.get("/openapi.json").json["components"]["schemas"]
        maximum = schemas["ExtendReservationRequest"]["properties"]["expiresInSeconds"]["maximum"]
        assert maximum == 30 * 24 * 3600
        stock = api.put("/inventory/LIFE/locations/WH1", {"onHand": 1})
        assert stock.status == 200
        body = {"items": [{"sku": "LIFE", "location": "WH1", "quantity": 1}]}
        assert api.post("/reservations", {**body, "expiresInSeconds": maximum}).status == 201
        too_long = api.post("/reservations", {**body, "expiresInSeconds": maximum + 1})
        assert too_long.status == 400
        assert too_long.json["details"][0]["field"] == "body.expiresInSeconds"

    def test_every_mutation_documents_its_idempotency_key(self, api: HandlerClient) -> None:
        paths = api.get("/openapi.json").json["paths"]
        mutations = [
            (path, method, operation)
            for path, item in paths.items()
            for method, operation in item.items()
            if method in ("post", "put", "delete")
            and (method.upper(), path) not in access.READS_WITH_A_BODY
        ]
        assert len(mutations) >= 8
        for path, method, operation in mutations:
            headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
            assert "Idempotency-Key" in headers, (method, path)
            assert {"409", "422"} <= set(operation["responses"]), (method, path)
            unsafe = "Without an Idempotency-Key a repeat applies again."
            assert (unsafe in operation["description"]) == (
                (method, path) != ("post", "/reservations")
            ), (method, path)

    def test_a_read_with_a_body_documents_no_idempotency_key(self, api: HandlerClient) -> None:
        paths = api.get("/openapi.json").json["paths"]
        for method, path in access.READS_WITH_A_BODY:
            operation = paths[path][method.lower()]
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" not in headers, (method, path)
            assert not {"409", "422"} & set(operation["responses"]), (method, path)
            assert "A read" in operation["description"], (method, path)

    def test_locally_swagger_offers_a_bearer_field_for_make_token(self, api: HandlerClient) -> None:
        document = api.get("/openapi.json").json
        bearer = document["components"]["securitySchemes"]["localBearer"]
        assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
        assert "make token" in document["info"]["description"]
        create = document["paths"]["/reservations"]["post"]
        assert {"localBearer": []} in create["security"]


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
