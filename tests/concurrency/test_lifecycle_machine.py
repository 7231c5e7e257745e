"""Random lifecycles on DynamoDB Local, checked against a model after every step.

Steps: reserve (carts over 3 skus x 2 locations, some oversell, random expiry, sometimes a
client id, replays), confirm, extend, partial release (sometimes of too much, of a line the
hold lacks, or of one line twice), fulfil (all or part), cancel, clock advances (seconds to
a month), sweeps, stock sets, and TTL deletions settled by the stream function.

The model is deliberately naive: what each hold holds, per line, and the status it must have.
After every step the table must agree with it item by item (headers, lines and the copies
they carry, the per-sku index; every sweep also checks the expiry index), and the
operators' drift check must pass. A refused step must raise the domain
error the model predicts (``InvalidState`` with the status in effect, ``InvalidRequest``
naming the field, ``NotFound``, ``InsufficientStock`` listing every short line with its
availability) and change nothing.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import stream_function
from local.apigw import LambdaContext
from local.engines import Engine
from local.template import ensure_table
from reservations.clock import ManualClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.config import DAY, MINUTE, Settings
from reservations.errors import (
    DomainError,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    InvalidState,
    NotFound,
    ShortItem,
)
from reservations.lifecycle import LineQuantity
from reservations.records import LIVE_STATUSES, Reservation, Status
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.keys import reservation_key
from reservations.store.retry import RetryPolicy
from tests.conftest import client_for
from tests.support.invariants import check_invariants
from tests.support.stream_events import line_keys, stream_event, ttl_delete

SKUS = ["A", "B", "C"]
LOCATIONS = ["WH1", "WH2"]
RECORDS = [(sku, location) for sku in SKUS for location in LOCATIONS]
CLIENT_IDS = ["checkout-1", "checkout-2"]
SETTINGS = Settings(table_name="unused")
DEFAULT_EXPIRES = SETTINGS.default_expires_in_seconds
MAX_EXPIRES = SETTINGS.max_expires_in_seconds
GRACE = SETTINGS.expiry_grace_seconds
RETENTION = SETTINGS.hold_retention_seconds
FAR_FUTURE = 2**40

Record = tuple[str, str]
Cart = list[tuple[Record, int, bool]]


# --- the model ---------------------------------------------------------------------------


@dataclass
class ModelLine:
    sku: str
    location: str
    quantity: int
    allow_oversell: bool
    held: int
    released: int = 0
    consumed: int = 0

    @property
    def record(self) -> Record:
        return (self.sku, self.location)


@dataclass
class ModelHold:
    id: str
    body: dict[str, Any]  # the request as sent: a resend of the same body is a replay
    status: Status
    expires_at: int
    purge_at: int | None
    lines: list[ModelLine]
    version: int = 1
    lines_purged: bool = False  # TTL deleted the lines (the stream settled them)
    header_purged: bool = False  # and then the header: the id is free again

    def status_at(self, now: int) -> Status:
        if self.status is Status.ACTIVE and self.expires_at <= now:
            return ended_as(self, Status.EXPIRED)  # as the sweeper will end it
        return self.status

    @property
    def holding(self) -> bool:
        """Its lines are in the table and count towards ``reserved``."""
        return not self.lines_purged and self.status in LIVE_STATUSES

    def line(self, sku: str, location: str) -> ModelLine | None:
        return next((x for x in self.lines if x.record == (sku, location)), None)


def require(hold: ModelHold, now: int, *allowed: Status) -> None:
    current = hold.status_at(now)
    if current not in allowed:
        raise InvalidState(hold.id, current.value)


def bump(hold: ModelHold) -> None:
    hold.version += 1


def end(hold: ModelHold, status: Status, now: int) -> None:
    hold.status = status
    hold.purge_at = now + RETENTION
    bump(hold)


def release_all(hold: ModelHold) -> None:
    for line in hold.lines:
        line.released += line.held
        line.held = 0


def take(hold: ModelHold, items: list[LineQuantity], attribute: str) -> None:
    taken: set[Record] = set()
    for index, item in enumerate(items):
        where = f"body.items[{index}]"
        line = hold.line(item.sku, item.location)
        if line is None:
            raise InvalidRequest(where, "no such line")
        if (item.sku, item.location) in taken:
            raise InvalidRequest(where, "repeated")
        if item.quantity > line.held:
            raise InvalidRequest(f"{where}.quantity", "too much")
        taken.add((item.sku, item.location))
    for item in items:
        line = hold.line(item.sku, item.location)
        assert line is not None
        line.held -= item.quantity
        setattr(line, attribute, getattr(line, attribute) + item.quantity)


def ended_as(hold: ModelHold, otherwise: Status) -> Status:
    """One rule, however a hold ends: FULFILLED if any of it shipped."""
    return Status.FULFILLED if any(line.consumed for line in hold.lines) else otherwise


def settle(hold: ModelHold, now: int) -> None:
    if any(line.held for line in hold.lines):
        bump(hold)
    else:
        end(hold, ended_as(hold, Status.CANCELLED), now)


def expire(hold: ModelHold, now: int) -> None:
    release_all(hold)
    end(hold, ended_as(hold, Status.EXPIRED), now)


# --- comparisons -------------------------------------------------------------------------


def same_error(raised: BaseException, expected: DomainError) -> bool:
    if type(raised) is not type(expected):
        return False
    if isinstance(raised, InvalidState) and isinstance(expected, InvalidState):
        return raised.status == expected.status
    if isinstance(raised, InvalidRequest) and isinstance(expected, InvalidRequest):
        return raised.field == expected.field
    if isinstance(raised, InsufficientStock) and isinstance(expected, InsufficientStock):
        return raised.items == expected.items
    return True


def describe(error: BaseException) -> str:
    details = {
        name: getattr(error, name) for name in ("status", "field", "items") if hasattr(error, name)
    }
    return f"{type(error).__name__}({details})"


def assert_matches(reservation: Reservation, hold: ModelHold) -> None:
    assert reservation.id == hold.id
    assert reservation.status is hold.status, (reservation.status, hold.status)
    assert reservation.version == hold.version
    assert reservation.expires_at == hold.expires_at
    assert reservation.purge_at == hold.purge_at
    actual = {
        (x.sku, x.location): (x.quantity, x.allow_oversell, x.held, x.released, x.consumed)
        for x in reservation.lines
    }
    expected = {
        x.record: (x.quantity, x.allow_oversell, x.held, x.released, x.consumed) for x in hold.lines
    }
    assert actual == expected


def number(item: Mapping[str, Any], name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


# --- the machine -------------------------------------------------------------------------

carts = st.lists(
    st.tuples(
        st.sampled_from(RECORDS), st.integers(1, 4), st.sampled_from([False, False, False, True])
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, chosen with the given weights."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda index: pool[index])


expiries = weighted(
    (2, st.none()),  # the default, 15 minutes
    (6, st.integers(1, 5 * MINUTE)),
    (1, st.just(2 * GRACE)),
    (1, st.just(MAX_EXPIRES + 1)),  # refused
)
advances = weighted(
    (6, st.integers(1, 10 * MINUTE)),
    (4, st.sampled_from([GRACE, 2 * GRACE])),  # past the grace period: TTL may delete
    (2, st.just(RETENTION + DAY)),  # ended holds may go too
)


def has_holds(machine: LifecycleMachine) -> bool:
    return bool(machine.holds)


class LifecycleMachine(RuleBasedStateMachine):
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

    # rules: reserve

    def _reserve(self, body: dict[str, Any], cart: Cart) -> None:
        now = self.now()
        client_id: str | None = body.get("id")
        expires: int | None = body.get("expiresInSeconds")
        call = lambda: self.service.reserve(command(body), "web")  # noqa: E731
        if expires is not None and expires > MAX_EXPIRES:
            self.expect("reserve", call, InvalidRequest("body.expiresInSeconds", "too long"))
            return
        existing = self.holds.get(client_id) if client_id else None
        if existing is not None and existing.header_purged:
            event("reserve: an id TTL removed is used again")
        if existing is not None and not existing.header_purged:
            if existing.body != body:
                self.expect("reserve", call, IdempotencyConflict(existing.id))
            elif existing.lines_purged:
                # Being purged: the replay finds the header but can no longer read the hold.
                self.expect("reserve", call, NotFound(existing.id))
            else:

                def replayed(result: Any) -> None:
                    assert not result.created
                    assert_matches(result.reservation, existing)

                self.expect("reserve", call, replayed)
            return

        before = copy.deepcopy(self.holds)
        short = self.short(cart)
        if short:
            # The service expires the due holds on the short records, then tries once more.
            records = {(item.sku, item.location) for item in short}
            due = [
                hold
                for hold in self.holds.values()
                if hold.holding
                and hold.status is Status.ACTIVE
                and hold.expires_at <= now
                and any(line.held and line.record in records for line in hold.lines)
            ]
            if not due:
                self.expect("reserve", call, InsufficientStock(short), before)
                return
            event("reserve: expired due holds on the short records first")
            for hold in due:
                expire(hold, now)
            short = self.short(cart)
            if short:
                self.expect("reserve", call, InsufficientStock(short))  # the expiries stay
                return

        def created(result: Any) -> None:
            assert result.created
            reservation: Reservation = result.reservation
            assert client_id is None or reservation.id == client_id
            expires_at = now + (expires or DEFAULT_EXPIRES)
            hold = ModelHold(
                id=reservation.id,
                body=body,
                status=Status.ACTIVE,
                expires_at=expires_at,
                purge_at=expires_at + GRACE,
                lines=[
                    ModelLine(sku, location, quantity, oversell, held=quantity)
                    for (sku, location), quantity, oversell in cart
                ],
            )
            assert_matches(reservation, hold)
            self.holds[reservation.id] = hold
            for record, _, _ in cart:
                self.on_hand.setdefault(record, 0)  # oversell creates a missing record

        self.expect("reserve", call, created)

    @rule(
        cart=carts,
        expires=expiries,
        client_id=st.one_of(st.none(), st.sampled_from(CLIENT_IDS)),
    )
    def reserve(self, cart: Cart, expires: int | None, client_id: str | None) -> None:
        body: dict[str, Any] = {
            "items": [
                {"sku": sku, "location": location, "quantity": quantity, "allowOversell": oversell}
                for (sku, location), quantity, oversell in cart
            ]
        }
        if expires is not None:
            body["expiresInSeconds"] = expires
        if client_id is not None:
            body["id"] = client_id
        self._reserve(body, cart)

    @rule(cart=carts, expires=expiries)
    def reserve_anonymous(self, cart: Cart, expires: int | None) -> None:
        """Reserves are the most common call; a second rule draws them twice as often."""
        self.reserve(cart, expires, None)

    @precondition(lambda self: any("id" in hold.body for hold in self.holds.values()))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """The same request again (a client retry): the hold as it is now, nothing more held."""
        hold = data.draw(
            st.sampled_from(
                sorted((h for h in self.holds.values() if "id" in h.body), key=lambda h: h.id)
            )
        )
        cart = [
            ((item["sku"], item["location"]), item["quantity"], item["allowOversell"])
            for item in hold.body["items"]
        ]
        self._reserve(hold.body, cart)

    # rules: transitions

    @precondition(has_holds)
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        def change(hold: ModelHold, now: int) -> None:
            if hold.status is Status.CONFIRMED:
                return  # confirming twice changes nothing
            require(hold, now, Status.ACTIVE)
            hold.status = Status.CONFIRMED
            hold.purge_at = None
            bump(hold)

        rid = self.pick(data)
        self.transition("confirm", rid, lambda: self.service.confirm(rid), change)

    @precondition(has_holds)
    @rule(
        data=st.data(),
        seconds=weighted((5, st.integers(1, 20 * MINUTE)), (1, st.just(MAX_EXPIRES + 1))),
    )
    def extend(self, data: st.DataObject, seconds: int) -> None:
        rid = self.pick(data)
        call = lambda: self.service.extend(rid, seconds)  # noqa: E731
        if seconds > MAX_EXPIRES:
            self.expect("extend", call, InvalidRequest("body.expiresInSeconds", "too long"))
            return

        def change(hold: ModelHold, now: int) -> None:
            require(hold, now, Status.ACTIVE)
            hold.expires_at = now + seconds
            hold.purge_at = hold.expires_at + GRACE
            bump(hold)

        self.transition("extend", rid, call, change)

    def _items(self, data: st.DataObject, rid: str) -> list[LineQuantity]:
        """Some of the hold's lines with quantities up to one more than held; sometimes a
        line it lacks or a line twice."""
        hold = self.holds.get(rid)
        lines = hold.lines if hold else []
        chosen = data.draw(
            st.lists(st.sampled_from(lines), min_size=1, max_size=len(lines), unique_by=id)
            if lines
            else st.just([]),
            label="lines",
        )
        items = [
            LineQuantity(x.sku, x.location, data.draw(st.integers(1, max(1, x.held + 1))))
            for x in chosen
        ]
        oddity = data.draw(st.sampled_from([None] * 6 + ["foreign", "twice"]), label="oddity")
        if oddity == "foreign" or not items:
            missing = [r for r in RECORDS if hold is None or hold.line(*r) is None]
            if missing:
                items.append(LineQuantity(*data.draw(st.sampled_from(missing)), 1))
        elif oddity == "twice":
            items.append(items[0])
        return items

    @precondition(has_holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        rid = self.pick(data)
        items = self._items(data, rid)

        def change(hold: ModelHold, now: int) -> None:
            require(hold, now, Status.ACTIVE, Status.CONFIRMED)
            take(hold, items, "released")
            settle(hold, now)

        self.transition("release", rid, lambda: self.service.release(rid, items), change)

    @precondition(has_holds)
    @rule(data=st.data(), everything=st.booleans())
    def fulfill(self, data: st.DataObject, everything: bool) -> None:
        rid = self.pick(data)
        items = None if everything else self._items(data, rid)

        def change(hold: ModelHold, now: int) -> None:
            require(hold, now, Status.ACTIVE, Status.CONFIRMED)
            wanted = items
            if wanted is None:
                wanted = [LineQuantity(x.sku, x.location, x.held) for x in hold.lines if x.held]
            take(hold, wanted, "consumed")
            settle(hold, now)

        before = copy.deepcopy(self.holds.get(rid))
        self.transition("fulfill", rid, lambda: self.service.fulfill(rid, items), change)
        after = self.holds.get(rid)
        if before is not None and after is not None:
            # Shipped goods leave the shelf: onHand goes down with reserved.
            for was, line in zip(before.lines, after.lines, strict=True):
                self.on_hand[line.record] -= line.consumed - was.consumed

    @precondition(has_holds)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        def change(hold: ModelHold, now: int) -> None:
            if hold.status is Status.CANCELLED:
                return
            require(hold, now, Status.ACTIVE, Status.CONFIRMED)
            release_all(hold)
            end(hold, ended_as(hold, Status.CANCELLED), now)

        rid = self.pick(data)
        self.transition("cancel", rid, lambda: self.service.cancel(rid), change)

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


def command(body: dict[str, Any]) -> ReserveRequest:
    """The body as the domain takes it, past the API's own checks: the service must refuse
    a lifetime over its maximum by itself."""
    return ReserveRequest(
        lines=tuple(
            ReserveLine(i["sku"], i["location"], i["quantity"], i.get("allowOversell", False))
            for i in body["items"]
        ),
        id=body.get("id"),
        order_id=body.get("orderId"),
        expires_in_seconds=body.get("expiresInSeconds"),
    )


def test_random_lifecycles_keep_the_model_and_the_invariants(dynamodb_local: Engine) -> None:
    client = client_for(dynamodb_local.endpoint)

    class OnTheSessionEngine(LifecycleMachine):
        def __init__(self) -> None:
            super().__init__(client)

    run_state_machine_as_test(
        OnTheSessionEngine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            # Shrinking replays sequences against DynamoDB Local for up to five minutes; a
            # failure is reported unshrunk instead (add Phase.shrink to minimise one locally).
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
