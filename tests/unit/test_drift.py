from __future__ import annotations

from typing import Any

from reservations.drift import check_table
from reservations.http.models import CreateReservationRequest
from reservations.service import ReservationService
from reservations.store.keys import stock_key


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
    assert any("available 3 != onHand 5 - reserved 7" in p for p in problems)
