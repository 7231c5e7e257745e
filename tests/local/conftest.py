"""The stack of ``make run`` a module of tests/local shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_stack import Stack, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A fast sweeper, so a test can watch an abandoned hold give its stock back.
    running = start_stack(tmp_path_factory.mktemp("local-stack"), {"SWEEP_INTERVAL_SECONDS": "0.5"})
    yield running
    assert running.stop() == 0, running.stderr()
