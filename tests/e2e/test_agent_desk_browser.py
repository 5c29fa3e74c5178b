"""The agent's web page in headless Chromium against the local stack (issue 5): the agent logs
in with their token, goes available, an order that needs a call is dialed agent-first through
the Twilio stand-in, the page shows the screen pop, and the outcome saved on the page confirms
the order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import OutcomeItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee
from tests.e2e.conftest import ShopApi
from tests.e2e.desk_browser import HAS_CHROMIUM, NO_CHROMIUM, chromium, text_of, wait_for

OLEH = "client:oleh"
OLEH_TOKEN = "demo-agent-oleh-0001"  # config/demo.toml; Oleh may not see callers' numbers

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


@pytest.fixture
def browser() -> Iterator[Any]:
    # Oleh's softphone registers a Device once he is available: the Voice SDK's is replaced by the
    # test double (no Twilio here); his calls are answered by the stand-in's scripted agent.
    with chromium() as driver:
        yield driver


def test_an_agent_logs_in_goes_available_sees_the_screen_pop_and_confirms_the_order_on_the_page(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # GIVEN an order that asks for a call, with nobody available yet
    customer = "+380671250001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=3, talk_seconds=25))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60))
    created = shop_api.post_order(
        {
            "order_number": "WEB-1",
            "phone": "067 125 00 01",
            "customer_name": "Olena",
            "total": "255.00",
            "items": [{"sku": "ROSE-RED", "name": "Red roses", "quantity": 3, "price": "85.00"}],
            "needs_call": True,
        },
        key="agent-desk-web-1",
    )
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assert stack.wait_quiet(timeout=60)

    # WHEN Oleh opens the desk (its policy runs no script but the page's own: no inline
    # script or handler another hand slipped in), logs in with his token and goes available
    page = requests.get(f"{stack.api_url}/agent", timeout=15)
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"].startswith("'sha256-") and "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
    browser.get(f"{stack.api_url}/agent")
    browser.find_element(By.ID, "token").send_keys(OLEH_TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(browser, lambda d: text_of(d, "agent-name") == "Oleh", "the agent's name")
    assert text_of(browser, "agent-status") == "offline"
    assert text_of(browser, "no-call") == "No call right now."
    browser.find_element(By.ID, "status-available").click()
    wait_for(browser, lambda d: text_of(d, "agent-status") == "available", "the new status")
    assert dynamo_store().get_agent("demo", "oleh").status == "available"  # type: ignore[union-attr]

    # AND the dialer gives him the customer's call (the schedule runs each simulated minute)
    for _ in range(30):
        if [leg for leg in stack.standin.calls if leg.to == OLEH]:
            break
        clock.advance(timedelta(minutes=1))
        time.sleep(0.2)
    assert stack.wait_quiet(timeout=60)
    [agent_leg] = [leg for leg in stack.standin.calls if leg.to == OLEH]

    # THEN the page shows the screen pop: the masked number, the customer, the order and its items
    wait_for(browser, lambda d: d.find_element(By.ID, "pop").is_displayed(), "the screen pop")
    assert text_of(browser, "caller-phone") == "+380*******01"
    assert text_of(browser, "caller-name") == "Olena"
    assert text_of(browser, "pop-shop") == "Kvitka Flowers"
    assert agent_leg.sid in text_of(browser, "call-sid")
    # (read in one script: the desk's poll may redraw the table between two WebDriver reads)
    [(row, status)] = browser.execute_script(
        "return [...document.querySelectorAll('#orders tr.order')]"
        ".map(row => [row.innerText, row.querySelector('.order-status').innerText]);"
    )
    assert "WEB-1" in row and "255.00 UAH" in row and "3 × Red roses" in row
    assert status == "queued"
    assert "Order WEB-1 (queued)" in text_of(browser, "contacts")

    # WHEN he records "confirmed" with a comment
    Select(browser.find_element(By.ID, "outcome-select")).select_by_value("confirmed")
    browser.find_element(By.ID, "outcome-comment").send_keys("Deliver after 18:00")
    browser.find_element(By.ID, "save-outcome").click()
    wait_for(browser, lambda d: text_of(d, "outcome-result").startswith("Saved: confirmed"), "the saved outcome")

    # THEN the outcome is stored as his, and the order is confirmed
    [saved] = list(OutcomeItem.query(agent_leg.sid))
    assert (saved.agent_id, saved.outcome, saved.comment) == ("oleh", "confirmed", "Deliver after 18:00")
    assert shop_api.order(order_id)["status"] == "confirmed"
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#orders .order-status").text == "confirmed", "it")
    # and the page's script never failed (404s while no call was on the desk are answers, not
    # errors), nor did the browser refuse anything of the page under its policy
    logged = browser.get_log("browser")
    assert [e["message"] for e in logged if "Content Security Policy" in e["message"]] == []
    errors = [e["message"] for e in logged if e["level"] == "SEVERE"]
    assert [message for message in errors if "Failed to load resource" not in message] == []
