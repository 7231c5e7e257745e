"""One sku's stock split into buckets, as part 2 of issue 17 plans it: a reserve takes from
one bucket chosen at random among those with enough; when none has enough though the
total does, units are moved between buckets first. Conditions are checked where DynamoDB
checks them, at the write, so no interleaving can oversell."""

from __future__ import annotations

import random
from dataclasses import dataclass

PLENTY = 10**12  # "far more than the run can take", per bucket
# The API allows 1 to 64; the model looks further only to say what a target would take.
MODEL_MAX_BUCKETS = 256


@dataclass(frozen=True, slots=True)
class Move:
    """Units to move into ``target``, from each donor: ``donors[i]`` gives ``amounts[i]``."""

    target: int
    donors: tuple[int, ...]
    amounts: tuple[int, ...]

    @property
    def buckets(self) -> tuple[int, ...]:
        return (self.target, *self.donors)


class Buckets:
    def __init__(self, count: int, stock: int | None) -> None:
        if not 1 <= count <= MODEL_MAX_BUCKETS:
            raise ValueError(f"1 to {MODEL_MAX_BUCKETS} buckets")
        self.stock = stock
        if stock is None:
            self.available = [PLENTY] * count
        else:
            share, extra = divmod(stock, count)
            self.available = [share + (1 if i < extra else 0) for i in range(count)]
        self.taken = 0

    @property
    def total(self) -> int:
        return sum(self.available)

    def choose(self, rng: random.Random, quantity: int) -> int | None:
        """A bucket at random among those with enough, as the service would see them
        (the model gives it each bucket's committed value at no request's cost)."""
        enough = [i for i, units in enumerate(self.available) if units >= quantity]
        return rng.choice(enough) if enough else None

    def take(self, bucket: int, quantity: int) -> bool:
        """The reserve's conditioned update: ``available >= quantity``."""
        if self.available[bucket] < quantity:
            return False
        self.available[bucket] -= quantity
        self.taken += quantity
        return True

    def plan_move(self, quantity: int) -> Move | None:
        """Fill the fullest bucket up to ``quantity`` from the next fullest ones; None when
        the total falls short too (then the line is refused for want of stock)."""
        if self.total < quantity:
            return None
        order = sorted(range(len(self.available)), key=lambda i: -self.available[i])
        target, missing = order[0], quantity - self.available[order[0]]
        donors: list[int] = []
        amounts: list[int] = []
        for donor in order[1:]:
            if missing <= 0:
                break
            give = min(missing, self.available[donor])
            if give > 0:
                donors.append(donor)
                amounts.append(give)
                missing -= give
        return Move(target, tuple(donors), tuple(amounts))

    def apply(self, move: Move) -> bool:
        """The rebalance's transaction: each donor conditioned on still having its share."""
        if any(self.available[d] < a for d, a in zip(move.donors, move.amounts, strict=True)):
            return False
        for donor, amount in zip(move.donors, move.amounts, strict=True):
            self.available[donor] -= amount
            self.available[move.target] += amount
        return True

    @property
    def oversold(self) -> int:
        """Units granted beyond the stock (0 when none), or a bucket below zero."""
        negative = -sum(units for units in self.available if units < 0)
        if self.stock is None:
            return negative
        return max(negative, self.taken - self.stock, 0)

    @property
    def conserved(self) -> bool:
        """What is left plus what was taken is what there was."""
        return self.stock is None or self.total + self.taken == self.stock
