"""The ERP's receipt ledger on its own (moto in-process): a receipt per message, claims with
a lease for a message applied in steps, and how long each is kept."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reservations.errors import Contention
from reservations.records import Receipt
from reservations.store import AlreadyApplied, MessageInProgress
from reservations.store.keys import receipt_key
from reservations.store.receipts import ReceiptLedger, raise_if_receipt_exists
from reservations.store.retry import RetryPolicy
from reservations.store.transact import CONDITION_FAILED, CancellationReason
from tests.support.engine_hooks import conflicts, requests_seen, without_old_items

NOW = 1_000_000
RETENTION = 5_000
LEASE = 120
MESSAGE = Receipt("offset", "auto-1", "fingerprint-1")


@pytest.fixture
def ledger(moto_client: Any, moto_table: str) -> ReceiptLedger:
    return ReceiptLedger(moto_client, moto_table, RETENTION, RetryPolicy(2, 0.001, 0.001))


@pytest.fixture
def item(moto_client: Any, moto_table: str) -> Any:
    def read(part: str | None = None) -> dict[str, Any] | None:
        key = receipt_key(MESSAGE.kind, MESSAGE.message_id, part)
        found: dict[str, Any] | None = moto_client.get_item(
            TableName=moto_table, Key=key, ConsistentRead=True
        ).get("Item")
        return found

    return read


def test_a_receipt_is_kept_for_the_retention_from_when_it_applied(
    ledger: ReceiptLedger, item: Any
) -> None:
    assert ledger.keep_until(NOW) == NOW + RETENTION
    ledger.record(MESSAGE, NOW)
    stored = item()
    assert (int(stored["appliedAt"]["N"]), int(stored["purgeAt"]["N"])) == (NOW, NOW + RETENTION)
    with pytest.raises(AlreadyApplied) as again:
        ledger.record(MESSAGE, NOW + 10)
    assert again.value.existing == MESSAGE
    assert int(item()["purgeAt"]["N"]) == NOW + RETENTION  # the first one stands


def test_a_claim_is_kept_only_for_its_lease_and_a_second_delivery_waits(
    ledger: ReceiptLedger, item: Any
) -> None:
    claim = ledger.claim(MESSAGE, NOW, NOW + LEASE)
    stored = item()
    assert stored["state"]["S"] == "claimed"
    assert (int(stored["leaseUntil"]["N"]), int(stored["purgeAt"]["N"])) == (
        NOW + LEASE,
        NOW + LEASE,
    )
    assert stored["owner"]["S"] == claim.owner
    assert (claim.parts, claim.covered) == ((), 0)
    with pytest.raises(MessageInProgress) as waiting:
        ledger.claim(MESSAGE, NOW + LEASE, NOW + 2 * LEASE)  # at its last second: still held
    assert str(waiting.value) == "auto-1"  # what the ERP function's error log names


def test_completing_a_claim_turns_it_into_the_receipt(ledger: ReceiptLedger, item: Any) -> None:
    claim = ledger.claim(MESSAGE, NOW, NOW + LEASE)
    ledger.complete(claim, 7, NOW + 5)
    stored = item()
    assert "state" not in stored and "owner" not in stored and "leaseUntil" not in stored
    assert (int(stored["applied"]["N"]), int(stored["purgeAt"]["N"])) == (7, NOW + 5 + RETENTION)
    with pytest.raises(AlreadyApplied) as finished:
        ledger.claim(MESSAGE, NOW + 6, NOW + 6 + LEASE)
    assert finished.value.existing.applied == 7


def test_a_lease_taken_over_is_no_longer_the_first_deliverys_to_complete(
    ledger: ReceiptLedger, item: Any
) -> None:
    first = ledger.claim(MESSAGE, NOW, NOW + LEASE)
    later = NOW + LEASE + 1  # the first delivery's lease ran out: it is taken over
    second = ledger.claim(MESSAGE, later, later + LEASE)
    assert second.owner != first.owner
    assert item()["owner"]["S"] == second.owner
    # The first delivery wakes up and tries to finish: the claim is not its own any more.
    with pytest.raises(AlreadyApplied):
        ledger.complete(first, 1, later + 1)
    stored = item()
    assert (stored["state"]["S"], stored["owner"]["S"]) == ("claimed", second.owner)
    ledger.complete(second, 2, later + 2)
    assert int(item()["applied"]["N"]) == 2


def test_a_delivery_that_takes_over_resumes_from_the_parts_done(
    ledger: ReceiptLedger, item: Any
) -> None:
    first = ledger.claim(MESSAGE, NOW, NOW + LEASE)
    ledger.record(replace(first.part("r1"), applied=2), NOW + 1)  # one hold done, then it died
    second = ledger.claim(MESSAGE, NOW + LEASE + 1, NOW + 2 * LEASE + 1)
    assert [p.part for p in second.parts] == ["r1"]
    assert second.covered == 2
    assert second.done("r1") and not second.done("r2")
    assert int(item("r1")["purgeAt"]["N"]) == NOW + 1 + RETENTION


def test_an_id_used_again_for_another_message_is_refused_at_the_claim(
    ledger: ReceiptLedger,
) -> None:
    ledger.claim(MESSAGE, NOW, NOW + LEASE)
    other = Receipt("offset", "auto-1", "fingerprint-2")
    with pytest.raises(AlreadyApplied) as reused:
        ledger.claim(other, NOW + 1, NOW + 1 + LEASE)
    assert reused.value.existing.fingerprint == "fingerprint-1"


# --- engines and faults the test engine does not produce on its own -------------------------


def test_claims_are_refused_alike_by_an_engine_that_omits_the_old_item(
    ledger: ReceiptLedger, moto_client: Any
) -> None:
    claim = ledger.claim(MESSAGE, NOW, NOW + LEASE)
    with without_old_items(moto_client, "PutItem"), requests_seen(moto_client) as seen:
        with pytest.raises(MessageInProgress):
            ledger.claim(MESSAGE, NOW + 1, NOW + 1 + LEASE)
        with pytest.raises(AlreadyApplied) as reused:
            ledger.claim(replace(MESSAGE, fingerprint="other"), NOW + 1, NOW + 1 + LEASE)
        assert reused.value.existing.fingerprint == MESSAGE.fingerprint
        ledger.complete(claim, 4, NOW + 2)
        with pytest.raises(AlreadyApplied) as finished:
            ledger.claim(MESSAGE, NOW + 3, NOW + 3 + LEASE)
        assert finished.value.existing == replace(MESSAGE, applied=4)
    # What the refusal left out was read instead, and strongly: a claim just written counts.
    reads = [params for operation, params in seen if operation == "GetItem"]
    assert len(reads) == 3
    assert all(
        p["Key"] == receipt_key("offset", "auto-1", None) and p["ConsistentRead"] is True
        for p in reads
    )


def test_a_receipt_whose_transaction_met_a_conflict_is_written_by_the_retry(
    ledger: ReceiptLedger, moto_client: Any, item: Any
) -> None:
    with conflicts(moto_client, 1) as sent:
        ledger.record(MESSAGE, NOW)
    assert len(sent) == 2
    assert sent[0]["ClientRequestToken"] != sent[1]["ClientRequestToken"]
    assert int(item()["appliedAt"]["N"]) == NOW


def test_a_receipt_that_keeps_conflicting_gives_up_and_is_not_written(
    ledger: ReceiptLedger, moto_client: Any, item: Any
) -> None:
    with conflicts(moto_client, 99) as sent, pytest.raises(Contention):
        ledger.record(MESSAGE, NOW)
    assert len(sent) == 2  # the ledger's policy: two attempts
    assert item() is None


def test_a_refused_receipt_without_the_old_item_is_still_a_duplicate() -> None:
    with pytest.raises(AlreadyApplied) as duplicate:
        raise_if_receipt_exists(CancellationReason(CONDITION_FAILED, None))
    # Nothing to compare the message with: nothing that could make it poison.
    assert duplicate.value.existing == Receipt(kind="", message_id="", fingerprint="")
    assert str(duplicate.value) == "  already applied"
    raise_if_receipt_exists(CancellationReason("None", None))  # not the receipt: no answer


def test_a_claim_is_on_the_whole_message_and_applies_nothing_yet(
    ledger: ReceiptLedger, item: Any
) -> None:
    ledger.claim(replace(MESSAGE, applied=5, part="r1"), NOW, NOW + LEASE)
    assert item("r1") is None
    assert int(item()["applied"]["N"]) == 0


def test_a_part_of_another_message_under_the_same_id_is_refused_at_the_claim(
    ledger: ReceiptLedger,
) -> None:
    ledger.record(Receipt("offset", "auto-1", "fingerprint-2", applied=1, part="r1"), NOW)
    with pytest.raises(AlreadyApplied) as reused:
        ledger.claim(MESSAGE, NOW + 1, NOW + 1 + LEASE)
    assert (reused.value.existing.part, reused.value.existing.fingerprint) == (
        "r1",
        "fingerprint-2",
    )


def test_completing_a_claim_through_a_conflict_retries(
    ledger: ReceiptLedger, moto_client: Any, item: Any
) -> None:
    claim = ledger.claim(MESSAGE, NOW, NOW + LEASE)
    with conflicts(moto_client, 1) as sent:
        ledger.complete(claim, 2, NOW + 1)
    assert len(sent) == 2
    # A conflicted transaction was never applied: the retry is a new one, with a new token.
    tokens = [params["ClientRequestToken"] for params in sent]
    assert all(isinstance(token, str) and token for token in tokens)
    assert tokens[0] != tokens[1]
    assert int(item()["applied"]["N"]) == 2
