"""``sam build`` once per session, into a temporary directory (never ``.aws-sam``)."""

from __future__ import annotations

import pytest

from tests.infra.sam import (
    REGION,
    SAM,
    TEMPLATE,
    Build,
    describe,
    require_sam_tools,
    run,
)


@pytest.fixture(scope="session")
def sam_tools() -> None:
    require_sam_tools()


@pytest.fixture(scope="session")
def sam_build(sam_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Build:
    root = tmp_path_factory.mktemp("sam") / "build"
    result = run(
        [
            SAM, "build",
            "--template-file", TEMPLATE,
            "--build-dir", root,
            # samconfig.toml says cached, and SAM then keeps .aws-sam/deps in the
            # working tree whatever --build-dir says; a test build leaves nothing there.
            "--no-cached",
            "--region", REGION,
        ],
        timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(describe(result), pytrace=False)
    return Build(
        root=root, function=root / "ApiFunction", layer_python=root / "DomainLayer" / "python"
    )
