"""``make run`` as a developer uses it: ``python -m local.run`` in its own process, over HTTP.

The ERP queues it prints (``make erp-send`` reaches the ERP function, a poison message lands
in the dead-letter queue, queues go to the endpoint it is given) and its event bus (events
print as they pass, ``make events`` follows them, a dead letter is told on the bus).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from local.catalogue import DEMO_CATALOGUE
from local.engines import Engine
from local.template import ROOT
from tests.conftest import sqs_client_for
from tests.support.local_stack import PYTHONPATH, Stack, call, printed, start_stack, wait_for

# --- the ERP queue --------------------------------------------------------------------------


def test_the_printed_erp_send_reaches_the_erp_function(stack: Stack) -> None:
    [command] = [line.strip() for line in stack.stdout().splitlines() if "make erp-send" in line]
    body = json.loads(re.search(r"BODY='(.+)'", command).group(1))  # type: ignore[union-attr]

    def on_hand() -> int:
        levels = call("GET", f"{stack.url}/inventory/{body['sku']}").json["locations"]
        found: int = {x["location"]: x["onHand"] for x in levels}[body["location"]]
        return found

    assert on_hand() != body["onHand"], "the example would change nothing: it proves nothing"
    sent = subprocess.run(
        shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + 20
    while True:
        if on_hand() == body["onHand"]:
            break
        assert time.monotonic() < deadline, "the ERP message did not take effect"
        time.sleep(0.2)


def test_a_poison_message_lands_in_the_printed_dead_letter_queue(stack: Stack) -> None:
    sqs = sqs_client_for(printed(stack, "SQS"))
    sqs.send_message(
        QueueUrl=printed(stack, "ERP queue"), MessageGroupId="X", MessageBody='{"type": "nope"}'
    )
    deadline = time.monotonic() + 20
    while True:
        got = sqs.receive_message(
            QueueUrl=printed(stack, "ERP DLQ"), MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        if got:
            break
        assert time.monotonic() < deadline, "the poison message never reached the DLQ"
    assert got[0]["Body"] == '{"type": "nope"}'
    assert (
        "unknown message type 'nope'" in got[0]["MessageAttributes"]["failureReason"]["StringValue"]
    )


def test_with_aws_endpoint_url_the_queues_are_created_on_that_endpoint(
    tmp_path: Path, moto_server: Engine
) -> None:
    env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": f"q-{uuid.uuid4().hex[:8]}"}
    running = start_stack(tmp_path, env)
    try:
        assert f"SQS        {moto_server.endpoint}\n" in running.stdout()
        urls = sqs_client_for(moto_server.endpoint).list_queues(QueueNamePrefix=env["TABLE_NAME"])
        names = sorted(url.rsplit("/", 1)[1] for url in urls["QueueUrls"])
        # The ERP's queues, and the queue of the template's example rule on the event bus.
        table = env["TABLE_NAME"]
        assert names == [f"{table}-ErpEventsQueue", f"{table}-erp-dlq.fifo", f"{table}-erp.fifo"]
    finally:
        assert running.stop() == 0


# --- the event bus --------------------------------------------------------------------------


def test_events_print_as_they_pass_and_make_events_follows_them(stack: Stack) -> None:
    exports = re.search(
        r"export AWS_ENDPOINT_URL_EVENTBRIDGE=(\S+) EVENT_BUS_NAME=(\S+)", stack.stdout()
    )
    assert exports, stack.stdout()
    env = {**os.environ, "AWS_ENDPOINT_URL_EVENTBRIDGE": exports[1], "EVENT_BUS_NAME": exports[2]}
    env |= {"PYTHONPATH": PYTHONPATH, "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen(
        [sys.executable, "-m", "local.follow_events"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stderr is not None and follower.stdout is not None
        assert "following" in follower.stderr.readline()  # subscribed: what follows is seen
        rid = f"ev-{uuid.uuid4().hex[:8]}"
        first = DEMO_CATALOGUE[0]
        body = {"id": rid, "items": [{"sku": first.sku, "location": first.location, "quantity": 1}]}
        assert call("POST", f"{stack.url}/reservations", body).status == 201
        assert call("DELETE", f"{stack.url}/reservations/{rid}").status == 200
        wait_for(
            lambda: f"reservation.cancelled {rid}" in stack.stdout(), "make run printed no event"
        )
        assert f"reservation.created {rid} status=ACTIVE version=1" in stack.stdout()
        followed = [follower.stdout.readline() for _ in range(2)]
        kinds = [line.split()[1:3] for line in followed]
        assert kinds == [["reservation.created", rid], ["reservation.cancelled", rid]], followed
    finally:
        follower.terminate()
        follower.wait(timeout=15)


def test_a_dead_lettered_erp_message_is_told_on_the_bus(stack: Stack) -> None:
    sqs = sqs_client_for(printed(stack, "SQS"))
    sent = sqs.send_message(
        QueueUrl=printed(stack, "ERP queue"), MessageGroupId="Y", MessageBody='{"type": "nah"}'
    )
    wait_for(
        lambda: re.search(
            r"erp\.message\.deadLettered \S+ reason=.*unknown message type 'nah'", stack.stdout()
        ),
        "no erp.message.deadLettered was printed",
    )
    assert sent["MessageId"] in stack.stdout()
