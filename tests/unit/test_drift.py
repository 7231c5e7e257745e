from __future__ import annotations

from typing import Any

from reservations.drift import check_table
from reservations.http.models import CreateReservationRequest
from reservations.records import Location
from reservations.service import ReservationService
from reservations.store.keys import location_key, stock_key


def test_clean_table_reports_no_drift(
    service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    service.set_on_hand("A", "WH1", 5)
    service.reserve(
        CreateReservationRequest.model_validate(
            {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
        ).to_command(),
        "default",
    )
    report = check_table(moto_client, moto_table)
    assert report.ok, report.problems
    assert report.held == {("A", "WH1"): 2}


def test_a_counter_changed_behind_the_service_is_reported(
    service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    service.set_on_hand("A", "WH1", 5)
    service.reserve(
        CreateReservationRequest.model_validate(
            {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
        ).to_command(),
        "default",
    )
    moto_client.update_item(
        TableName=moto_table,
        Key=stock_key("A", "WH1"),
        UpdateExpression="SET reserved = :r",
        ExpressionAttributeValues={":r": {"N": "7"}},
    )
    problems = check_table(moto_client, moto_table).problems
    assert any("reserved 7 but live lines hold 2" in p for p in problems)
    assert any("available 3 != supply 5 (onHand) - reserved 7" in p for p in problems)


def test_an_allocated_line_at_an_unregistered_location_is_drift(
    service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    service.locations.register(Location("WH1", country="FR", priority=1, active=True))
    service.set_on_hand("A", "WH1", 5)
    placed = service.reserve(
        CreateReservationRequest.model_validate(
            {"items": [{"sku": "A", "quantity": 2}], "shipTo": {"address": {"country": "FR"}}}
        ).to_command(),
        "default",
    ).reservation
    assert [(x.location, x.allocated) for x in placed.lines] == [("WH1", True)]
    report = check_table(moto_client, moto_table)
    assert (report.problems, report.warnings) == ([], [])
    # Behind the service's back: the registration is gone, and stock sits elsewhere.
    moto_client.delete_item(TableName=moto_table, Key=location_key("WH1"))
    moto_client.put_item(
        TableName=moto_table,
        Item={**stock_key("A", "WH9"), "entity": {"S": "stock"}, "sku": {"S": "A"},
              "location": {"S": "WH9"}, "onHand": {"N": "1"}, "reserved": {"N": "0"},
              "available": {"N": "1"}},
    )  # fmt: skip
    report = check_table(moto_client, moto_table)
    assert any("WH1: allocated to a location that is not registered" in p for p in report.problems)
    assert report.warnings == [
        "stock at WH1 but the location network does not list it",
        "stock at WH9 but the location network does not list it",
    ]
