"""The mutation table of docs/testing.md (tests/mutation/report.py): a run of some modules
renders their lines and keeps what the table said of the others."""

from __future__ import annotations

import re

from tests.mutation import report
from tests.mutation.report import Sections, merged, parse, render


def block() -> str:
    text = report.DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(report.BEGIN) + ".*?" + re.escape(report.END), text, re.S)
    assert found
    return found[0]


def test_the_table_reads_back_as_it_was_rendered() -> None:
    assert render(merged(parse(block()), Sections(), set())) == block()


def test_a_run_of_one_module_replaces_its_lines_and_keeps_the_others() -> None:
    earlier = parse(block())
    assert {"store.retry", "lifecycle"} <= set(earlier.rows)
    row = "| `store.retry` | 41 | 40 | 1 | 0 | 0 | 97.6% | 90% |"
    live = ("store.retry", "- `store.retry.with_retries` (survived): `a` → `b`")
    table = merged(earlier, Sections({"store.retry": row}, [], [live]), {"store.retry"})
    assert table.rows["store.retry"] == row
    assert table.rows["lifecycle"] == earlier.rows["lifecycle"]
    assert table.live == [live, *[x for x in earlier.live if x[0] != "store.retry"]]
    assert not any(m == "store.retry" for m, _ in table.equivalent)
    kept = [x for x in earlier.equivalent if x[0] != "store.retry"]
    assert table.equivalent == kept and kept
