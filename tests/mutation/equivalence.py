"""What an equivalent mutant is, and the reasons several share (tests/mutation/equivalents.py)."""

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


FALSY = "only its truth is ever tested, and None is false like False and 0"
UNREACHABLE = "unreachable: the loop returns or raises on its last attempt"
SORTED = (
    "a plain sort of (method, template) puts literal segments first too: identifier "
    "characters all sort below '{'"
)
STRICT = "the lengths were compared just before: strict never has anything to catch"
CONSISTENT = "moto and DynamoDB Local read consistently either way; only AWS could tell them apart"
CASE = "DynamoDB's expression keywords are case-insensitive"
NEVER_SHOWN = "the message of an exception the service always turns into PreconditionFailed"
CODEC = "Python's codec names are case-insensitive, and UTF-8 is str.encode's default"
NO_METHOD = "an event without httpMethod: no stand-in for it is a method with a body"


def same_line(
    module: str, function: str, before: str, afters: list[str], reason: str
) -> list[Equivalent]:
    return [Equivalent(module, function, before, after, reason) for after in afters]
