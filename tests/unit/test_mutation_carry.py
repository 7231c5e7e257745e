"""Kills carried between sittings of ``make mutation`` (tests/mutation/carried.py): saved by
function with a digest of its source, counted only while that source is unchanged, and the
rest named for mutmut to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutation import carried
from tests.mutation.results import Mutant

PREFIX = "reservations.store.retry.x_with_retries__mutmut_"


def mutant(number: int, status: str) -> Mutant:
    return Mutant(f"{PREFIX}{number}", "reservations.store.retry", "with_retries", status, "", "")


@pytest.fixture(autouse=True)
def kills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kills.json"
    monkeypatch.setattr(carried, "KILLS", path)
    return path


def test_a_saved_kill_counts_while_its_function_is_unchanged() -> None:
    ran = [mutant(1, "killed"), mutant(2, "survived"), mutant(3, "not checked")]
    assert carried.save(ran, ["store.retry"]) == 1
    later = carried.carry([mutant(1, "not checked"), mutant(2, "not checked")])
    assert [m.status for m in later] == ["killed", "not checked"]
    pending = carried.pending(["store.retry"])
    assert f"{PREFIX}1" not in pending and {f"{PREFIX}2", f"{PREFIX}3"} <= set(pending)
    # A function with no saved kills is run whole.
    assert "reservations.store.retry.x_is_ambiguous__mutmut_*" in pending
    assert "reservations.store.retry.xǁRetryPolicyǁdelay__mutmut_*" in pending


def test_a_changed_function_loses_its_saved_kills(monkeypatch: pytest.MonkeyPatch) -> None:
    carried.save([mutant(1, "killed")], ["store.retry"])
    changed = {**carried.function_sources("store.retry"), "with_retries": "another source"}
    monkeypatch.setattr(carried, "function_sources", lambda _: changed)
    assert carried.carry([mutant(1, "not checked")])[0].status == "not checked"
    assert f"{PREFIX}*" in carried.pending(["store.retry"])


def test_a_save_replaces_only_the_modules_it_names(kills: Path) -> None:
    carried.save([mutant(1, "killed")], ["store.retry"])
    carried.save([], ["store.stock"])
    assert carried.carry([mutant(1, "not checked")])[0].status == "killed"
    carried.save([mutant(1, "survived")], ["store.retry"])
    assert carried.carry([mutant(1, "not checked")])[0].status == "not checked"
    assert '"mutmut": ' in kills.read_text()
