"""Serialized labels through the real handler, on both engines (issue 16): a reserve holds
labels whole, all or nothing, checks label lines before anything is written, and names at
most what one transaction carries. The drift check, extended to labels, is clean after
every test."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_client import ADMIN, HandlerClient
from tests.support.label_requests import (
    CALL_CENTRE,
    STOREFRONT,
    hold,
    label,
    level,
    no_drift,  # noqa: F401  (autouse: the drift check)
    put_label,
)

# --- reserving labels -------------------------------------------------------------------


def test_a_reserve_holds_each_label_whole_at_its_true_quantity(api: HandlerClient) -> None:
    put_label(api, "L-1", 5)
    put_label(api, "L-2", 1)
    created = hold(api, "r1", ["L-1", "L-2"], quantity=2)
    assert created.status == 201, created.text
    [item] = created.json["items"]
    assert (item["quantity"], item["held"]) == (6, 6)  # the labels', whatever was asked
    assert [(x["label"], x["quantity"], x["held"]) for x in item["labels"]] == [
        ("L-1", 5, True),
        ("L-2", 1, True),
    ]
    assert level(api) == (6, 6, 0)
    mine = label(api, "L-1")
    assert (mine["status"], mine["reservationId"]) == ("RESERVED", "r1")
    theirs = label(api, "L-1", CALL_CENTRE)
    assert theirs["status"] == "RESERVED" and "reservationId" not in theirs
    assert label(api, "L-1", ADMIN)["reservationId"] == "r1"


def test_labels_not_active_here_refuse_the_whole_reserve(api: HandlerClient) -> None:
    put_label(api, "L-1", 1)
    put_label(api, "L-2", 1)
    put_label(api, "L-3", 1, sku="OTHER")
    assert api.put("/inventory/CNT/locations/WH1", {"onHand": 5}).status == 200
    assert hold(api, "r1", ["L-1"]).status == 201
    items = [
        {"sku": "CNT", "location": "WH1", "quantity": 2},
        {"sku": "SER", "location": "WH1", "labels": ["L-1", "L-2", "L-3", "L-404"]},
    ]
    refused = api.as_(CALL_CENTRE).post("/reservations", {"id": "r2", "items": items})
    assert (refused.status, refused.json["error"]) == (409, "LABEL_UNAVAILABLE"), refused.text
    assert refused.json["labels"] == [
        {"label": "L-1", "status": "RESERVED", "sku": "SER", "location": "WH1"},
        {"label": "L-3", "status": "ACTIVE", "sku": "OTHER", "location": "WH1"},
        {"label": "L-404", "status": None},
    ]
    # All or nothing: neither the counted line nor L-2 was taken.
    assert level(api, "CNT") == (5, 0, 5) and label(api, "L-2")["status"] == "ACTIVE"


def test_a_quantity_line_on_labelled_stock_needs_labels(api: HandlerClient) -> None:
    put_label(api, "L-1", 3)
    line = {"sku": "SER", "location": "WH1", "quantity": 1}
    refused = api.post("/reservations", {"items": [line]})
    assert (refused.status, refused.json["error"]) == (409, "LABELS_REQUIRED"), refused.text
    oversell = api.post("/reservations", {"items": [{**line, "allowOversell": True}]})
    assert oversell.json["error"] == "LABELS_REQUIRED"
    assert level(api) == (3, 0, 3)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": "SER", "labels": ["L-1"]}, "body.items[0].labels"),  # no location
        ({"sku": "SER", "location": "WH1"}, "body.items[0].quantity"),  # neither
        ({"sku": "SER", "location": "WH1", "labels": ["L-1"], "allowOversell": True}, None),
        ({"sku": "SER", "location": "WH1", "labels": [f"L-{i}" for i in range(97)]}, None),
    ],
)
def test_label_lines_are_checked_before_anything_is_written(
    api: HandlerClient, line: dict[str, Any], field: str | None
) -> None:
    put_label(api, "L-1", 1)
    refused = api.post("/reservations", {"items": [line]})
    assert (refused.status, refused.json["error"]) == (400, "VALIDATION_ERROR"), refused.text
    if field is not None:
        assert refused.json["details"][0]["field"] == field
    assert level(api) == (1, 0, 1)


def test_a_label_is_named_once_and_a_request_names_what_one_transaction_carries(
    api: HandlerClient,
) -> None:
    put_label(api, "L-1", 1)
    put_label(api, "L-2", 1, location="WH2")
    twice = [
        {"sku": "SER", "location": "WH1", "labels": ["L-1"]},
        {"sku": "SER", "location": "WH2", "labels": ["L-2", "L-1"]},
    ]
    refused = api.post("/reservations", {"items": twice})
    assert refused.status == 400 and "items[1] names label 'L-1' of items[0]" in refused.text
    # Two lines: 100 - 2 - 2 * 2 = 94 labels at most, over both.
    many = [
        {"sku": "SER", "location": "WH1", "labels": [f"A-{i}" for i in range(50)]},
        {"sku": "SER", "location": "WH2", "labels": [f"B-{i}" for i in range(45)]},
    ]
    too_many = api.post("/reservations", {"items": many})
    assert too_many.status == 400 and "names at most 94" in too_many.text
    assert level(api) == (1, 0, 1)


def test_as_many_labels_as_one_transaction_carries(api: HandlerClient) -> None:
    names = [f"L-{i}" for i in range(96)]
    for name in names:
        put_label(api, name, 1)
    created = hold(api, "r1", names)
    assert created.status == 201, created.text
    assert level(api) == (96, 96, 0)
    assert api.as_(STOREFRONT).delete("/reservations/r1").status == 200
    assert level(api) == (96, 0, 96)
