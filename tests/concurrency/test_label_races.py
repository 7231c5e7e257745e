"""32 clients fighting over the same 5 labels on DynamoDB Local, plainly and through the
contention-faithful proxy (which cancels transactions that touch an item another one has
in flight, as DynamoDB does): a label is held by at most one hold, every hold got all its
labels or none, and the drift check (labels included) is clean."""

from __future__ import annotations

import random
from typing import Any

import pytest

from reservations.commands import ReserveLine, ReserveRequest
from reservations.errors import Contention, LabelUnavailable
from reservations.labelling import LabelWrite
from reservations.records import LabelStatus, Reservation
from reservations.service import ReservationService
from tests.support.invariants import check_invariants
from tests.support.race import race

LABELS = [f"L-{i}" for i in range(5)]
CLIENTS = 32


def wanted(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.sample(LABELS, rng.randint(1, 2)))


@pytest.mark.parametrize("seed", [1, 2])
def test_each_label_is_held_by_at_most_one_hold(
    racing: ReservationService, local_client: Any, local_table: str, seed: int
) -> None:
    rng = random.Random(seed)
    for name in LABELS:
        racing.labels.put(LabelWrite(name, "S", "WH1", rng.randint(1, 3)))
    asks = [wanted(rng) for _ in range(CLIENTS)]
    tasks = [
        lambda labels=labels: (
            racing.reserve(
                ReserveRequest((ReserveLine("S", "WH1", 0, labels=labels),)), "web"
            ).reservation
        )
        for labels in asks
    ]

    outcomes = race(*tasks)

    granted = [o for o in outcomes if isinstance(o, Reservation)]
    refused = [o for o in outcomes if isinstance(o, LabelUnavailable | Contention)]
    assert len(granted) + len(refused) == CLIENTS, [o for o in outcomes if o not in granted]
    assert granted and any(isinstance(o, LabelUnavailable) for o in refused)
    holders: dict[str, str] = {}
    for hold in granted:
        for label in hold.lines[0].labels:
            assert label.label not in holders, f"{label.label} held twice"
            holders[label.label] = hold.id
    for name in LABELS:
        stored = racing.labels.get(name)
        if name in holders:
            assert (stored.status, stored.reservation_id) == (LabelStatus.RESERVED, holders[name])
        else:
            assert stored.status is LabelStatus.ACTIVE
    check_invariants(local_client, local_table)

    # Round two: the holders let go while the others try again; still one holder each.
    releases = [lambda rid=hold.id: racing.cancel(rid) for hold in granted]
    retries = [tasks[i] for i, o in enumerate(outcomes) if o not in granted]
    again = race(*releases, *retries)
    regranted = [o for o in again[len(releases) :] if isinstance(o, Reservation)]
    held = [x.label for hold in regranted for x in hold.lines[0].labels]
    assert len(held) == len(set(held))
    check_invariants(local_client, local_table)
