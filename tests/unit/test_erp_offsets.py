"""ERP offsets where a hold has more than one line, or one already emptied, and where
locations share a prefix; receipts kept as long as the retention says (moto in-process)."""

from __future__ import annotations

from typing import Any

from reservations.clock import ManualClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.config import ERP_RECEIPT_RETENTION_SECONDS
from reservations.erp import Effect, ErpService
from reservations.lifecycle import LineQuantity
from reservations.records import Line, Status
from reservations.service import ReservationService
from reservations.store.keys import receipt_key
from tests.support.erp import hold, level, offset, stock_set
from tests.support.invariants import check_invariants


def two_lines(erp: ErpService, service: ReservationService) -> None:
    """r1 holds 3 of A and 2 of B at WH1, of 10 each."""
    erp.apply(stock_set(10, sequence=1, sku="A"))
    erp.apply(stock_set(10, sequence=1, sku="B"))
    lines = (ReserveLine("A", "WH1", 3), ReserveLine("B", "WH1", 2))
    service.reserve(ReserveRequest(lines, id="r1"), "default")


def stored(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return item


# --- a hold of two lines --------------------------------------------------------------------


def test_an_offset_takes_only_the_named_line_of_a_two_line_hold(
    erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    two_lines(erp, service)
    outcome = erp.apply(offset("off-b", 1, "r1", sku="B"))
    assert (outcome.effect, outcome.applied, outcome.excess, outcome.holds) == (
        Effect.APPLIED, 1, 0, 1,
    )  # fmt: skip
    after = service.get("r1")
    assert after.status is Status.ACTIVE
    assert after.line("A", "WH1") == Line("A", "WH1", 3, held=3)
    assert after.line("B", "WH1") == Line("B", "WH1", 2, held=1, consumed=1, offset=1)
    assert level(service, "A") == (10, 3, 7)
    assert level(service, "B") == (9, 1, 8)
    check_invariants(moto_client, moto_table)


def test_offsetting_every_line_of_a_two_line_hold_ends_it_fulfilled(
    erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    two_lines(erp, service)
    erp.apply(offset("off-a", 3, "r1", sku="A", deductOnHand=False))
    assert service.get("r1").status is Status.ACTIVE  # B still held
    erp.apply(offset("off-b", 2, "r1", sku="B"))
    after = service.get("r1")
    assert after.status is Status.FULFILLED
    assert [(x.held, x.released, x.consumed, x.offset) for x in after.lines] == [
        (0, 3, 0, 3),
        (0, 0, 2, 2),
    ]
    assert (level(service, "A"), level(service, "B")) == ((10, 0, 10), (8, 0, 8))
    check_invariants(moto_client, moto_table)


def test_an_offset_of_a_line_already_emptied_of_a_live_hold_covers_nothing(
    erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    two_lines(erp, service)
    service.release("r1", [LineQuantity("A", "WH1", 3)])
    before = service.get("r1")
    outcome = erp.apply(offset("off-a", 2, "r1", sku="A"))
    assert (outcome.effect, outcome.applied, outcome.excess, outcome.holds) == (
        Effect.APPLIED, 0, 2, 0,
    )  # fmt: skip
    assert service.get("r1") == before  # not even its version moved
    assert (level(service, "A"), level(service, "B")) == ((10, 0, 10), (10, 2, 8))
    # It took effect (as nothing): its receipt is there, a redelivery is a duplicate.
    assert erp.apply(offset("off-a", 2, "r1", sku="A")).effect is Effect.DUPLICATE
    check_invariants(moto_client, moto_table)


# --- locations whose names share a prefix ---------------------------------------------------


def test_an_auto_offset_at_wh1_never_takes_a_hold_at_wh10(
    erp: ErpService, service: ReservationService, clock: ManualClock
) -> None:
    for location in ("WH10", "WH1"):
        erp.apply(stock_set(10, sequence=1, location=location))
    hold(service, "at-wh10", 2, location="WH10")  # the older hold
    clock.advance(1)
    hold(service, "at-wh1", 2, location="WH1")
    outcome = erp.apply(offset("auto-1", 3))  # at WH1
    assert (outcome.applied, outcome.excess, outcome.holds) == (2, 1, 1)
    assert service.get("at-wh10").lines[0].held == 2
    assert service.get("at-wh1").status is Status.FULFILLED
    assert level(service, location="WH10") == (10, 2, 8)
    assert level(service, location="WH1") == (8, 0, 8)


# --- receipts outlive every redelivery ------------------------------------------------------


def test_an_offsets_receipt_is_kept_for_the_retention_from_when_it_applied(
    erp: ErpService,
    service: ReservationService,
    clock: ManualClock,
    moto_client: Any,
    moto_table: str,
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 4)
    clock.advance(30)
    applied_at = int(clock.now())
    erp.apply(offset("off-1", 1, "r1"))
    receipt = stored(moto_client, moto_table, receipt_key("offset", "off-1", None))
    assert int(receipt["appliedAt"]["N"]) == applied_at
    assert int(receipt["purgeAt"]["N"]) == applied_at + ERP_RECEIPT_RETENTION_SECONDS
    assert int(receipt["applied"]["N"]) == 1


def test_an_auto_offsets_receipt_and_parts_are_kept_for_the_retention(
    erp: ErpService,
    service: ReservationService,
    clock: ManualClock,
    moto_client: Any,
    moto_table: str,
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 2)
    clock.advance(1)
    hold(service, "r2", 2)
    applied_at = int(clock.now())
    erp.apply(offset("auto-1", 3))
    for part, applied in ((None, 3), ("r1", 2), ("r2", 1)):
        item = stored(moto_client, moto_table, receipt_key("offset", "auto-1", part))
        assert int(item["purgeAt"]["N"]) == applied_at + ERP_RECEIPT_RETENTION_SECONDS, part
        assert int(item["applied"]["N"]) == applied, part
        assert "state" not in item and "owner" not in item, part  # no claim left behind


def test_an_offset_of_a_hold_no_longer_live_still_keeps_its_receipt(
    erp: ErpService,
    service: ReservationService,
    clock: ManualClock,
    moto_client: Any,
    moto_table: str,
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 2)
    service.cancel("r1")
    applied_at = int(clock.now())
    assert erp.apply(offset("off-1", 2, "r1")).applied == 0
    receipt = stored(moto_client, moto_table, receipt_key("offset", "off-1", None))
    assert int(receipt["purgeAt"]["N"]) == applied_at + ERP_RECEIPT_RETENTION_SECONDS
    assert int(receipt["applied"]["N"]) == 0
