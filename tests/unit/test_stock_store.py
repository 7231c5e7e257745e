"""Stock records through the store itself (moto in-process): every write keeps
``available == onHand - reserved``, writes of onHand move the version, and a
compare-and-set refuses a record that moved, saying how it is now."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.commands import SetThreshold
from reservations.records import Line, Receipt, StockLevel
from reservations.store import KeyInUse, StaleSequence, Store
from reservations.store.keys import PK, SK, n, s, stock_key
from reservations.store.stock import ANY_VERSION, StockStore, VersionMismatch
from reservations.store.transact import WriteConflict
from tests.support.engine_hooks import conflicts, requests_seen, without_old_items

NOW = 1_000_000


@pytest.fixture
def store(moto_client: Any, moto_table: str) -> Store:
    return Store(moto_client, moto_table)


@pytest.fixture
def stock(store: Store) -> StockStore:
    return store.stock


def item(store: Store, sku: str = "A", location: str = "WH1") -> dict[str, Any] | None:
    found: dict[str, Any] | None = store.client.get_item(
        TableName=store.name, Key=stock_key(sku, location), ConsistentRead=True
    ).get("Item")
    return found


def hold(store: Store, quantity: int, oversell: bool = False, limit: int = 0) -> None:
    """Reserve ``quantity`` of A at WH1 as a reserve's transaction does."""
    line = Line("A", "WH1", quantity, allow_oversell=oversell, held=quantity)
    store.client.transact_write_items(
        TransactItems=[store.stock.hold_item(line, NOW, limit)]  # type: ignore[list-item]
    )


def level(store: Store) -> tuple[int, int, int, int]:
    found = store.stock.get_level("A", "WH1")
    assert found is not None
    return found.on_hand, found.reserved, found.available, found.version


# --- absolute sets --------------------------------------------------------------------------


def test_a_set_creates_a_whole_record_and_moves_its_version_each_time(
    store: Store, stock: StockStore
) -> None:
    created = stock.set_on_hand("A", "WH1", 10, NOW)
    assert created == StockLevel("A", "WH1", 10, 0, 10, updated_at=NOW, version=1)
    stored = item(store)
    assert stored is not None
    assert (stored["entity"], stored[PK], stored[SK]) == (s("stock"), s("SKU#A"), s("LOC#WH1"))
    assert stock.set_on_hand("A", "WH1", 7, NOW + 1) == StockLevel(
        "A", "WH1", 7, 0, 7, updated_at=NOW + 1, version=2
    )


def test_a_set_keeps_what_is_held(store: Store, stock: StockStore) -> None:
    stock.set_on_hand("A", "WH1", 10, NOW)
    hold(store, 4)
    assert level(store) == (10, 4, 6, 1)  # a hold moves no version
    assert stock.set_on_hand("A", "WH1", 3, NOW).available == -1
    assert level(store) == (3, 4, -1, 2)


@pytest.mark.parametrize(
    ("expected", "applies"),
    [(None, True), (ANY_VERSION, True), (2, True), (1, False), (3, False), (0, False)],
)
def test_a_set_with_an_expected_version_applies_only_at_that_version(
    store: Store, stock: StockStore, expected: int | None, applies: bool
) -> None:
    stock.set_on_hand("A", "WH1", 10, NOW)
    stock.set_on_hand("A", "WH1", 9, NOW)  # version 2
    hold(store, 1)
    if applies:
        assert stock.set_on_hand("A", "WH1", 5, NOW, expected_version=expected).version == 3
        assert level(store) == (5, 1, 4, 3)
        return
    with pytest.raises(VersionMismatch) as moved:
        stock.set_on_hand("A", "WH1", 5, NOW, expected_version=expected)
    assert moved.value.current == StockLevel("A", "WH1", 9, 1, 8, updated_at=NOW, version=2)
    assert level(store) == (9, 1, 8, 2)


