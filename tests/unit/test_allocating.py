"""Reserving without a location on moto in-process: what it costs in DynamoDB requests, and
planning again when stock moves between the read and the write."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.errors import InsufficientStock
from reservations.http.models import CreateReservationRequest
from reservations.records import Location
from reservations.service import ReservationService

WAREHOUSES = ("WH-A", "WH-B", "WH-C")


@pytest.fixture
def network(service: ReservationService) -> ReservationService:
    for priority, name in enumerate(WAREHOUSES, start=1):
        service.locations.register(
            Location(name, country="FR", priority=priority, active=True, ships_to=("FR",))
        )
    for sku in ("A", "B", "C"):
        for name in WAREHOUSES:
            service.set_on_hand(sku, name, 5)
    service.locations.network()  # as a warm execution environment has it
    return service


@pytest.fixture
def sent(moto_client: Any) -> list[str]:
    calls: list[str] = []
    moto_client.meta.events.register(
        "before-send.dynamodb", lambda event_name, **_: calls.append(event_name.rsplit(".")[-1])
    )
    return calls


def cart(*items: tuple[str, int], **extra: Any) -> Any:
    body = {
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        "shipTo": {"address": {"country": "FR"}},
        **extra,
    }
    return CreateReservationRequest.model_validate(body).to_command()


def test_a_three_line_cart_costs_one_read_and_one_transaction(
    network: ReservationService, sent: list[str]
) -> None:
    reservation = network.reserve(cart(("A", 1), ("B", 2), ("C", 3)), "web").reservation
    assert sent == ["BatchGetItem", "TransactWriteItems"]
    assert {line.location for line in reservation.lines} == {"WH-A"}


def test_stock_taken_between_the_read_and_the_write_is_planned_around(
    network: ReservationService, moto_client: Any, sent: list[str]
) -> None:
    taken = []

    def take_first(event_name: str, **_: Any) -> None:
        if not taken:  # the first plan (WH-A) loses its stock just before it is written
            taken.append(True)
            network.set_on_hand("A", "WH-A", 0)

    moto_client.meta.events.register("before-send.dynamodb.TransactWriteItems", take_first)
    reservation = network.reserve(cart(("A", 2), ("B", 1)), "web").reservation
    assert {line.location for line in reservation.lines} == {"WH-B"}
    # The refused transaction returned WH-A as it was: the second plan needed no read.
    assert [x for x in sent if x != "UpdateItem"] == [
        "BatchGetItem",
        "TransactWriteItems",
        "TransactWriteItems",
    ]
    assert network.get(reservation.id) == reservation
    levels = {x.location: x.reserved for x in network.inventory("A").locations}
    assert levels == {"WH-A": 0, "WH-B": 2, "WH-C": 0}


def test_a_refusal_reads_nothing_more_where_nothing_is_held(
    network: ReservationService, sent: list[str]
) -> None:
    with pytest.raises(InsufficientStock):
        network.reserve(cart(("A", 6)), "web")
    assert sent == ["BatchGetItem"]  # the plan failed from the read: nothing written


def test_availability_of_100_skus_over_3_locations_is_three_reads(
    network: ReservationService, sent: list[str]
) -> None:
    target = network.locations.target(country="FR")
    found = network.locations.availability([f"S{i}" for i in range(97)] + ["A", "B", "C"], target)
    assert sent == ["BatchGetItem"] * 3
    assert found[-1] == ("C", 15, (("WH-A", 5), ("WH-B", 5), ("WH-C", 5)))


def test_the_location_list_is_read_once_per_cache_time(
    network: ReservationService, sent: list[str], clock: Any
) -> None:
    network.reserve(cart(("A", 1)), "web")
    clock.advance(29)
    network.reserve(cart(("A", 1)), "web")
    clock.advance(1)
    network.reserve(cart(("A", 1)), "web")
    assert sent.count("Query") == 1


def test_a_cart_update_that_grows_a_location_less_line_costs_three(
    network: ReservationService, sent: list[str]
) -> None:
    from reservations.http.models import ChangeItemsRequest

    placed = network.reserve(cart(("A", 1), allowSplit=True), "web").reservation
    sent.clear()
    grown = ChangeItemsRequest.model_validate({"items": [{"sku": "A", "quantity": 7}]})
    after = network.change_items(placed.id, grown.to_command())
    # The hold, its candidates' stock, the transaction: WH-A has 4 more, WH-B the rest.
    assert sent == ["Query", "BatchGetItem", "TransactWriteItems"]
    assert [(x.location, x.held) for x in after.lines] == [("WH-A", 5), ("WH-B", 2)]


def test_without_split_a_line_grows_only_where_it_is_held(network: ReservationService) -> None:
    from reservations.http.models import ChangeItemsRequest

    placed = network.reserve(cart(("A", 1)), "web").reservation
    grown = ChangeItemsRequest.model_validate({"items": [{"sku": "A", "quantity": 5}]})
    assert [x.held for x in network.change_items(placed.id, grown.to_command()).lines] == [5]
    more = ChangeItemsRequest.model_validate({"items": [{"sku": "A", "quantity": 6}]})
    with pytest.raises(InsufficientStock) as short:
        network.change_items(placed.id, more.to_command())
    assert short.value.items[0].locations == (("WH-A", 0),)


def test_a_location_less_line_grows_on_a_sharded_record(network: ReservationService) -> None:
    from reservations.http.models import ChangeItemsRequest

    placed = network.reserve(cart(("A", 1)), "web").reservation
    network.sharding.reshard("A", "WH-A", 4)  # 4 left over 4 buckets: 1 in the record
    grown = ChangeItemsRequest.model_validate({"items": [{"sku": "A", "quantity": 4}]})
    after = network.change_items(placed.id, grown.to_command())  # 3 more: moved in first
    assert [(x.location, x.held) for x in after.lines] == [("WH-A", 4)]
    assert network.stock_level("A", "WH-A").available == 1
