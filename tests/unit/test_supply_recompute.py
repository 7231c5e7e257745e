"""The recompute after a supply formula change (docs/architecture.md, "Supply measures"):
right under the new formula, idempotent, resumable, and safe while holds move records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import recompute_supply
from reservations.drift import check_table
from reservations.http.models import CreateReservationRequest
from reservations.records import Label
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.keys import stock_key
from reservations.store.supply_recompute import (
    ATTEMPTS,
    NotAToken,
    Page,
    Recomputed,
    SupplyRecompute,
    open_token,
    plan,
    seal_token,
)
from reservations.supply import parse

NOW = 1_800_000_000
FORMULA_TEXT = "onHand + inbound - safetyStock"
FORMULA = parse(FORMULA_TEXT)


def hold(service: ReservationService, sku: str, location: str, quantity: int) -> None:
    items = [{"sku": sku, "location": location, "quantity": quantity}]
    request = CreateReservationRequest.model_validate({"items": items})
    service.reserve(request.to_command(), "default")


def set_measures(client: Any, table: str, sku: str, location: str, **measures: int) -> None:
    """A measure written behind the service's back, as one written before the formula
    named it: available does not follow."""
    client.update_item(
        TableName=table,
        Key=stock_key(sku, location),
        UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in measures),
        ExpressionAttributeValues={f":{name}": {"N": str(v)} for name, v in measures.items()},
    )


@pytest.fixture
def stocked(service: ReservationService, moto_client: Any, moto_table: str) -> dict[str, int]:
    """Four records, right under onHand alone; what each needs under FORMULA."""
    service.set_on_hand("A", "WH1", 10)
    hold(service, "A", "WH1", 2)
    set_measures(moto_client, moto_table, "A", "WH1", inbound=4, safetyStock=1)  # supply 13
    service.set_on_hand("B", "WH1", 5)  # no measures: right under both
    service.set_on_hand("C", "WH2", 3)
    set_measures(moto_client, moto_table, "C", "WH2", safetyStock=7)  # supply -4
    Store(moto_client, moto_table).labels.write(
        None, Label("L-1", "S", "WH1", 2, NOW, NOW), NOW, token="t0"
    )
    set_measures(moto_client, moto_table, "S", "WH1", safetyStock=1)  # serialized: supply 1
    assert check_table(moto_client, moto_table).ok
    assert not check_table(moto_client, moto_table, FORMULA).ok
    return {"A": 11, "C": -4, "S": 1}  # available after


def run(recompute: SupplyRecompute, **options: Any) -> list[Page]:
    return list(recompute.pages(**options))


def changes(pages: list[Page]) -> dict[str, Recomputed]:
    return {change.sku: change for page in pages for change in page.changed}


def available(client: Any, table: str, sku: str, location: str = "WH1") -> int:
    item = client.get_item(TableName=table, Key=stock_key(sku, location))["Item"]
    return int(item["available"]["N"])


def test_plan_is_the_formula_minus_what_the_record_counts() -> None:
    item = {
        "sku": {"S": "A"}, "location": {"S": "WH1"}, "onHand": {"N": "10"},
        "inbound": {"N": "4"}, "available": {"N": "8"}, "reserved": {"N": "2"},
    }  # fmt: skip
    assert plan(item, FORMULA) == Recomputed("A", "WH1", 8, 12, 2, 14)
    assert plan(item, parse("onHand")) is None


def test_a_recompute_makes_every_record_right_and_a_second_changes_nothing(
    stocked: dict[str, int], moto_client: Any, moto_table: str
) -> None:
    recompute = SupplyRecompute(moto_client, moto_table, FORMULA)
    first = run(recompute)
    assert sum(page.read for page in first) == 4
    assert {sku: c.after for sku, c in changes(first).items()} == stocked
    assert changes(first)["A"] == Recomputed("A", "WH1", 8, 11, 2, 13)
    assert check_table(moto_client, moto_table, FORMULA).ok
    second = run(recompute)
    assert sum(page.read for page in second) == 4
    assert not changes(second) and not any(page.busy for page in second)
    assert [page.resume for page in second] == [None]


def test_a_dry_run_reports_and_writes_nothing(
    stocked: dict[str, int], moto_client: Any, moto_table: str
) -> None:
    before = sorted(map(str, Store(moto_client, moto_table).scan()))
    pages = run(SupplyRecompute(moto_client, moto_table, FORMULA), dry_run=True)
    assert {sku: c.after for sku, c in changes(pages).items()} == stocked
    assert sorted(map(str, Store(moto_client, moto_table).scan())) == before


def test_an_interrupted_run_continues_from_its_token(
    stocked: dict[str, int], moto_client: Any, moto_table: str
) -> None:
    recompute = SupplyRecompute(moto_client, moto_table, FORMULA)
    pages = recompute.pages(page_size=1)
    done = [next(pages)]
    while not done[-1].changed:  # stop after the first page that wrote something
        done.append(next(pages))
    pages.close()
    token = done[-1].resume
    assert token is not None and open_token(token)  # opaque, and ours
    rest = run(recompute, start_after=token, page_size=1)
    assert sum(page.read for page in done + rest) == 4  # each record once
    assert changes(done).keys().isdisjoint(changes(rest))
    assert {sku: c.after for sku, c in changes(done + rest).items()} == stocked
    assert check_table(moto_client, moto_table, FORMULA).ok
    with pytest.raises(NotAToken):
        run(recompute, start_after="not-a-token")
    with pytest.raises(NotAToken):
        run(recompute, start_after=seal_token({"PK": {"S": "x"}}))


class MovingClient:
    """A client on which, before each of the first ``times`` recompute writes, something
    else writes first (a hold between the recompute's read and its write)."""

    def __init__(self, client: Any, before_write: Callable[[], None], times: int = 1) -> None:
        self._client = client
        self._before_write = before_write
        self.left = times
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **request: Any) -> Any:
        self.writes += 1
        if self.left:
            self.left -= 1
            self._before_write()
        return self._client.update_item(**request)