def test_version_zero_is_a_record_not_written_yet_or_written_without_a_version(
    store: Store, stock: StockStore
) -> None:
    assert stock.set_on_hand("A", "WH1", 4, NOW, expected_version=0).version == 1
    old = {**stock_key("B", "WH1"), "sku": s("B"), "location": s("WH1"),
           "onHand": n(2), "reserved": n(0), "available": n(2)}  # fmt: skip
    store.client.put_item(TableName=store.name, Item=old)
    assert stock.set_on_hand("B", "WH1", 6, NOW, expected_version=0).version == 1


def test_any_version_needs_a_record(stock: StockStore) -> None:
    with pytest.raises(VersionMismatch) as missing:
        stock.set_on_hand("A", "WH1", 5, NOW, expected_version=ANY_VERSION)
    assert missing.value.current is None
    assert stock.get_level("A", "WH1") is None


# --- a set written with an idempotency key's answer -----------------------------------------


def answer(store: Store, key: str = "k1") -> dict[str, Any]:
    """A stand-in for the key's answer: an item of the same transaction, written once."""
    return {
        "Put": {
            "TableName": store.name,
            "Item": {PK: s(f"ANSWER#{key}"), SK: s("ANSWER"), "state": s("claimed")},
            "ConditionExpression": f"attribute_not_exists({PK})",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def after(on_hand: int, reserved: int, version: int) -> StockLevel:
    return StockLevel("A", "WH1", on_hand, reserved, on_hand - reserved, NOW, version=version)


def test_a_set_with_an_answer_writes_both_if_the_record_is_as_read(
    store: Store, stock: StockStore
) -> None:
    stock.set_on_hand_with(None, after(5, 0, 1), answer(store), token="t1")
    assert level(store) == (5, 0, 5, 1)
    before = stock.get_level("A", "WH1")
    stock.set_on_hand_with(before, after(8, 0, 2), answer(store, "k2"), token="t2")
    assert level(store) == (8, 0, 8, 2)


def test_a_set_with_an_answer_is_refused_when_the_record_moved(
    store: Store, stock: StockStore
) -> None:
    stock.set_on_hand("A", "WH1", 5, NOW)
    with pytest.raises(VersionMismatch):  # read as missing, but it exists now
        stock.set_on_hand_with(None, after(6, 0, 1), answer(store), token="t1")
    read = stock.get_level("A", "WH1")
    hold(store, 2)  # reserved moved since the read, the version did not
    with pytest.raises(VersionMismatch):
        stock.set_on_hand_with(read, after(9, 0, 2), answer(store), token="t2")
    read = stock.get_level("A", "WH1")
    stock.set_on_hand("A", "WH1", 7, NOW)  # the version moved since the read
    with pytest.raises(VersionMismatch):
        stock.set_on_hand_with(read, after(9, 2, 3), answer(store), token="t3")
    assert level(store) == (7, 2, 5, 2)


def test_a_set_whose_answer_is_already_there_says_so(store: Store, stock: StockStore) -> None:
    stock.set_on_hand_with(None, after(5, 0, 1), answer(store), token="t1")
    read = stock.get_level("A", "WH1")
    with pytest.raises(KeyInUse):
        stock.set_on_hand_with(read, after(6, 0, 2), answer(store), token="t2")
    assert level(store) == (5, 0, 5, 1)


def test_a_set_with_an_answer_sets_keeps_or_clears_the_threshold(
    store: Store, stock: StockStore
) -> None:
    def threshold() -> int | None:
        found = stock.get_level("A", "WH1")
        assert found is not None
        return found.low_stock_threshold

    stock.set_on_hand_with(
        None, after(5, 0, 1), answer(store), token="t1", threshold=SetThreshold(3)
    )
    assert threshold() == 3
    read = stock.get_level("A", "WH1")
    stock.set_on_hand_with(read, after(6, 0, 2), answer(store, "k2"), token="t2")
    assert threshold() == 3  # a write that carries none keeps the record's
    read = stock.get_level("A", "WH1")
    cleared = SetThreshold(None)
    stock.set_on_hand_with(read, after(7, 0, 3), answer(store, "k3"), token="t3", threshold=cleared)
    assert threshold() is None


def test_a_set_with_an_answer_that_meets_a_conflict_is_a_conflict_to_retry(
    store: Store, stock: StockStore
) -> None:
    with conflicts(store.client, 1), pytest.raises(WriteConflict):
        stock.set_on_hand_with(None, after(5, 0, 1), answer(store), token="t1")
    assert stock.get_level("A", "WH1") is None


def test_stock_transactions_are_sent_with_the_callers_token(
    store: Store, stock: StockStore
) -> None:
    # The caller repeats a write whose answer was lost with the same token: only then does
    # DynamoDB answer the repeat of a committed transaction without applying it twice.
    with requests_seen(store.client) as seen:
        stock.set_on_hand_with(None, after(5, 0, 1), answer(store), token="t1")
        stock.adjust_on_hand(Receipt("adjust", "a1", "fp"), "A", "WH1", 2, NOW, token="t2")
    sent = [params for operation, params in seen if operation == "TransactWriteItems"]
    assert [params["ClientRequestToken"] for params in sent] == ["t1", "t2"]
    assert level(store) == (7, 0, 7, 2)


# --- the ERP's sequenced sets and adjustments -----------------------------------------------


def test_a_sequenced_set_applies_only_when_newer(stock: StockStore) -> None:
    assert stock.set_on_hand_in_sequence("A", "WH1", 10, 5, NOW).on_hand == 10
    for late in (5, 4):
        with pytest.raises(StaleSequence) as stale:
            stock.set_on_hand_in_sequence("A", "WH1", 99, late, NOW)
        assert stale.value.current == 5
        assert str(stale.value) == "sequence 5 is already applied"
    assert stock.set_on_hand_in_sequence("A", "WH1", 8, 6, NOW).on_hand == 8


def test_a_stale_sequence_from_an_engine_that_omits_the_record_names_the_one_sent(
    store: Store, stock: StockStore
) -> None:
    stock.set_on_hand_in_sequence("A", "WH1", 10, 5, NOW)
    with without_old_items(store.client, "UpdateItem"), pytest.raises(StaleSequence) as stale:
        stock.set_on_hand_in_sequence("A", "WH1", 99, 4, NOW)
    assert stale.value.current == 5  # the refusal did not say, so the record was read
    assert level(store)[0] == 10


def test_an_adjustment_creates_a_whole_record_where_none_was(
    store: Store, stock: StockStore
) -> None:
    stock.adjust_on_hand(Receipt("adjust", "a1", "fp"), "A", "WH1", 12, NOW, token="t1")
    assert stock.get_level("A", "WH1") == StockLevel("A", "WH1", 12, 0, 12, NOW, version=1)
    assert stock.get_inventory("A").sku == "A"


# --- holds and their settlement, as items of a reserve's or a transition's transaction -------


def refused(store: Store, quantity: int, oversell: bool = False, limit: int = 0) -> Any:
    """The record as the refusal of a hold returned it (ALL_OLD), or None if it was granted."""
    try:
        hold(store, quantity, oversell, limit)
    except store.client.exceptions.TransactionCanceledException as error:
        [reason] = error.response["CancellationReasons"]
        assert reason["Code"] == "ConditionalCheckFailed"
        return reason.get("Item", "no record")
    return None


def test_a_strict_hold_needs_what_it_asks_for_available(store: Store, stock: StockStore) -> None:
    assert refused(store, 1) == "no record"  # unknown stock is short
    stock.set_on_hand("A", "WH1", 3, NOW)
    assert refused(store, 2) is None
    assert level(store) == (3, 2, 1, 1)
    old = refused(store, 2)
    assert old["available"] == n(1)  # the record as it was, to name the short line
    assert refused(store, 1) is None
    assert level(store) == (3, 3, 0, 1)


def test_an_oversell_hold_goes_down_to_the_bound_and_no_further(
    store: Store, stock: StockStore
) -> None:
    stock.set_on_hand("A", "WH1", 3, NOW)
    assert refused(store, 8, oversell=True, limit=5) is None  # 3 - 8 == -5: exactly the bound
    assert level(store) == (3, 8, -5, 1)
    assert refused(store, 1, oversell=True, limit=5)["available"] == n(-5)
    assert refused(store, 1, oversell=True, limit=6) is None
    assert level(store) == (3, 9, -6, 1)


def test_an_oversell_hold_creates_a_record_only_within_the_bound(store: Store) -> None:
    assert refused(store, 6, oversell=True, limit=5) == "no record"
    assert item(store) is None
    assert refused(store, 5, oversell=True, limit=5) is None
    assert level(store) == (0, 5, -5, 1)
    stored = item(store)
    assert stored is not None
    assert (stored["sku"], stored["location"], stored["entity"]) == (s("A"), s("WH1"), s("stock"))


def settle(store: Store, released: int, consumed: int) -> None:
    store.client.transact_write_items(
        TransactItems=[store.stock.settle_item("A", "WH1", released, consumed, NOW + 9)]  # type: ignore[list-item]
    )


def test_released_stock_is_available_again_and_consumed_stock_leaves_on_hand(
    store: Store, stock: StockStore
) -> None:
    stock.set_on_hand("A", "WH1", 10, NOW)
    hold(store, 6)
    settle(store, released=2, consumed=0)
    assert level(store) == (10, 4, 6, 1)  # holds move no version
    settle(store, released=1, consumed=3)
    assert level(store) == (7, 0, 7, 2)  # onHand moved: so does the version
    assert stock.get_level("A", "WH1").updated_at == NOW + 9  # type: ignore[union-attr]


def test_a_shipment_from_a_record_written_before_versions_starts_them_at_one(
    store: Store, stock: StockStore
) -> None:
    old = {**stock_key("A", "WH1"), "sku": s("A"), "location": s("WH1"),
           "onHand": n(5), "reserved": n(0), "available": n(5)}  # fmt: skip
    store.client.put_item(TableName=store.name, Item=old)
    hold(store, 3)
    settle(store, released=0, consumed=2)
    assert level(store) == (3, 1, 2, 1)


def test_a_settlement_the_record_cannot_account_for_is_refused_with_the_record(
    store: Store, stock: StockStore
) -> None:
    # The record comes back with the refusal: the reservation store tells drift (the record
    # holds less than the lines say) from a reservation that moved by it.
    stock.set_on_hand("A", "WH1", 10, NOW)
    hold(store, 2)
    with pytest.raises(store.client.exceptions.TransactionCanceledException) as refused:
        settle(store, released=2, consumed=1)
    [reason] = refused.value.response["CancellationReasons"]
    assert reason["Code"] == "ConditionalCheckFailed"
    assert (reason["Item"]["entity"], reason["Item"]["reserved"]) == (s("stock"), n(2))
    assert level(store) == (10, 2, 8, 1)


def test_a_set_sets_keeps_or_clears_the_threshold(stock: StockStore) -> None:
    assert stock.set_on_hand("A", "WH1", 5, NOW, threshold=SetThreshold(2)).low_stock_threshold == 2
    assert stock.set_on_hand("A", "WH1", 6, NOW).low_stock_threshold == 2
    cleared = stock.set_on_hand("A", "WH1", 7, NOW, threshold=SetThreshold(None))
    assert cleared.low_stock_threshold is None


def test_a_hold_marks_the_record_updated_at_its_time(store: Store, stock: StockStore) -> None:
    stock.set_on_hand("A", "WH1", 5, NOW)
    line = Line("A", "WH1", 2, held=2)
    store.client.transact_write_items(TransactItems=[stock.hold_item(line, NOW + 7, 0)])  # type: ignore[list-item]
    stored = item(store)
    assert stored is not None
    assert stored["updatedAt"] == n(NOW + 7)
    assert "updatedat" not in stored
