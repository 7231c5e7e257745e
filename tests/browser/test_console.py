"""The operator console in a real browser: Debian's Chromium driven by Playwright, against
``make run`` (``python -m local.run``) on a free loopback port. Holds are placed through the
API, seen in the console, one is cancelled with a click and its stock comes back; the ERP
dead-letter queue and the drift check are used as an operator would. axe-core checks every
screen (labels, keyboard, contrast; WCAG 2 A and AA rules), and each screen's screenshot is
written where CONSOLE_SCREENSHOTS says (docs/console: `make console-screenshots`).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.browser import CHROMIUM_ARGS, BrowserUnavailable, axe_core_script, chromium
from tests.conftest import sqs_client_for
from tests.support.local_stack import Stack, call, printed, start_stack

pytestmark = pytest.mark.browser
SKU, LOCATION = "MUG-BLUE", "WH-LONDON"  # of the demo catalogue make run seeds


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("console-stack"))
    yield running
    assert running.stop() == 0, running.stderr()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    try:
        executable = chromium()
        axe_core_script()
    except BrowserUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    # The console's Content-Security-Policy allows only its own scripts; axe is injected by
    # the test, so the test's context sets the policy aside (the page's own code does not).
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def accessible(page: Any) -> None:
    """No axe-core violation of the WCAG 2 A and AA rules on the screen as it is."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_core_script()))
    violations = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ["wcag2a", "wcag2aa"]})).violations
            .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(" ")).join(", ")})`)"""
    )
    assert violations == []


def screen(page: Any, shots: Path, name: str) -> None:
    accessible(page)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def hold(stack: Stack, rid: str, quantity: int, order: str) -> None:
    body = {"id": rid, "orderId": order, "items": [{"sku": SKU, "location": LOCATION,
                                                     "quantity": quantity}]}  # fmt: skip
    assert call("POST", f"{stack.url}/reservations", body).status == 201


def available(stack: Stack) -> int:
    levels = call("GET", f"{stack.url}/inventory/{SKU}").json["locations"]
    found: int = {x["location"]: x["available"] for x in levels}[LOCATION]
    return found


def test_an_operator_sees_holds_cancels_one_and_uses_the_queue_and_drift_screens(
    stack: Stack, page: Any, shots: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    first, second, order = f"web-{run}-1", f"web-{run}-2", f"order-{run}"
    before = available(stack)
    hold(stack, first, 2, order)
    hold(stack, second, 1, order)
    assert available(stack) == before - 3

    page.goto(f"{stack.url}/console")
    page.get_by_role("button", name="Sign in (development)").wait_for()
    screen(page, shots, "sign-in")
    page.get_by_role("button", name="Sign in (development)").click()

    # Stock and holds of the sku: both holds, with channel and order.
    page.get_by_label("SKU").fill(SKU)
    page.keyboard.press("Enter")  # the form works from the keyboard
    holds = page.get_by_role("table", name=f"Live holds on {SKU}")
    holds.get_by_role("link", name=first).wait_for()
    row = holds.get_by_role("row").filter(has_text=first)
    assert "storefront" in row.inner_text() and order in row.inner_text()
    stock = page.get_by_role("table", name=f"Stock of {SKU} per location")
    assert str(before - 3) in stock.get_by_role("row").filter(has_text=LOCATION).inner_text()
    screen(page, shots, "stock-and-holds")

    # A hold's lines, then cancelled with a click.
    holds.get_by_role("link", name=first).click()
    page.get_by_role("heading", name=f"Reservation {first}").wait_for()
    lines = page.get_by_role("table", name="Lines")
    assert re.search(rf"{SKU}\s+{LOCATION}\s+2\s+2\s+0\s+0\s+0", lines.inner_text())
    screen(page, shots, "reservation")
    page.get_by_role("button", name="Cancel the hold").click()
    page.locator("#reservation-status", has_text="CANCELLED").wait_for()
    assert "Cancel: done." in page.locator("#status").inner_text()
    assert available(stack) == before - 1  # its 2 units are back

    # Back on the sku: the cancelled hold is gone and its stock is available again.
    page.goto(f"{stack.url}/console#/sku/{SKU}")
    holds = page.get_by_role("table", name=f"Live holds on {SKU}")
    holds.get_by_role("link", name=second).wait_for()
    assert first not in holds.inner_text()
    stock = page.get_by_role("table", name=f"Stock of {SKU} per location")
    assert str(before - 1) in stock.get_by_role("row").filter(has_text=LOCATION).inner_text()

    # Find the order's holds.
    page.get_by_role("link", name="Find an order").click()
    page.get_by_label("Order id").fill(order)
    page.get_by_role("button", name="Show").click()
    found = page.get_by_role("table", name=f"Holds of order {order}")
    found.get_by_role("link", name=second).wait_for()
    assert "CANCELLED" in found.get_by_role("row").filter(has_text=first).inner_text()
    screen(page, shots, "orders")

    # The ERP dead-letter queue: a poison message, its reason, and a redrive.
    sqs = sqs_client_for(printed(stack, "SQS"))
    poison = f'{{"type": "nope-{run}"}}'
    sqs.send_message(QueueUrl=printed(stack, "ERP queue"), MessageGroupId=SKU, MessageBody=poison)
    deadline = time.monotonic() + 30
    while True:
        page.get_by_role("link", name="ERP dead letters").click()
        table = page.get_by_role("table", name=re.compile("did not take effect"))
        table.wait_for()
        if f"nope-{run}" in table.inner_text():
            break
        assert time.monotonic() < deadline, "the poison message never reached the DLQ"
        page.goto(f"{stack.url}/console#/sku")
        time.sleep(0.5)
    row = table.get_by_role("row").filter(has_text=f"nope-{run}")
    assert f"unknown message type 'nope-{run}'" in row.inner_text()
    screen(page, shots, "dead-letters")
    row.get_by_role("button", name=re.compile("^Redrive message")).click()
    page.locator("#status", has_text="Redriven to the ERP queue").wait_for()

    # Which order holds a label: its screen names the hold and the order, and leads there.
    label = f"SN-{run}"
    stocked = {"sku": f"CAM-{run}", "location": LOCATION, "quantity": 1, "bin": "A-01"}
    assert call("PUT", f"{stack.url}/labels/{label}", stocked).status == 201
    on_label = {"id": f"web-{run}-3", "orderId": order,
                "items": [{"sku": stocked["sku"], "location": LOCATION, "labels": [label]}]}  # fmt: skip
    assert call("POST", f"{stack.url}/reservations", on_label).status == 201
    page.get_by_role("link", name="Find a label").click()
    page.get_by_label("Label").fill(label)
    page.get_by_role("button", name="Show").click()
    page.locator("#label-status", has_text="RESERVED").wait_for()
    assert order in page.locator("main").inner_text()
    screen(page, shots, "label")
    page.get_by_role("link", name=f"web-{run}-3").click()
    lines = page.get_by_role("table", name="Lines")
    lines.get_by_text(label).wait_for()

    # The drift check.
    page.get_by_role("link", name="Drift check").click()
    page.get_by_role("button", name="Run the drift check").click()
    page.get_by_text("No drift.").wait_for()
    screen(page, shots, "drift")
