"""The desk's Call button (issue 17): from the screen pop of an ended call, the agent calls the
customer back; the agent's softphone rings first, then the customer, once for a double click."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee
from tests.e2e.conftest import ShopApi
from tests.e2e.test_agent_desk_browser import OLEH, OLEH_TOKEN, browser, pytestmark, text_of, wait_for

__all__ = ["browser", "pytestmark"]  # the desk test's Chromium fixture and its skip mark


def test_the_call_button_on_the_screen_pop_calls_the_customer_back_once(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN Oleh's desk showing the pop of an agent-first call about an order, now ended
    customer = "+380671250077"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=15))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60))
    body = {"order_number": "WEB-77", "phone": "067 125 00 77", "customer_name": "Ivan", "needs_call": True}
    created = shop_api.post_order(
        body | {"total": "99.00", "items": [{"sku": "TULIP", "quantity": 1, "price": "99.00"}]}
    )
    assert created.status_code == 201, created.text
    assert stack.wait_quiet(timeout=60)
    browser.get(f"{stack.api_url}/agent")
    browser.find_element(By.ID, "token").send_keys(OLEH_TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(browser, lambda d: text_of(d, "agent-name") == "Oleh", "the agent's name")
    browser.find_element(By.ID, "status-available").click()
    wait_for(browser, lambda d: text_of(d, "agent-status") == "available", "the new status")
    for _ in range(30):
        if [leg for leg in stack.standin.calls if leg.to == customer]:
            break
        clock.advance(timedelta(minutes=1))
        time.sleep(0.2)
    assert stack.wait_quiet(timeout=60)
    wait_for(browser, lambda d: d.find_element(By.ID, "pop").is_displayed(), "the screen pop")
    clock.advance(timedelta(minutes=2))  # the wrap-up is over: Oleh is free again
    offers_before = len([leg for leg in stack.standin.calls if leg.to == OLEH])

    # WHEN he clicks Call twice
    button = browser.find_element(By.ID, "call-customer")
    button.click()
    button.click()

    # THEN the page says his phone rings first, and the customer is called once more, once
    wait_for(browser, lambda d: text_of(d, "call-result").startswith("Calling"), "the call placed")
    assert stack.wait_quiet(timeout=60)
    assert len([leg for leg in stack.standin.calls if leg.to == OLEH]) == offers_before + 1
    assert len([leg for leg in stack.standin.calls if leg.to == customer]) == 2
