"""A cold transfer to the shop's outside number from the agent's page (issue 17), in headless
Chromium against the local stack (as test_warm_transfer_browser.py: only the Voice SDK's
Device is replaced, the test relays Twilio's signalling to the page)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamo.schema import CallItem
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour
from tests.e2e.desk_browser import HAS_CHROMIUM, NO_CHROMIUM, text_of, wait_for
from tests.e2e.test_warm_transfer_browser import (  # noqa: F401 (pages, stack: this module's fixtures too)
    control_result,
    double,
    in_room,
    legs_to,
    oleh_takes_a_call,
    pages,
    ringing_leg_to,
    stack,
    until,
)

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
WORKSHOP = "+380442345678"  # config/demo.toml: desk.transfer_numbers


def test_the_agent_hands_the_caller_to_the_shops_outside_number_from_the_page(
    stack: LocalStack,  # noqa: F811
    pages: dict[str, Any],  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    oleh = pages["oleh"]
    # GIVEN Oleh on a call from his page, and the workshop line, where someone answers and stays
    caller, heard, caller_sid, oleh_leg = oleh_takes_a_call(stack, pages, "+380671280010")
    stack.standin.register_agent(WORKSHOP, AgentBehaviour(answers=True, accept_digits=None, talk_seconds=None))
    before = legs_to(stack, WORKSHOP)
    # WHEN he picks "outside number", types it as he knows it (warm left selected) and transfers
    Select(oleh.find_element(By.ID, "transfer-kind")).select_by_value("to_number")
    oleh.find_element(By.ID, "transfer-to").send_keys("044 234 5678")
    Select(oleh.find_element(By.ID, "transfer-mode")).select_by_value("warm")
    oleh.find_element(By.ID, "transfer").click()
    # THEN the page says the caller waits for the number (cold: outside numbers cannot be consulted)
    control_result(oleh, f"Transferred to {WORKSHOP}: the caller waits on hold until they answer.")
    # AND he is out of the call (Twilio ends his browser's leg), and his page shows it ended
    until(lambda: oleh_leg.status == "completed", "Oleh's leg ended")
    double(oleh, "remoteHangUp()")
    wait_for(oleh, lambda d: text_of(d, "call-ended").startswith("Call ended after"), "the end on the page")
    # AND the workshop, dialled from the shop's caller ID, talks to the caller, off hold
    workshop = ringing_leg_to(stack, WORKSHOP, before)
    assert workshop.from_ == "+380441234567"
    until(lambda: in_room(stack, caller_sid) == {caller_sid: False, workshop.sid: False}, "the caller with it")
    until(lambda: CallItem.get(caller_sid).transferred_to_number == WORKSHOP, "the transfer recorded")
    # AND the call stays on Oleh's desk for its outcome, his page's form ready
    wait_for(oleh, lambda d: d.find_element(By.ID, "outcome-form").is_displayed(), "Oleh's outcome form")
    assert text_of(oleh, "call-sid") == caller_sid
    # WHEN the workshop hangs up, the caller's call ends (rated), nobody left in the room
    stack.standin.engine.update_call(workshop, status="completed", url=None, method="POST", twiml=None)
    caller.join(timeout=60)
    assert not caller.is_alive()
    assert "Thank you for your answer. Goodbye!" in heard["call"].heard()
    assert stack.standin.application_errors() == []
