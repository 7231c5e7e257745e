"""``sam build`` once per session, into a temporary directory (never ``.aws-sam``)."""

from __future__ import annotations

import pytest

from local.sam import Build, build_command
from tests.infra.sam import describe, require_sam_tools, run


@pytest.fixture(scope="session")
def sam_tools() -> None:
    require_sam_tools()


@pytest.fixture(scope="session")
def sam_build(sam_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Build:
    root = tmp_path_factory.mktemp("sam") / "build"
    result = run(build_command(root), timeout=600)
    if result.returncode != 0:
        pytest.fail(describe(result), pytrace=False)
    return Build.at(root)
