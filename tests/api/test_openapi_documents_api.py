"""The HTTP contract of the core service, on both engines: the OpenAPI document and the
Swagger page it serves."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from reservations import access
from tests.support.api_client import HandlerClient


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
