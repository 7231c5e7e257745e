"""The ERP's messages applied by the domain (moto in-process): each takes effect once."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.erp import Effect, ErpService
from reservations.erp_messages import PoisonMessage, parse_message
from reservations.records import Status
from reservations.service import ReservationService
from reservations.store import MessageInProgress
from reservations.store.reservations import ReservationStore
from tests.support.erp import adjust, hold, level, offset, stock_set
from tests.support.invariants import check_invariants

# --- stock.set ------------------------------------------------------------------------------


def test_stock_set_keeps_holds_and_ignores_late_or_replayed_snapshots(
    erp: ErpService, service: ReservationService
) -> None:
    assert erp.apply(stock_set(10, sequence=5)).effect is Effect.APPLIED
    hold(service, "r1", 3)
    assert erp.apply(stock_set(8, sequence=7)).effect is Effect.APPLIED
    assert level(service) == (8, 3, 5)
    replay = erp.apply(stock_set(8, sequence=7))
    late = erp.apply(stock_set(100, sequence=6))
    assert (replay.effect, late.effect) == (Effect.STALE, Effect.STALE)
    assert "sequence 7" in late.detail
    assert level(service) == (8, 3, 5)


def test_stock_set_below_what_is_held_goes_negative_and_reports_the_shortfall(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(5, sequence=1))
    hold(service, "r1", 4)
    outcome = erp.apply(stock_set(1, sequence=2))
    assert outcome.effect is Effect.APPLIED
    assert outcome.shortfall == 3
    assert level(service) == (1, 4, -3)


def test_stock_set_does_not_hold_back_the_admin_path(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(5, sequence=9))
    service.set_on_hand("A", "WH1", 7)  # an operator's absolute set is not sequenced
    assert level(service) == (7, 0, 7)
    assert erp.apply(stock_set(6, sequence=10)).effect is Effect.APPLIED
    assert level(service) == (6, 0, 6)


# --- stock.adjust ---------------------------------------------------------------------------


def test_adjustment_takes_effect_once_however_often_it_arrives(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(10, sequence=1))
    outcomes = [erp.apply(adjust("adj-1", 5)) for _ in range(3)]
    assert [o.effect for o in outcomes] == [Effect.APPLIED, Effect.DUPLICATE, Effect.DUPLICATE]
    assert level(service) == (15, 0, 15)


def test_adjustment_creates_a_record_never_stocked(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(adjust("receipt-1", 12, sku="NEW"))
    assert level(service, "NEW") == (12, 0, 12)


def test_adjustment_id_reused_for_other_content_is_poison(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(adjust("adj-1", 5))
    with pytest.raises(PoisonMessage, match="adjustmentId: 'adj-1' was already used"):
        erp.apply(adjust("adj-1", -5))
    assert level(service) == (5, 0, 5)


def test_negative_adjustment_below_held_reports_the_shortfall(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(4, sequence=1))
    hold(service, "r1", 3)
    outcome = erp.apply(adjust("damage-1", -2))
    assert (outcome.effect, outcome.applied, outcome.shortfall) == (Effect.APPLIED, -2, 1)
    assert level(service) == (2, 3, -1)


# --- offsets by reservation id --------------------------------------------------------------


def test_offset_by_id_moves_held_stock_out_of_on_hand_once(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 4)
    first = erp.apply(offset("off-1", 3, "r1"))
    again = erp.apply(offset("off-1", 3, "r1"))
    assert (first.effect, first.applied, first.excess) == (Effect.APPLIED, 3, 0)
    assert again.effect is Effect.DUPLICATE
    # deductOnHand: the goods left physical stock with the hold, available did not jump.
    assert level(service) == (7, 1, 6)
    reservation = service.get("r1")
    assert reservation.status is Status.ACTIVE
    [line] = reservation.lines
    assert (line.held, line.consumed, line.offset) == (1, 3, 3)


def test_offset_without_deducting_on_hand_frees_the_reservation_only(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 4)
    erp.apply(offset("off-1", 4, "r1", deductOnHand=False))
    assert level(service) == (10, 0, 10)
    reservation = service.get("r1")
    assert reservation.status is Status.FULFILLED
    [line] = reservation.lines
    assert (line.held, line.released, line.consumed, line.offset) == (0, 4, 0, 4)


def test_offset_beyond_what_is_held_applies_what_is_held_and_reports_the_excess(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 2)
    outcome = erp.apply(offset("off-1", 5, "r1"))
    assert (outcome.applied, outcome.excess) == (2, 3)
    assert level(service) == (8, 0, 8)
    assert service.get("r1").status is Status.FULFILLED


def test_offset_of_a_hold_no_longer_live_applies_nothing(
    erp: ErpService, service: ReservationService, clock: ManualClock
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 2)
    clock.advance(16 * 60)  # expired, not yet swept
    outcome = erp.apply(offset("off-1", 2, "r1"))
    assert (outcome.effect, outcome.applied, outcome.excess) == (Effect.APPLIED, 0, 2)
    assert erp.apply(offset("off-1", 2, "r1")).effect is Effect.DUPLICATE
    assert level(service) == (10, 2, 8)  # the sweeper gives the 2 back, not the offset


def test_offset_of_an_unknown_reservation_or_line_is_poison(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(10, sequence=1))
    hold(service, "r1", 2)
    with pytest.raises(PoisonMessage, match="reservationId: reservation 'nope' does not exist"):
        erp.apply(offset("off-1", 1, "nope"))
    erp.apply(stock_set(10, sequence=2, sku="B"))
    hold(service, "r2", 1, sku="B")
    with pytest.raises(PoisonMessage, match="has no line for 'A'"):
        erp.apply(offset("off-2", 1, "r2"))
    assert level(service) == (10, 2, 8)


# --- auto offsets ---------------------------------------------------------------------------


def test_auto_offset_covers_the_oldest_live_holds_first(
    erp: ErpService, service: ReservationService, clock: ManualClock
) -> None:
    erp.apply(stock_set(20, sequence=1))
    for name in ("zz-oldest", "mm-middle", "aa-newest"):  # ids sort the other way round
        hold(service, name, 3)
        clock.advance(1)
    outcome = erp.apply(offset("auto-1", 5))
    assert (outcome.applied, outcome.excess, outcome.holds) == (5, 0, 2)
    held = {rid: service.get(rid).lines[0].held for rid in ("zz-oldest", "mm-middle", "aa-newest")}
    assert held == {"zz-oldest": 0, "mm-middle": 1, "aa-newest": 3}
    assert service.get("zz-oldest").status is Status.FULFILLED
    assert level(service) == (15, 4, 11)
    assert erp.apply(offset("auto-1", 5)).effect is Effect.DUPLICATE
    assert level(service) == (15, 4, 11)


def test_auto_offset_beyond_every_hold_reports_the_excess(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(stock_set(20, sequence=1))
    hold(service, "r1", 2)
    outcome = erp.apply(offset("auto-1", 5))
    assert (outcome.applied, outcome.excess, outcome.holds) == (2, 3, 1)
    assert level(service) == (18, 0, 18)


def test_auto_offset_retried_after_a_crash_covers_only_what_is_left(
    erp: ErpService,
    service: ReservationService,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    moto_client: Any,
    moto_table: str,
) -> None:
    erp.apply(stock_set(20, sequence=1))
    for name in ("r1", "r2", "r3"):
        hold(service, name, 2)
        clock.advance(1)
    calls = 0
    original = ReservationStore.save_transition

    def crash_after_first(self: ReservationStore, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the function died here")
        original(self, *args, **kwargs)

    monkeypatch.setattr(ReservationStore, "save_transition", crash_after_first)
    with pytest.raises(RuntimeError):
        erp.apply(offset("auto-1", 5))
    assert level(service) == (18, 4, 14)  # r1 covered, then the crash
    monkeypatch.setattr(ReservationStore, "save_transition", original)
    # Redelivered at once, the message is still claimed by the delivery that died: it fails
    # for now. Once the claim's lease has run out, the next delivery takes over.
    with pytest.raises(MessageInProgress):
        erp.apply(offset("auto-1", 5))
    clock.advance(121)
    redelivered = erp.apply(offset("auto-1", 5))
    assert (redelivered.effect, redelivered.applied, redelivered.excess) == (Effect.APPLIED, 5, 0)
    assert [service.get(r).lines[0].held for r in ("r1", "r2", "r3")] == [0, 0, 1]
    assert level(service) == (15, 1, 14)
    check_invariants(moto_client, moto_table)


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "body is not JSON"),
        ("[1, 2]", "body must be a JSON object, got list"),
        ('{"type": "stock.delete"}', "type: unknown message type 'stock.delete'"),
        ('{"schemaVersion": 1}', "type: unknown message type None"),
        (
            '{"type": "stock.set", "schemaVersion": 2, "sku": "A", "location": "W", "onHand": 1, "sequence": 1}',
            "schemaVersion: Input should be 1",
        ),
        (
            '{"type": "stock.set", "schemaVersion": 1, "sku": "A#B", "location": "W", "onHand": "1", "sequence": 1}',
            "sku: String should match pattern",
        ),
        (
            '{"type": "reservation.offset", "schemaVersion": 1, "offsetId": "o", "sku": "A", "location": "W", "quantity": 0}',
            "quantity: Input should be greater than 0",
        ),
        (
            '{"type": "stock.adjust", "schemaVersion": 1, "adjustmentId": "a", "sku": "A", "location": "W", "delta": 1, "dleta": 2}',
            "dleta: Extra inputs are not permitted",
        ),
        # Refused before parsing: json.loads would raise RecursionError or a bare ValueError.
        (
            '{"type": "stock.set", "x": ' + "[" * 5000 + "]" * 5000 + "}",
            "body: JSON nests deeper than 32 levels",
        ),
        (
            '{"type": "stock.set", "onHand": ' + "9" * 5000 + "}",
            "body: a number has more than 100 digits",
        ),
    ],
)
def test_poison_bodies_say_what_is_wrong_and_where(body: str, reason: str) -> None:
    with pytest.raises(PoisonMessage) as poison:
        parse_message(body)
    assert reason in poison.value.reason


def test_omitted_deduct_on_hand_is_the_same_message_as_true() -> None:
    implicit = offset("o", 1, "r1")
    explicit = offset("o", 1, "r1", deductOnHand=True)
    assert implicit.deductOnHand is True
    assert implicit.fingerprint() == explicit.fingerprint()
