"""mutmut's verdicts, read from its own files in the staging folder, one ``Mutant`` each."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / ".mutation"
LAYER = ROOT / "layers" / "domain"
PACKAGE = "reservations"

# mutmut's statuses, as this project counts them. A timeout is a kill: the tests did not
# pass. Whatever no test reached is counted apart from what they reached and let live.
KILLED = frozenset({"killed", "timeout", "caught by type check"})
UNREACHED = frozenset({"no tests"})
NOT_RUN = frozenset({"not checked", "skipped", "check was interrupted by user"})


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str  # mutmut's, e.g. reservations.lifecycle.x_offset__mutmut_12
    module: str  # reservations.lifecycle
    function: str  # offset, or Class.method
    status: str  # mutmut's word for its verdict
    before: str  # the changed lines as written (stripped, one per line)
    after: str  # and as mutated

    @property
    def where(self) -> str:
        return f"{self.module}.{self.function}"


def function_of(name: str) -> tuple[str, str]:
    """(module, function) of a mutant's name: ``x_f`` is function ``f``, ``xǁCǁm`` is
    method ``C.m``."""
    mangled = name.partition("__mutmut_")[0]
    module, _, generated = mangled.rpartition(".")
    if generated.startswith("x\u01c1"):
        _, cls, method = generated.split("\u01c1")
        return module, f"{cls}.{method}"
    return module, generated.removeprefix("x_")


def changed_lines(diff: str) -> tuple[str, str]:
    """The lines a unified diff removes and adds, stripped, without its headers."""
    lines = [x for x in diff.splitlines() if not x.startswith(("---", "+++", "@@"))]
    before = "\n".join(x[1:].strip() for x in lines if x.startswith("-"))
    after = "\n".join(x[1:].strip() for x in lines if x.startswith("+"))
    return before, after


@contextmanager
def _in_stage() -> Iterator[None]:
    # mutmut reads its configuration and results relative to the working directory.
    previous = Path.cwd()
    os.chdir(STAGE)
    try:
        yield
    finally:
        os.chdir(previous)


def read_mutants() -> list[Mutant]:
    """Every mutant mutmut generated, with its verdict (``not checked`` until run)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    found: list[Mutant] = []
    with _in_stage():
        for path in sorted(walk_mutatable_files()):
            data = SourceFileMutationData(path=path)
            data.load()
            for name, exit_code in sorted(data.exit_code_by_key.items()):
                status = status_by_exit_code[exit_code]
                before = after = ""
                if status not in KILLED and status not in NOT_RUN:
                    before, after = changed_lines(get_diff_for_mutant(name, path=path))
                module, function = function_of(name)
                found.append(Mutant(name, module, function, status, before, after))
    return found


def module_names() -> list[str]:
    """Every module of the domain layer, as ``make mutation MODULES=...`` names them."""
    names = []
    for path in sorted((LAYER / PACKAGE).rglob("*.py")):
        parts = path.relative_to(LAYER / PACKAGE).with_suffix("").parts
        if parts[-1] != "__init__":
            names.append(".".join(parts))
    return names
