"""The demo catalogue a fresh local table starts with, and how ``make run`` shows it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from reservations.store import Store


@dataclass(frozen=True, slots=True)
class Stock:
    sku: str
    location: str
    on_hand: int


# What a fresh table starts with: enough to try holds, a replay, a shortage and oversell.
DEMO_CATALOGUE = (
    Stock("MUG-BLUE", "WH-LONDON", 25),
    Stock("MUG-BLUE", "STORE-PARIS", 8),
    Stock("TSHIRT-M-RED", "WH-LONDON", 40),
    Stock("TSHIRT-M-RED", "STORE-PARIS", 12),
    Stock("POSTER-A2", "WH-LONDON", 3),
)
DEMO_SKUS = tuple(dict.fromkeys(stock.sku for stock in DEMO_CATALOGUE))


def seed(table: Store) -> None:
    now = int(time.time())
    for stock in DEMO_CATALOGUE:
        table.stock.set_on_hand(stock.sku, stock.location, stock.on_hand, now)


def catalogue_lines(table: Store) -> list[str]:
    lines = [f"  {'sku':<14} {'location':<12} {'onHand':>7} {'reserved':>9} {'available':>10}"]
    for sku in DEMO_SKUS:
        for level in table.stock.get_inventory(sku).locations:
            lines.append(
                f"  {level.sku:<14} {level.location:<12} {level.on_hand:>7} "
                f"{level.reserved:>9} {level.available:>10}"
            )
    if len(lines) == 1:
        lines = ["  (none of the demo skus has stock in this table)"]
    return lines
