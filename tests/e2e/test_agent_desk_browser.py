"""The agent's web page in headless Chromium against the local stack (issue 5): the agent logs
in with their token, goes available, an order that needs a call is dialed agent-first through
the Twilio stand-in, the page shows the screen pop, and the outcome saved on the page confirms
the order."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import OutcomeItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.native_env import native_environment
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee
from tests.e2e.conftest import ShopApi

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OLEH = "client:oleh"
OLEH_TOKEN = "demo-agent-oleh-0001"  # config/demo.toml; Oleh may not see callers' numbers
WAIT = 30.0

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromedriver are not installed (make .local/.stamp-chromium installs them)",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="agent-desk-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), env=native_environment()), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, condition: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(condition, message=f"the page never showed {what}")


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


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
    [row] = browser.find_elements(By.CSS_SELECTOR, "#orders tr.order")
    assert "WEB-1" in row.text and "255.00 UAH" in row.text and "3 × Red roses" in row.text
    assert row.find_element(By.CLASS_NAME, "order-status").text == "queued"
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
