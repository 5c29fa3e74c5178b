"""The agent page's "Call a number" (#17) in headless Chromium against the local stack: the
page's Voice SDK ``device.connect({params: {To}})`` (the double, tests/e2e/voice_sdk_double.js,
logs it) becomes the stand-in's call through the TwiML App (``place_client_call``), as Twilio
places it; the app rings the customer with the shop's caller ID into the call's conference, and
the page shows the call as an incoming one: timer, hold, hang-up, then the outcome form. As in
test_softphone_browser.py the test plays Twilio's signalling for the page."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem, OutcomeItem
from devtools.simclock import SimClock
from devtools.stack import LOCAL_ACCOUNT_SID, LOCAL_TWIML_APP_SID, LocalStack, StackOptions
from devtools.twilio_standin import Callee, CallLeg
from tests.e2e.conftest import MONDAY_NOON_KYIV
from tests.e2e.desk_browser import HAS_CHROMIUM, NO_CHROMIUM, chromium, text_of, wait_for
from tests.e2e.test_softphone_browser import OLEH, SHOP, STANDIN_SPEED, double, go_available, log_in

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
CUSTOMER = "+380671290001"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(MONDAY_NOON_KYIV, speed=1.0)
    outbox = Path(tmp_path_factory.mktemp("outbox"))
    with LocalStack(StackOptions(clock=clock, outbox_dir=outbox, standin_speed=STANDIN_SPEED)) as local:
        yield local


@pytest.fixture
def browser(stack: LocalStack) -> Iterator[Any]:
    AgentItem("demo", "oleh").update(actions=[AgentItem.status.set("offline"), AgentItem.reserved_call_sid.remove()])
    with chromium() as driver:
        yield driver


def _twilio_places_the_pages_call(stack: LocalStack, browser: Any, to: str) -> tuple[threading.Thread, CallLeg]:
    """What Twilio does on the page's ``device.connect``: asks the TwiML App, connects the page's leg."""
    connects = [entry for entry in double(browser, "log") if entry[0] == "connect"]
    assert connects == [["connect", {"To": to}]]
    thread = threading.Thread(
        target=lambda: stack.standin.place_client_call(
            "oleh", to, f"{stack.api_url}/twilio/voice/desk-call", application_sid=LOCAL_TWIML_APP_SID
        ),
        daemon=True,
    )
    thread.start()

    def found(_: Any) -> CallLeg | None:
        return next((leg for leg in stack.standin.calls if leg.from_ == OLEH and leg.to == to), None)

    leg: CallLeg = wait_for(None, found, f"the page's call to {to}")
    assert double(browser, "connected(arguments[0])", leg.sid)
    return thread, leg


def test_an_available_agent_calls_a_number_from_the_page_holds_hangs_up_and_saves_the_outcome(
    stack: LocalStack, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # GIVEN a customer who answers and stays on the line; Oleh logged in: no dial while offline
    stack.standin.set_callee(CUSTOMER, Callee(answer="human", ring_seconds=3, talk_seconds=None))
    log_in(browser, stack)
    assert not browser.find_element(By.ID, "dial").is_displayed()
    # WHEN he goes available, types the customer's number and presses Call
    go_available(browser)
    wait_for(browser, lambda d: d.find_element(By.ID, "dial").is_displayed(), "the Call a number control")
    browser.find_element(By.ID, "dial-to").send_keys(CUSTOMER)
    browser.find_element(By.ID, "dial-call").click()
    wait_for(browser, lambda d: ["connect", {"To": CUSTOMER}] in double(d, "log"), "the page's device.connect")
    thread, oleh_leg = _twilio_places_the_pages_call(stack, browser, CUSTOMER)

    # THEN the page shows the call in progress with its timer; Call cannot be pressed again
    wait_for(browser, lambda d: d.find_element(By.ID, "in-call").is_displayed(), "the call's controls")
    assert not browser.find_element(By.ID, "ringing").is_displayed()
    assert re.fullmatch(r"\d\d:\d\d", text_of(browser, "call-timer"))
    assert not browser.find_element(By.ID, "dial-call").is_enabled()

    # AND the customer's phone rings from the shop's number; the call is recorded as Oleh's
    def customer_rung(_: Any) -> CallLeg | None:  # the app's leg (the page's leg has To=customer too)
        rung = [leg for leg in stack.standin.calls if leg.to == CUSTOMER and leg.direction == "outbound-api"]
        return rung[0] if rung else None

    customer_leg: CallLeg = wait_for(None, customer_rung, "the customer's phone ringing")
    assert customer_leg.from_ == SHOP
    wait_for(None, lambda _: customer_leg.status == "in-progress", "the customer answering")
    record = CallItem.get(oleh_leg.sid)
    assert (record.agent_id, record.customer_phone) == ("oleh", CUSTOMER)
    # AND the screen pop shows that call
    wait_for(browser, lambda d: text_of(d, "call-sid") == oleh_leg.sid, "the call's screen pop")
    assert not browser.find_element(By.ID, "outcome-form").is_displayed()

    # WHEN he holds the customer from the page, then takes them back
    browser.find_element(By.ID, "hold").click()
    wait_for(browser, lambda d: text_of(d, "call-control-result") == "The caller is on hold, hearing music.", "hold")
    browser.find_element(By.ID, "unhold").click()
    wait_for(browser, lambda d: text_of(d, "call-control-result") == "The caller is back with you.", "unhold")

    # WHEN he hangs up: the SDK is told, and (as Twilio does) his leg ends
    browser.find_element(By.ID, "hangup").click()
    wait_for(browser, lambda d: double(d, "log")[-1] == ["disconnect", oleh_leg.sid], "the hang-up")
    ended = requests.post(
        f"{stack.standin.base_url}/2010-04-01/Accounts/{LOCAL_ACCOUNT_SID}/Calls/{oleh_leg.sid}.json",
        data={"Status": "completed"},
        auth=(LOCAL_ACCOUNT_SID, stack.standin.auth_token),
        timeout=15,
    )
    assert ended.status_code == 200, ended.text
    thread.join(timeout=60)

    # THEN the page says the call ended and shows the outcome form; he saves the outcome
    wait_for(browser, lambda d: d.find_element(By.ID, "outcome-form").is_displayed(), "the outcome form")
    assert re.fullmatch(r"Call ended after \d\d:\d\d\.", text_of(browser, "call-ended"))
    Select(browser.find_element(By.ID, "outcome-select")).select_by_value("question_answered")
    browser.find_element(By.ID, "save-outcome").click()
    wait_for(browser, lambda d: text_of(d, "outcome-result").startswith("Saved: question_answered"), "it saved")
    [saved] = list(OutcomeItem.query(oleh_leg.sid))
    assert (saved.agent_id, saved.outcome) == ("oleh", "question_answered")
    assert stack.wait_quiet(timeout=60)
    assert customer_leg.status == "completed"
    assert stack.standin.application_errors() == []


def test_a_call_the_sdk_cannot_start_is_said_in_words_and_the_agent_can_call_again(
    stack: LocalStack, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, stack)
    go_available(browser)
    wait_for(browser, lambda d: d.find_element(By.ID, "dial").is_displayed(), "the Call a number control")
    # WHEN he presses Call with no number: he is told to type one, nothing is placed
    browser.find_element(By.ID, "dial-call").click()
    wait_for(browser, lambda d: text_of(d, "dial-error") == "Type the number to call.", "the missing number")
    assert not [entry for entry in double(browser, "log") if entry[0] == "connect"]
    # WHEN the SDK refuses the call (the network to Twilio is down)
    double(browser, "refuseConnect(31005, 'Connection error')")
    browser.find_element(By.ID, "dial-to").send_keys(CUSTOMER)
    browser.find_element(By.ID, "dial-call").click()
    # THEN the page says so in words, shows no call, and Call can be pressed again
    network = "Network lost: the phone cannot reach Twilio. Check the connection, then go available again."
    wait_for(browser, lambda d: text_of(d, "dial-error") == "The call could not start: " + network, "the refusal")
    assert not browser.find_element(By.ID, "in-call").is_displayed()
    assert browser.find_element(By.ID, "dial-call").is_enabled()
