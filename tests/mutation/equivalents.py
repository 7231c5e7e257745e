"""Mutants no test can kill because they change nothing a caller can observe, each with the
reason. An entry names the function and the changed line before and after (as the report
shows them), not mutmut's number, which moves whenever the function changes; an entry that
no longer matches a mutant of a module that ran is reported as stale."""

from __future__ import annotations

from dataclasses import dataclass

from .results import PACKAGE, Mutant


@dataclass(frozen=True, slots=True)
class Equivalent:
    module: str  # as in the table: lifecycle, store.stock
    function: str  # offset, or Class.method
    before: str
    after: str
    reason: str

    def matches(self, mutant: Mutant) -> bool:
        return (
            mutant.module == f"{PACKAGE}.{self.module}"
            and mutant.function == self.function
            and (mutant.before, mutant.after) == (self.before, self.after)
        )


EQUIVALENTS: tuple[Equivalent, ...] = ()
