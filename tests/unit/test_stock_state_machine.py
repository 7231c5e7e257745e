"""Random sequences of reserve, cancel, stock sets, reshards and forged stream settlements
keep the invariants after every step: ``reserved`` never drops below zero, the drift check
is clean. Two services reserve, as two execution environments with views of their own that
go stale as the other reshards and writes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from moto import mock_aws

from local.template import ensure_table
from reservations.clock import ManualClock
from reservations.errors import InsufficientStock
from reservations.http.models import CreateReservationRequest
from reservations.records import Line, Status
from reservations.store import SettlementRefused
from reservations.store.retry import RetryPolicy
from tests.conftest import client_for, make_service
from tests.support.invariants import check_invariants

SKUS = ["A", "B", "C"]
LOCATIONS = ["WH1", "WH2"]
RECORDS = [(s, loc) for s in SKUS for loc in LOCATIONS]

# Created once: building a botocore client costs more than a whole example.
CLIENT = client_for("https://dynamodb.us-east-1.amazonaws.com")

carts = st.lists(
    st.tuples(st.sampled_from(RECORDS), st.integers(1, 4), st.booleans()),
    min_size=1,
    max_size=4,
    unique_by=lambda line: line[0],
)


class StockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        self.client = CLIENT
        ensure_table(self.client, "machine")
        clock, retry = ManualClock(), RetryPolicy(attempts=2, base_delay=0)
        self.service = make_service(self.client, "machine", clock, retry)
        self.other = make_service(self.client, "machine", clock, retry)
        self.sharded: set[tuple[str, str]] = set()
        self.on_hand: dict[tuple[str, str], int] = {}
        self.live: dict[str, list[tuple[tuple[str, str], int, bool]]] = {}
        self.ids: list[str] = []

    def teardown(self) -> None:
        self.mock.stop()

    @rule(record=st.sampled_from(RECORDS), on_hand=st.integers(0, 10))
    def set_stock(self, record: tuple[str, str], on_hand: int) -> None:
        self.service.set_on_hand(*record, on_hand)
        self.on_hand[record] = on_hand

    @rule(record=st.sampled_from(RECORDS), shards=st.integers(1, 5), other=st.booleans())
    def reshard(self, record: tuple[str, str], shards: int, other: bool) -> None:
        if record not in self.on_hand:
            return  # no record to split (404)
        (self.other if other else self.service).sharding.reshard(*record, shards)
        if shards > 1:  # ever sharded: its oversell lines oversell nothing
            self.sharded.add(record)

    @rule(cart=carts, other=st.booleans())
    def reserve(self, cart: list[tuple[tuple[str, str], int, bool]], other: bool) -> None:
        request = CreateReservationRequest.model_validate(
            {
                "items": [
                    {"sku": sku, "location": loc, "quantity": q, "allowOversell": oversell}
                    for (sku, loc), q, oversell in cart
                ]
            }
        ).to_command()
        available = self.available()

        def strict(rec: tuple[str, str], oversell: bool) -> bool:
            return not oversell or rec in self.sharded

        fits = all(not strict(rec, o) or available.get(rec, 0) >= q for rec, q, o in cart)
        try:
            result = (self.other if other else self.service).reserve(request, "default")
        except InsufficientStock as short:
            assert not fits
            expected = [
                (rec, q) for rec, q, o in cart if strict(rec, o) and available.get(rec, 0) < q
            ]
            assert [((i.sku, i.location), i.requested) for i in short.items] == expected
            return
        assert fits
        self.live[result.reservation.id] = cart
        self.ids.append(result.reservation.id)
        for rec, _, _ in cart:
            self.on_hand.setdefault(rec, 0)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.ids:
            return
        reservation_id = data.draw(st.sampled_from(self.ids))
        self.service.cancel(reservation_id)
        self.live.pop(reservation_id, None)

    @rule(data=st.data(), held=st.integers(1, 4))
    def forge_settlement_of_a_live_line(self, data: st.DataObject, held: int) -> None:
        """A stream event claiming TTL deleted a line that is still there is refused."""
        if not self.live:
            return
        reservation_id = data.draw(st.sampled_from(sorted(self.live)))
        (sku, location), quantity, _ = data.draw(st.sampled_from(self.live[reservation_id]))
        line = Line(sku, location, quantity, held=held)
        with pytest.raises(SettlementRefused):
            self.service.settle_purged_line(reservation_id, line, Status.ACTIVE)

    @rule(record=st.sampled_from(RECORDS), extra=st.integers(1, 5))
    def forge_settlement_beyond_what_is_reserved(self, record: tuple[str, str], extra: int) -> None:
        """A deletion of a line no one holds, for more than the record reserves, is refused."""
        reserved = self.reserved().get(record, 0)
        line = Line(*record, reserved + extra, held=reserved + extra)
        with pytest.raises(SettlementRefused):
            self.service.settle_purged_line("never-placed", line, Status.ACTIVE)

    def reserved(self) -> dict[tuple[str, str], int]:
        held: dict[tuple[str, str], int] = {}
        for cart in self.live.values():
            for rec, q, _ in cart:
                held[rec] = held.get(rec, 0) + q
        return held

    def available(self) -> dict[tuple[str, str], int]:
        held = self.reserved()
        return {
            rec: self.on_hand.get(rec, 0) - held.get(rec, 0)
            for rec in set(self.on_hand) | set(held)
        }

    @invariant()
    def table_matches_the_model(self) -> None:
        snapshot = check_invariants(self.client, "machine")
        for rec, value in self.available().items():
            # A sharded record's totals are over its buckets: as the service reads them.
            assert self.service.stock_level(*rec).available == value, rec
        assert all(level.reserved >= 0 for level in snapshot.levels.values())


TestStockMachine = StockMachine.TestCase
TestStockMachine.settings = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
