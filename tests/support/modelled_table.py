"""The lifecycle machine's table on DynamoDB Local and the model it must agree with.

``ModelledTable`` holds what every step uses (the service on a manual clock, the model's
holds and stock, running a call against the model's prediction) and the steps that are no
API call: stock sets, clock advances (seconds to a month), sweeps, and TTL deletions
settled by the stream function. After every step the table must agree with the model item
by item (headers, lines and the copies they carry, the per-sku index; every sweep also
checks the expiry index), and the operators' drift check must pass.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import stream_function
from local.apigw import LambdaContext
from local.template import ensure_table
from reservations.clock import ManualClock
from reservations.config import DAY, MINUTE, Settings
from reservations.errors import DomainError, NotFound, ShortItem
from reservations.records import LIVE_STATUSES, Reservation, Status
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.keys import reservation_key
from reservations.store.retry import RetryPolicy
from tests.support.invariants import check_invariants
from tests.support.lifecycle_model import (
    FAR_FUTURE,
    GRACE,
    RECORDS,
    RETENTION,
    SKUS,
    Cart,
    ModelHold,
    Record,
    assert_matches,
    describe,
    expire,
    number,
    same_error,
)
from tests.support.stream_events import line_keys, stream_event, ttl_delete


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, chosen with the given weights."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda index: pool[index])


advances = weighted(
    (6, st.integers(1, 10 * MINUTE)),
    (4, st.sampled_from([GRACE, 2 * GRACE])),  # past the grace period: TTL may delete
    (2, st.just(RETENTION + DAY)),  # ended holds may go too
)


def has_holds(machine: ModelledTable) -> bool:
    return bool(machine.holds)


class ModelledTable(RuleBasedStateMachine):
    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client
        self.table_name = f"machine-{uuid.uuid4().hex[:12]}"
        ensure_table(client, self.table_name)
        self.table = Store(client, self.table_name)
        self.clock = ManualClock()
        self.service = ReservationService(
            self.table,
            self.clock,
            Settings(table_name=self.table_name),
            RetryPolicy(attempts=3, base_delay=0),
        )
        self.on_hand: dict[Record, int] = {}  # every stock record there is
        self.holds: dict[str, ModelHold] = {}

    @initialize(levels=st.lists(st.integers(0, 10), min_size=len(RECORDS), max_size=len(RECORDS)))
    def stock_every_record(self, levels: list[int]) -> None:
        for record, on_hand in zip(RECORDS, levels, strict=True):
            self.set_stock(record, on_hand)

    def teardown(self) -> None:
        self.client.delete_table(TableName=self.table_name)

    # helpers

    def now(self) -> int:
        return int(self.clock.now())

    def reserved(self, record: Record) -> int:
        return sum(
            line.held
            for hold in self.holds.values()
            if hold.holding
            for line in hold.lines
            if line.record == record
        )

    def available(self, record: Record) -> int:
        if record not in self.on_hand:
            return 0  # a missing record fails the guard; the service reports 0
        return self.on_hand[record] - self.reserved(record)

    def short(self, cart: Cart) -> list[ShortItem]:
        return [
            ShortItem(sku, location, quantity, self.available((sku, location)))
            for (sku, location), quantity, oversell in cart
            if not oversell and self.available((sku, location)) < quantity
        ]

    def pick(self, data: st.DataObject) -> str:
        """A hold of this run (whatever its state), now and then an id never used."""
        if not self.holds or data.draw(st.integers(0, 9), label="unknown?") == 0:
            return "unknown-id"
        return data.draw(st.sampled_from(sorted(self.holds)), label="id")

    def expect(
        self,
        what: str,
        call: Callable[[], Any],
        outcome: DomainError | Callable[[Any], None],
        before: dict[str, ModelHold] | None = None,
    ) -> Any:
        """Run ``call``; either it raises the predicted error (then the model is put back
        to ``before``: nothing may have changed), or ``outcome`` checks its result."""
        event(f"{what}: {type(outcome).__name__ if isinstance(outcome, DomainError) else 'done'}")
        if isinstance(outcome, DomainError):
            with pytest.raises(DomainError) as raised:
                call()
            assert same_error(raised.value, outcome), (
                f"raised {describe(raised.value)}, expected {describe(outcome)}"
            )
            if before is not None:
                self.holds = before
            return None
        result = call()
        outcome(result)
        return result

    def transition(
        self,
        what: str,
        rid: str,
        call: Callable[[], Reservation],
        change: Callable[[ModelHold, int], None],
    ) -> None:
        """A transition of one hold: the model's ``change`` raises the expected domain
        error (nothing changes) or changes the hold as the service must."""
        before = copy.deepcopy(self.holds)
        hold = self.holds.get(rid)
        if hold is None or hold.lines_purged:
            self.expect(what, call, NotFound(rid), before)
            return
        try:
            change(hold, self.now())
        except DomainError as error:
            self.expect(what, call, error, before)
            return
        self.expect(what, call, lambda result: assert_matches(result, hold))

    @contextmanager
    def stream_function_on_this_table(self) -> Iterator[None]:
        previous = stream_function.service
        stream_function.service = self.service
        try:
            yield
        finally:
            stream_function.service = previous

    def deliver(self, records: list[dict[str, Any]]) -> None:
        with self.stream_function_on_this_table():
            response = stream_function.lambda_handler(
                stream_event(records), LambdaContext("stream")
            )
        assert response == {"batchItemFailures": []}

    # rules: stock and time

    @rule(record=st.sampled_from(RECORDS), on_hand=st.integers(0, 10))
    def set_stock(self, record: Record, on_hand: int) -> None:
        level = self.service.set_on_hand(*record, on_hand)
        self.on_hand[record] = on_hand
        reserved = self.reserved(record)
        assert (level.on_hand, level.reserved, level.available) == (
            on_hand,
            reserved,
            on_hand - reserved,
        )

    @precondition(has_holds)
    @rule(seconds=advances, data=st.data())
    def advance(self, seconds: int, data: st.DataObject) -> None:
        """Time passes; DynamoDB TTL deletes some of the records past their purgeAt."""
        event(f"advance: {'past the grace period' if seconds >= GRACE else 'seconds'}")
        self.clock.advance(seconds)
        due = self.purgeable()
        purged = data.draw(st.lists(st.sampled_from(due), unique=True), label="ttl") if due else []
        for rid in purged:
            self.ttl_deletes(
                self.holds[rid],
                header_too=data.draw(st.booleans(), label="header too"),
                redeliver=data.draw(st.booleans(), label="redeliver"),
            )

    # rules: expiry and TTL

    @precondition(has_holds)
    @rule(seconds_later=st.integers(0, 2 * MINUTE))
    def sweep(self, seconds_later: int) -> None:
        """The scheduled sweep, a moment after the last step."""
        self.clock.advance(seconds_later)
        now = self.now()
        due = [
            hold
            for hold in self.holds.values()
            if not hold.header_purged and hold.status is Status.ACTIVE and hold.expires_at <= now
        ]
        # The sparse expiry index holds exactly the ACTIVE headers, due or not.
        active = {
            hold.id
            for hold in self.holds.values()
            if not hold.header_purged and hold.status is Status.ACTIVE
        }
        assert sorted(self.table.reservations.due_ids(FAR_FUTURE)) == sorted(active)
        report = self.service.sweep()
        expired = {hold.id for hold in due if not hold.lines_purged}
        assert report.due == len(due)
        assert sorted(report.expired) == sorted(expired)
        assert report.skipped == len(due) - len(expired)  # being purged: the stream settles it
        event(f"sweep: {'expired' if expired else 'nothing to expire'}")
        if report.skipped:
            event("sweep: skipped a hold being purged")
        for hold in due:
            if hold.id in expired:
                expire(hold, now)

    def purgeable(self) -> list[str]:
        now = self.now()
        return sorted(
            hold.id
            for hold in self.holds.values()
            if not hold.header_purged and hold.purge_at is not None and hold.purge_at <= now
        )

    def ttl_deletes(self, hold: ModelHold, header_too: bool, redeliver: bool) -> None:
        """TTL deletes a record past its purgeAt, lines first (in any real order the lines
        may go before the header); the stream function settles what a line still held."""
        if not hold.lines_purged:
            records = [
                ttl_delete(self.client, self.table_name, key)
                for key in line_keys(self.client, self.table_name, hold.id)
            ]
            assert len(records) == len(hold.lines)
            for record in records:
                assert record is not None
                old = record["dynamodb"]["OldImage"]
                line = hold.line(old["sku"]["S"], old["location"]["S"])
                assert line is not None
                assert (old["status"]["S"], int(old["held"]["N"])) == (hold.status, line.held)
                assert number(old, "purgeAt") == hold.purge_at
            held = sum(line.held for line in hold.lines) if hold.holding else 0
            event(f"ttl: lines of a {hold.status.value} hold, {'some' if held else 'nothing'} held")
            self.deliver([r for r in records if r is not None])
            if redeliver:
                self.deliver([r for r in records if r is not None])
            hold.lines_purged = True
            if not header_too:
                return
        header = ttl_delete(self.client, self.table_name, reservation_key(hold.id))
        assert header is not None
        event("ttl: header")
        self.deliver([header])  # a header carries no stock: nothing to settle
        hold.header_purged = True

    # after every step

    @invariant()
    def table_matches_the_model(self) -> None:
        report = check_invariants(self.client, self.table_name)
        assert set(report.levels) == set(self.on_hand)
        for record, on_hand in self.on_hand.items():
            level = report.levels[record]
            reserved = self.reserved(record)
            assert (level.on_hand, level.reserved, level.available) == (
                on_hand,
                reserved,
                on_hand - reserved,
            ), record

        headers: dict[str, Mapping[str, Any]] = {}
        lines: dict[str, dict[Record, Mapping[str, Any]]] = {}
        for item in self.table.scan():
            entity = item.get("entity", {}).get("S")
            if entity == "reservation":
                headers[item["id"]["S"]] = item
            elif entity == "hold":
                record = (item["sku"]["S"], item["location"]["S"])
                lines.setdefault(item["reservationId"]["S"], {})[record] = item
        in_table = {rid for rid, hold in self.holds.items() if not hold.header_purged}
        assert set(headers) == in_table
        assert set(lines) == {rid for rid in in_table if not self.holds[rid].lines_purged}
        for rid in in_table:
            hold = self.holds[rid]
            header = headers[rid]
            assert Status(header["status"]["S"]) is hold.status
            assert number(header, "version") == hold.version
            assert number(header, "expiresAt") == hold.expires_at
            assert number(header, "purgeAt") == hold.purge_at
            assert ("expiryShard" in header) == (hold.status is Status.ACTIVE)
            for record, item in lines.get(rid, {}).items():
                line = hold.line(*record)
                assert line is not None
                assert [number(item, n) for n in ("quantity", "held", "released", "consumed")] == [
                    line.quantity,
                    line.held,
                    line.released,
                    line.consumed,
                ], (rid, record)
                # The copies the per-sku index and the stream function read.
                assert Status(item["status"]["S"]) is hold.status
                assert number(item, "expiresAt") == hold.expires_at
                assert number(item, "purgeAt") == hold.purge_at
                assert ("holdSku" in item) == (hold.status in LIVE_STATUSES and line.held > 0)

        # The sparse per-sku index: exactly the lines still holding stock of a live hold
        # (the expiry index is checked by every sweep).
        for sku in SKUS:
            indexed = {
                (h.reservation_id, h.line.location, h.line.held)
                for h in self.table.reservations.holds_on_sku(sku)
            }
            expected = {
                (hold.id, line.location, line.held)
                for hold in self.holds.values()
                if hold.holding
                for line in hold.lines
                if line.sku == sku and line.held
            }
            assert indexed == expected, sku
