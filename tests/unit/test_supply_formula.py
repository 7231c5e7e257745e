"""The supply formula (``reservations.supply``): parsed, never evaluated as code; refused
at start with a message naming what is wrong; and what the drift check holds available to."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.commands import SetThreshold
from reservations.config import Settings
from reservations.drift import check_table
from reservations.records import Label
from reservations.store import Store
from reservations.store.keys import stock_key
from reservations.supply import (
    DEFAULT_FORMULA,
    RECORD_ATTRIBUTES,
    FormulaError,
    measure_names,
    parse,
)

NOW = 1_800_000_000
VALUES = {"onHand": 30, "inbound": 12, "outbound": 5, "safetyStock": 2, "damaged": 1}


@pytest.mark.parametrize(
    ("text", "terms", "supply"),
    [
        ("onHand", ((1, "onHand"),), 30),
        (
            "onHand + inbound - outbound - safetyStock",
            ((1, "onHand"), (1, "inbound"), (-1, "outbound"), (-1, "safetyStock")),
            35,
        ),
        ("  -safetyStock+onHand  ", ((-1, "safetyStock"), (1, "onHand")), 28),
        ("+onHand - damaged", ((1, "onHand"), (-1, "damaged")), 29),
    ],
)
def test_a_formula_is_its_signed_terms(
    text: str, terms: tuple[tuple[int, str], ...], supply: int
) -> None:
    formula = parse(text, measure_names(["damaged"]))
    assert formula.terms == terms
    assert formula.text == text.strip()
    assert formula.supply(VALUES) == supply
    assert formula.supply({"onHand": 4}) == 4  # a measure never written is zero
    assert [formula.coefficient(name) for name in ("onHand", "safetyStock", "nothing")] == [
        1,
        dict((name, sign) for sign, name in terms).get("safetyStock", 0),
        0,
    ]


KNOWN = "the measures are onHand, inbound, outbound, safetyStock"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the supply formula is empty; the default is onHand"),
        ("   ", "the supply formula is empty; the default is onHand"),
        ("onHand +", "'onHand +' ends with a sign"),
        ("onHand inbound", "'onHand inbound': a + or - is missing before 'inbound' at character 7"),
        ("onHand + - inbound", "'onHand + - inbound': two signs in a row at character 9"),
        ("+-onHand", "'+-onHand': two signs in a row at character 1"),
        ("onHand * 2", "'onHand * 2': '*' at character 7: only + and - and measure names"),
        ("onHand + 2", "'onHand + 2': '2' at character 9: only + and - and measure names"),
        ("__import__('os')", f"\"__import__('os')\": '__import__' is not a measure; {KNOWN}"),
        ("onHand + damaged", f"'onHand + damaged': 'damaged' is not a measure; {KNOWN}"),
        ("onHand + onHand", "'onHand + onHand': 'onHand' appears twice"),
        ("inbound", "'inbound': onHand must be in it, added (+onHand)"),
        ("inbound - onHand", "'inbound - onHand': onHand must be in it, added (+onHand)"),
    ],
)
def test_a_formula_it_cannot_run_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as refused:
        parse(text)
    assert str(refused.value) == message


NAMING = "a name is a lower-case letter then up to 39 letters or digits (camelCase)"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["Damaged"], f"measure 'Damaged': {NAMING}"),
        (["dam aged"], f"measure 'dam aged': {NAMING}"),
        (["inbound"], "measure 'inbound' is named twice"),
        (["available"], "measure 'available': the stock record uses that name already"),
    ],
)
def test_a_measure_name_is_checked(extra: list[str], message: str) -> None:
    with pytest.raises(FormulaError) as refused:
        measure_names(extra)
    assert str(refused.value) == message


def test_a_deployment_with_a_bad_formula_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLY_FORMULA", "onHand + damaged")
    with pytest.raises(FormulaError, match=r"SUPPLY_FORMULA / STOCK_MEASURES: .*'damaged'"):
        Settings.from_env()
    monkeypatch.setenv("STOCK_MEASURES", " damaged , quarantined")
    formula = Settings.from_env().supply_formula
    assert formula.terms == ((1, "onHand"), (1, "damaged"))
    monkeypatch.delenv("SUPPLY_FORMULA")
    assert Settings.from_env().supply_formula == DEFAULT_FORMULA


def test_no_measure_can_take_an_attribute_the_stock_record_uses(
    moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand_in_sequence("C", "WH1", 5, 3, NOW)
    store.stock.set_on_hand("C", "WH1", 6, NOW, threshold=SetThreshold(2))
    store.labels.write(None, Label("L-1", "S", "WH1", 2, NOW, NOW), NOW, token="t0")
    for sku in ("C", "S"):
        item = moto_client.get_item(TableName=moto_table, Key=stock_key(sku, "WH1"))["Item"]
        assert set(item) - {"onHand"} <= RECORD_ATTRIBUTES, sku


def test_the_drift_check_holds_available_to_the_formula(moto_client: Any, moto_table: str) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 10, NOW)
    formula = parse("onHand + inbound - safetyStock")
    assert check_table(moto_client, moto_table, formula).ok  # measures never written are 0
    moto_client.update_item(
        TableName=moto_table, Key=stock_key("A", "WH1"),
        UpdateExpression="SET inbound = :i, safetyStock = :s",
        ExpressionAttributeValues={":i": {"N": "4"}, ":s": {"N": "1"}},
    )  # fmt: skip
    problems = check_table(moto_client, moto_table, formula).problems
    assert problems == [
        "stock ('A', 'WH1'): available 10 != "
        "supply 13 (onHand + inbound - safetyStock) - reserved 0"
    ]
    assert check_table(moto_client, moto_table).ok  # under onHand alone nothing is wrong
