"""Serialized labels through the real handler, on both engines (issue 16): labels are the
stock of their (sku, location), a location is counted or labelled, and a SKU's labels page
by location and status. The drift check, extended to labels, is clean after every test."""

from __future__ import annotations

from tests.support.api_client import HandlerClient
from tests.support.label_requests import (
    hold,
    level,
    no_drift,  # noqa: F401  (autouse: the drift check)
    put_label,
)

# --- labels are stock -------------------------------------------------------------------


def test_labels_make_up_their_stock_record(api: HandlerClient) -> None:
    created = api.put("/labels/L-1", {"sku": "SER", "location": "WH1", "quantity": 5, "bin": "A1"})
    assert created.status == 201, created.text
    assert created.json["status"] == "ACTIVE" and created.json["bin"] == "A1"
    put_label(api, "L-2", 3)
    assert level(api) == (8, 0, 8)
    moved = api.put("/labels/L-2", {"sku": "SER", "location": "WH2", "quantity": 4})
    assert moved.status == 200, moved.text
    assert (level(api), level(api, location="WH2")) == ((5, 0, 5), (4, 0, 4))
    same = api.put("/labels/L-2", {"sku": "SER", "location": "WH2", "quantity": 4})
    assert (same.status, same.json["updatedAt"]) == (200, moved.json["updatedAt"])


def test_a_location_is_counted_or_labelled_not_both(api: HandlerClient) -> None:
    assert api.put("/inventory/CNT/locations/WH1", {"onHand": 4}).status == 200
    refused = api.put("/labels/L-1", {"sku": "CNT", "location": "WH1", "quantity": 1})
    assert (refused.status, refused.json["error"]) == (409, "STOCK_COUNTED")
    put_label(api, "L-2", 2)
    counted = api.put("/inventory/SER/locations/WH1", {"onHand": 9})
    assert (counted.status, counted.json["error"]) == (409, "STOCK_SERIALIZED")
    assert level(api) == (2, 0, 2) and level(api, "CNT") == (4, 0, 4)
    # A counted record that holds nothing may turn to labels.
    assert api.put("/inventory/EMPTY/locations/WH1", {"onHand": 0}).status == 200
    put_label(api, "L-3", 1, sku="EMPTY")
    assert level(api, "EMPTY") == (1, 0, 1)


def test_a_skus_labels_page_by_location_and_status(api: HandlerClient) -> None:
    for name, location in (("A-1", "WH1"), ("A-2", "WH1"), ("A-3", "WH2"), ("A-4", "WH10")):
        put_label(api, name, 1, location=location)
    assert hold(api, "r1", ["A-2"]).status == 201
    listed = api.get("/skus/SER/labels").json
    assert [x["label"] for x in listed["labels"]] == ["A-1", "A-2", "A-4", "A-3"]
    assert "reservationId" not in listed["labels"][1]  # a listing shows stock, not holders
    at_wh1 = api.get("/skus/SER/labels", query={"location": "WH1"}).json["labels"]
    assert [x["label"] for x in at_wh1] == ["A-1", "A-2"]  # never WH10's
    active = api.get("/skus/SER/labels", query={"location": "WH1", "status": "ACTIVE"}).json
    assert [x["label"] for x in active["labels"]] == ["A-1"]
    first = api.get("/skus/SER/labels", query={"limit": "3"}).json
    rest = api.get("/skus/SER/labels", query={"limit": "3", "nextToken": first["nextToken"]})
    assert [x["label"] for x in first["labels"] + rest.json["labels"]] == [
        "A-1", "A-2", "A-4", "A-3",
    ]  # fmt: skip
    forged = api.get("/skus/OTHER/labels", query={"limit": "3", "nextToken": first["nextToken"]})
    assert (forged.status, forged.json["error"]) == (400, "VALIDATION_ERROR")
