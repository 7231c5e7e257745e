"""Random lifecycles on DynamoDB Local, checked against a model after every step.

This module holds the steps that are API calls, and the test. Steps: reserve (carts over
3 skus x 2 locations, some oversell, random expiry, sometimes a client id, replays),
confirm, extend, partial release (sometimes of too much, of a line the hold lacks, or of
one line twice), fulfil (all or part), cancel; and those of ``ModelledTable``
(tests/support/modelled_table.py): clock advances, sweeps, stock sets, and TTL deletions.

The model (tests/support/lifecycle_model.py) is deliberately naive. A refused step must
raise the domain error the model predicts (``InvalidState`` with the status in effect,
``InvalidRequest`` naming the field, ``NotFound``, ``InsufficientStock`` listing every
short line with its availability) and change nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from local.engines import Engine
from reservations.commands import ReserveLine, ReserveRequest
from reservations.config import MINUTE
from reservations.errors import IdempotencyConflict, InsufficientStock, InvalidRequest, NotFound
from reservations.lifecycle import LineQuantity
from reservations.records import Reservation, Status
from tests.conftest import client_for
from tests.support.lifecycle_model import (
    CLIENT_IDS,
    DEFAULT_EXPIRES,
    GRACE,
    MAX_EXPIRES,
    RECORDS,
    Cart,
    ModelHold,
    ModelLine,
    assert_matches,
    bump,
    end,
    ended_as,
    expire,
    release_all,
    require,
    settle,
    take,
)
from tests.support.modelled_table import ModelledTable, has_holds, weighted

carts = st.lists(
    st.tuples(
        st.sampled_from(RECORDS), st.integers(1, 4), st.sampled_from([False, False, False, True])
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)

expiries = weighted(
    (2, st.none()),  # the default, 15 minutes
    (6, st.integers(1, 5 * MINUTE)),
    (1, st.just(2 * GRACE)),
    (1, st.just(MAX_EXPIRES + 1)),  # refused
)


class LifecycleMachine(ModelledTable):
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