def test_a_hold_placed_between_read_and_write_is_retried_and_ends_right(
    stocked: dict[str, int], service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    moving = MovingClient(moto_client, lambda: hold(service, "A", "WH1", 3))
    pages = run(SupplyRecompute(moving, moto_table, FORMULA))
    # A was read at available 8, reserved 2; the hold made it 5 and 5, so the write was
    # refused and d recomputed from the record the refusal returned.
    assert changes(pages)["A"] == Recomputed("A", "WH1", 5, 8, 5, 13)
    assert moving.writes == 4  # A twice, C, S
    assert check_table(moto_client, moto_table, FORMULA).ok


def reserve_like(client: Any, table: str) -> Callable[[], None]:
    """A write that moves A@WH1 as a reserve does: reserved +1, available -1, so the
    record's supply is unchanged but it never stays as a recompute read it."""

    def write() -> None:
        client.update_item(
            TableName=table,
            Key=stock_key("A", "WH1"),
            UpdateExpression="SET reserved = reserved + :q, available = available - :q",
            ExpressionAttributeValues={":q": {"N": "1"}},
        )

    return write


def test_a_record_that_moves_on_every_attempt_is_busy_until_run_again(
    stocked: dict[str, int], moto_client: Any, moto_table: str
) -> None:
    moving = MovingClient(moto_client, reserve_like(moto_client, moto_table), times=ATTEMPTS)
    pages = run(SupplyRecompute(moving, moto_table, FORMULA))
    assert [busy for page in pages for busy in page.busy] == [("A", "WH1")]
    assert "A" not in changes(pages)
    assert available(moto_client, moto_table, "A") == 8 - ATTEMPTS  # only the holds moved it
    again = run(SupplyRecompute(moto_client, moto_table, FORMULA))
    assert changes(again)["A"].after == 11 - ATTEMPTS  # supply 13 - reserved (2 + ATTEMPTS)
    assert not any(page.busy for page in again)


def test_two_runs_at_once_write_each_record_once(
    stocked: dict[str, int], moto_client: Any, moto_table: str
) -> None:
    other = SupplyRecompute(moto_client, moto_table, FORMULA)
    others: list[Page] = []
    moving = MovingClient(moto_client, lambda: others.extend(run(other)))
    # One attempt: a refusal that shows the record right is not busy, even as the last.
    pages = run(SupplyRecompute(moving, moto_table, FORMULA, attempts=1))
    assert {sku: c.after for sku, c in changes(others).items()} == stocked
    assert not changes(pages) and not any(page.busy for page in pages)
    assert check_table(moto_client, moto_table, FORMULA).ok


def test_a_transaction_in_flight_is_waited_for(
    stocked: dict[str, int], moto_client: Any, moto_table: str
) -> None:
    conflict = ClientError({"Error": {"Code": "TransactionConflictException"}}, "UpdateItem")

    def in_flight() -> None:
        raise conflict

    slept: list[float] = []
    recompute = SupplyRecompute(
        MovingClient(moto_client, in_flight), moto_table, FORMULA, sleep=slept.append
    )
    assert {sku: c.after for sku, c in changes(run(recompute)).items()} == stocked
    assert len(slept) == 1
    assert check_table(moto_client, moto_table, FORMULA).ok


def test_an_engine_that_leaves_the_old_item_out_is_read_again(
    stocked: dict[str, int], service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    class Forgetful(MovingClient):
        def update_item(self, **request: Any) -> Any:
            try:
                return super().update_item(**request)
            except ClientError as error:
                error.response.pop("Item", None)
                raise

    moving = Forgetful(moto_client, lambda: hold(service, "A", "WH1", 3))
    assert changes(run(SupplyRecompute(moving, moto_table, FORMULA)))["A"].after == 8
    assert check_table(moto_client, moto_table, FORMULA).ok


# --- the command ----------------------------------------------------------------------------


def command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, list[str], str]:
    monkeypatch.setenv("SUPPLY_FORMULA", FORMULA_TEXT)
    code = recompute_supply.main(["--aws", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_the_command_reports_each_change_and_exits_0(
    stocked: dict[str, int],
    moto_client: Any,
    moto_table: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, lines, _ = command(capsys, monkeypatch, "--table", moto_table, "--dry-run")
    assert code == 0
    assert lines[0] == f"supply formula: {FORMULA_TEXT} (dry run: nothing is written)"
    assert "WOULD CHANGE A @ WH1: available 8 -> 11 (supply 13, reserved 2)" in lines
    assert lines[-1] == "4 stock records read, 3 would change, 0 busy"
    assert available(moto_client, moto_table, "A") == 8

    code, lines, _ = command(capsys, monkeypatch, "--table", moto_table)
    assert code == 0
    assert "CHANGED C @ WH2: available 3 -> -4 (supply -4, reserved 0)" in lines
    assert lines[-1] == "4 stock records read, 3 changed, 0 busy"
    assert check_table(moto_client, moto_table, FORMULA).ok

    code, lines, _ = command(capsys, monkeypatch, "--table", moto_table)
    assert (code, lines[1:]) == (0, ["4 stock records read, 0 changed, 0 busy"])


def test_the_command_exits_1_when_records_were_busy(
    stocked: dict[str, int],
    moto_client: Any,
    moto_table: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moving = MovingClient(moto_client, reserve_like(moto_client, moto_table), times=ATTEMPTS)
    monkeypatch.setattr(recompute_supply, "dynamodb_client", lambda: moving)
    code, lines, _ = command(capsys, monkeypatch, "--table", moto_table)
    assert code == 1
    assert "BUSY A @ WH1: a hold moved it on every attempt" in lines
    assert lines[-2:] == [
        "4 stock records read, 2 changed, 1 busy",
        "some records were busy: run again (from the start)",
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--table", "no-such-table"], "recompute-supply: no table no-such-table at AWS"),
        (["--start-after", "nope"], "recompute-supply: 'nope' is not a resume token"),
    ],
    ids=["no-table", "bad-token"],
)
def test_when_it_cannot_run_it_exits_2_with_one_line(
    moto_table: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    says: str,
) -> None:
    code, _, err = command(capsys, monkeypatch, "--table", moto_table, *argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(says), err


def test_without_an_endpoint_or_aws_it_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert recompute_supply.main([]) == 2
    assert capsys.readouterr().err.startswith("recompute-supply: no endpoint to recompute")
    monkeypatch.setenv("SUPPLY_FORMULA", "onHand + nowhere")
    assert recompute_supply.main(["--aws"]) == 2
    assert "'nowhere' is not a measure" in capsys.readouterr().err
