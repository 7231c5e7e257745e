"""Random sequences of measure writes (absolute, from two execution environments that each
remember what they last saw, and relative, from the ERP), reserves and cancels under a
four-measure supply formula: after every step available is the formula over the measures
the model expects minus what live holds hold, and the drift check is clean."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from moto import mock_aws

from local.template import ensure_table
from reservations.clock import ManualClock
from reservations.config import Settings
from reservations.erp import ErpService
from reservations.erp_messages import parse_message
from reservations.errors import InsufficientStock
from reservations.http.models import CreateReservationRequest
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from reservations.supply import STANDARD_MEASURES, parse
from tests.conftest import client_for
from tests.support.invariants import check_invariants

FORMULA = parse("onHand + inbound - outbound - safetyStock")
RECORDS = [("A", "WH1"), ("B", "WH1")]
CLIENT = client_for("https://dynamodb.us-east-1.amazonaws.com")  # once: clients are slow
TABLE = "measures"

measure_values = st.dictionaries(
    st.sampled_from(STANDARD_MEASURES), st.integers(0, 12), min_size=1, max_size=4
)


class MeasureMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        ensure_table(CLIENT, TABLE)
        config = Settings(table_name=TABLE, supply_formula=FORMULA)
        retry = RetryPolicy(attempts=3, base_delay=0)
        # Two environments: each remembers only what it saw, so each often writes from a
        # stale view of the other's writes and must be corrected by the refusal.
        self.environments = [
            ReservationService(Store(CLIENT, TABLE, formula=FORMULA), ManualClock(), config, retry)
            for _ in range(2)
        ]
        self.erp = ErpService(Store(CLIENT, TABLE, formula=FORMULA), ManualClock(), config, retry)
        self.measures: dict[tuple[str, str], dict[str, int]] = {}
        self.holds: dict[str, tuple[tuple[str, str], int]] = {}
        self.adjustments = 0

    def teardown(self) -> None:
        self.mock.stop()

    @rule(record=st.sampled_from(RECORDS), values=measure_values, which=st.integers(0, 1))
    def write_measures(self, record: tuple[str, str], values: dict[str, int], which: int) -> None:
        self.environments[which].set_measures(*record, values)
        self.measures.setdefault(record, {}).update(values)

    @rule(
        record=st.sampled_from(RECORDS),
        measure=st.sampled_from(STANDARD_MEASURES),
        delta=st.integers(-5, 5),
    )
    def erp_adjusts(self, record: tuple[str, str], measure: str, delta: int) -> None:
        self.adjustments += 1
        body = {
            "schemaVersion": 1,
            "type": "stock.adjust",
            "adjustmentId": f"adj-{self.adjustments}",
            "sku": record[0],
            "location": record[1],
            "measure": measure,
            "delta": delta,
        }
        self.erp.apply(parse_message(json.dumps(body)))
        values = self.measures.setdefault(record, {})
        values[measure] = values.get(measure, 0) + delta

    @rule(record=st.sampled_from(RECORDS), quantity=st.integers(1, 6), which=st.integers(0, 1))
    def reserve(self, record: tuple[str, str], quantity: int, which: int) -> None:
        request = CreateReservationRequest.model_validate(
            {"items": [{"sku": record[0], "location": record[1], "quantity": quantity}]}
        ).to_command()
        fits = self.available(record) >= quantity
        try:
            result = self.environments[which].reserve(request, "web")
        except InsufficientStock:
            assert not fits
            return
        assert fits
        self.holds[result.reservation.id] = (record, quantity)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if self.holds:
            reservation_id = data.draw(st.sampled_from(sorted(self.holds)))
            self.environments[0].cancel(reservation_id)
            del self.holds[reservation_id]

    def available(self, record: tuple[str, str]) -> int:
        held = sum(q for rec, q in self.holds.values() if rec == record)
        return FORMULA.supply(self.measures.get(record, {})) - held

    @invariant()
    def table_matches_the_model(self) -> None:
        report = check_invariants(CLIENT, TABLE, FORMULA)
        for record in self.measures:
            level = report.levels[record]
            assert level.available == self.available(record), record
            stored = {"onHand": level.on_hand, **level.measures}
            assert {k: v for k, v in stored.items() if k in self.measures[record]} == (
                self.measures[record]
            )


TestMeasureMachine = MeasureMachine.TestCase
TestMeasureMachine.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
