"""The agent's browser softphone in headless Chromium against the local stack (issue 17). The
Voice SDK's Device is the only thing replaced (tests/e2e/voice_sdk_double.js: no Twilio
signalling is reachable here); the page, the app, the store and the Twilio stand-in are real.
The stand-in runs in accelerated real time here, so the caller and the agent stay on the line
while the page rings, is answered and hangs up; the test plays Twilio's signalling: it rings
the registered device with the leg the app dialed, and ends that leg when the page hangs up."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, OutcomeItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LOCAL_ACCOUNT_SID, LOCAL_API_KEY_SECRET, LocalStack, StackOptions
from devtools.twilio_standin import AgentBehaviour, CallerScript, CallLeg, Press, Transcript
from tests.e2e.conftest import MONDAY_NOON_KYIV
from tests.e2e.desk_browser import HAS_CHROMIUM, NO_CHROMIUM, chromium, text_of, wait_for
from tests.voice_tokens import decode_at

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
SHOP = "+380441234567"
OLEH = "client:oleh"
OLEH_TOKEN = "demo-agent-oleh-0001"  # config/demo.toml: client identity "oleh", sees masked numbers
MICROPHONE_REFUSED = "Microphone refused: allow this page to use the microphone, then go available again."
STANDIN_SPEED = 40.0  # virtual call seconds per real second: a 40-minute talk lasts a minute unless hung up


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


def log_in(browser: Any, stack: LocalStack) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{stack.api_url}/agent")
    browser.find_element(By.ID, "token").send_keys(OLEH_TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(browser, lambda d: text_of(d, "agent-name") == "Oleh", "the agent's name")


def go_available(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "status-available").click()
    wait_for(browser, lambda d: text_of(d, "phone-state") == "Phone ready: calls ring here (oleh).", "the phone ready")


def double(browser: Any, script: str, *args: Any) -> Any:
    return browser.execute_script("return window.voiceDouble." + script, *args)


def leg_to_oleh(stack: LocalStack, status: str) -> CallLeg:
    def found(_: Any) -> CallLeg | None:
        legs = [leg for leg in stack.standin.calls if leg.to == OLEH and leg.status == status]
        return legs[-1] if legs else None

    leg: CallLeg = wait_for(None, found, f"a call to {OLEH} {status}")
    return leg


def test_a_call_rings_in_the_browser_the_agent_answers_mutes_sends_a_key_hangs_up_and_saves_the_outcome(
    stack: LocalStack, clock: SimClock, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # GIVEN Oleh logged in, offline: no phone on the page yet
    log_in(browser, stack)
    assert not browser.find_element(By.ID, "phone-panel").is_displayed()
    assert double(browser, "registered()") is None and double(browser, "log") == []
    # (the page loaded the real SDK from the app, which kept the double's Device and added the rest)
    loaded = "return [typeof Twilio.Call, typeof Twilio.Logger, Twilio.Device.isTestDouble === true]"
    assert browser.execute_script(loaded) == ["function", "object", True]

    # WHEN he goes available
    go_available(browser)
    # THEN the page asked for his token and registered a Device with it: identity "oleh", 10 minutes
    registered = double(browser, "registered()")
    payload = decode_at(registered["token"], LOCAL_API_KEY_SECRET, clock.now())
    assert payload["grants"]["identity"] == "oleh" and payload["grants"]["voice"]["incoming"] == {"allow": True}
    assert payload["exp"] - payload["nbf"] == 600 and payload["sub"] == LOCAL_ACCOUNT_SID
    assert [entry[0] for entry in double(browser, "log")] == ["device", "register"]
    assert not browser.find_element(By.ID, "ringing").is_displayed()

    # AND before it runs out the page renews it (the SDK's tokenWillExpire), from the app's clock
    later = clock.advance(timedelta(minutes=9))
    assert double(browser, "tokenWillExpire()")
    wait_for(browser, lambda d: double(d, "log")[-1][0] == "updateToken", "the renewed token")
    renewed = decode_at(double(browser, "log")[-1][1], LOCAL_API_KEY_SECRET, later)
    assert renewed["grants"]["identity"] == "oleh" and renewed["nbf"] >= int(later.timestamp())

    # WHEN a caller dials the shop and picks English: the app routes the call to client:oleh
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=2400))
    heard: dict[str, Transcript] = {}
    caller = threading.Thread(
        target=lambda: heard.update(
            call=stack.standin.place_inbound_call("+380671270001", SHOP, CallerScript([Press("3"), Press("1")]))
        )
    )
    caller.start()
    leg = leg_to_oleh(stack, "in-progress")
    # AND Twilio rings his browser with that call
    assert double(browser, "ring(arguments[0])", {"CallSid": leg.sid, "From": leg.from_, "To": OLEH})

    # THEN the page rings, with the caller's screen pop (masked number), the outcome form waiting
    wait_for(browser, lambda d: d.find_element(By.ID, "ringing").is_displayed(), "the ringing call")
    wait_for(browser, lambda d: d.find_element(By.ID, "pop").is_displayed(), "the screen pop")
    assert text_of(browser, "caller-phone") == "+380*******01"
    assert text_of(browser, "call-state") == "On the line"
    assert not browser.find_element(By.ID, "outcome-form").is_displayed()

    # WHEN he accepts, mutes, presses 5 and hangs up
    browser.find_element(By.ID, "accept").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "in-call").is_displayed(), "the call's controls")
    assert not browser.find_element(By.ID, "ringing").is_displayed()
    assert re.fullmatch(r"\d\d:\d\d", text_of(browser, "call-timer"))
    browser.find_element(By.ID, "mute").click()
    assert text_of(browser, "mute") == "Unmute"
    browser.find_element(By.CSS_SELECTOR, '#keypad [data-digit="5"]').click()
    assert text_of(browser, "digits-sent") == "5"
    browser.find_element(By.ID, "hangup").click()

    # THEN the SDK was told each, in order
    wait_for(browser, lambda d: double(d, "log")[-1] == ["disconnect", leg.sid], "the hang-up")
    assert double(browser, "log")[-4:] == [
        ["accept", leg.sid],
        ["mute", True],
        ["digits", "5"],
        ["disconnect", leg.sid],
    ]
    # AND (as Twilio does when the browser hangs up) the agent's leg ends; the caller rates the call
    ended = requests.post(
        f"{stack.standin.base_url}/2010-04-01/Accounts/{LOCAL_ACCOUNT_SID}/Calls/{leg.sid}.json",
        data={"Status": "completed"},
        auth=(LOCAL_ACCOUNT_SID, stack.standin.auth_token),
        timeout=15,
    )
    assert ended.status_code == 200, ended.text
    caller.join(timeout=60)
    assert "Thank you for your answer. Goodbye!" in heard["call"].heard()

    # AND the page shows the call ended and the outcome form
    wait_for(browser, lambda d: d.find_element(By.ID, "outcome-form").is_displayed(), "the outcome form")
    assert not browser.find_element(By.ID, "in-call").is_displayed()
    assert re.fullmatch(r"Call ended after \d\d:\d\d\.", text_of(browser, "call-ended"))
    call_sid = text_of(browser, "call-sid")
    assert call_sid in (leg.sid, heard["call"].call_sid)

    # WHEN he saves the outcome
    Select(browser.find_element(By.ID, "outcome-select")).select_by_value("question_answered")
    browser.find_element(By.ID, "outcome-comment").send_keys("Asked about delivery")
    browser.find_element(By.ID, "save-outcome").click()
    wait_for(browser, lambda d: text_of(d, "outcome-result").startswith("Saved: question_answered"), "it saved")
    # THEN it is stored as his
    [saved] = list(OutcomeItem.query(call_sid))
    assert (saved.agent_id, saved.outcome, saved.comment) == ("oleh", "question_answered", "Asked about delivery")
    logged = browser.get_log("browser")
    assert [e["message"] for e in logged if "Content Security Policy" in e["message"]] == []


@pytest.mark.parametrize(
    ("trouble", "words"),
    [
        ("fail(31401, 'Permission denied')", MICROPHONE_REFUSED),
        ("fail(20104, 'Access token expired')", "The phone's access expired or was refused: go available again."),
        ("lose()", "Network lost: the phone cannot reach Twilio. Check the connection, then go available again."),
    ],
    ids=["microphone-refused", "token-expired", "network-lost"],
)
def test_a_device_error_is_said_in_words_and_sets_the_agent_away(
    stack: LocalStack, browser: Any, trouble: str, words: str
) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN Oleh available with his phone ready
    log_in(browser, stack)
    go_available(browser)
    # WHEN the device fails (the browser refuses the microphone, Twilio the token, the network drops)
    assert double(browser, trouble)
    # THEN the page says so, switches the phone off, and he is away (the app gives calls to others)
    wait_for(browser, lambda d: text_of(d, "phone-error") == words, words)
    wait_for(browser, lambda d: text_of(d, "agent-status") == "away", "the agent away")
    assert dynamo_store().get_agent("demo", "oleh").status == "away"  # type: ignore[union-attr]
    assert double(browser, "registered()") is None and ["destroy"] in double(browser, "log")
    assert browser.find_element(By.ID, "phone-error").is_displayed()
    # AND going available again brings the phone back
    go_available(browser)
    assert double(browser, "registered()") is not None


def test_a_microphone_refused_on_a_call_sets_the_agent_away_once_the_call_is_over(
    stack: LocalStack, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN Oleh available, and a caller the app routes to him, ringing on the page
    log_in(browser, stack)
    go_available(browser)
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=2400))
    caller = threading.Thread(
        target=lambda: stack.standin.place_inbound_call("+380671270002", SHOP, CallerScript([Press("3"), Press("1")]))
    )
    caller.start()
    leg = leg_to_oleh(stack, "in-progress")
    assert double(browser, "ring(arguments[0])", {"CallSid": leg.sid, "From": leg.from_, "To": OLEH})
    wait_for(browser, lambda d: d.find_element(By.ID, "ringing").is_displayed(), "the ringing call")
    # WHEN he accepts and the browser refuses the microphone
    browser.find_element(By.ID, "accept").click()
    assert double(browser, "fail(31401, 'Permission denied')")
    # THEN the page says so and drops the call's controls; he stays busy while the call lasts
    wait_for(browser, lambda d: text_of(d, "phone-error") == MICROPHONE_REFUSED, "the microphone refused")
    assert not browser.find_element(By.ID, "in-call").is_displayed()
    assert text_of(browser, "call-ended") == "The call was lost."
    assert dynamo_store().get_agent("demo", "oleh").status == "busy"  # type: ignore[union-attr]
    # WHEN the call ends (Twilio ends the leg of a device that is gone)
    ended = requests.post(
        f"{stack.standin.base_url}/2010-04-01/Accounts/{LOCAL_ACCOUNT_SID}/Calls/{leg.sid}.json",
        data={"Status": "completed"},
        auth=(LOCAL_ACCOUNT_SID, stack.standin.auth_token),
        timeout=15,
    )
    assert ended.status_code == 200, ended.text
    caller.join(timeout=60)
    # THEN he is away, not available for the next call
    wait_for(browser, lambda d: text_of(d, "agent-status") == "away", "the agent away")
    assert dynamo_store().get_agent("demo", "oleh").status == "away"  # type: ignore[union-attr]
    statuses = [status for _, status, _ in dynamo_store().status_log("demo", "oleh")]
    assert statuses[-3:] == ["busy", "wrap-up", "away"]


def test_a_token_is_refused_to_an_offline_agent_and_the_page_registers_no_phone(
    stack: LocalStack, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN Oleh offline, logged in on the page
    log_in(browser, stack)
    # THEN no Device, no phone on the page
    assert double(browser, "log") == [] and not browser.find_element(By.ID, "phone-panel").is_displayed()
    # AND a token asked for anyway is refused in the API's error form
    refused = requests.get(
        f"{stack.api_url}/v1/agent/voice-token", headers={"Authorization": f"Bearer {OLEH_TOKEN}"}, timeout=15
    )
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "not_available",
        "message": "go available first: an agent who is offline takes no calls",
    }
    logged_out = requests.get(f"{stack.api_url}/v1/agent/voice-token", timeout=15)
    assert logged_out.status_code == 401 and logged_out.json()["error"] == "unauthorized"


def test_a_phone_agent_going_available_keeps_their_status_and_gets_no_browser_phone(
    stack: LocalStack, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN Anna, whose calls ring on her phone, logged in
    AgentItem("demo", "anna").update(actions=[AgentItem.status.set("offline")])
    browser.get(f"{stack.api_url}/agent")
    browser.find_element(By.ID, "token").send_keys("demo-agent-anna-0001")
    browser.find_element(By.ID, "login").click()
    wait_for(browser, lambda d: text_of(d, "agent-name") == "Anna", "the agent's name")
    # WHEN she goes available
    browser.find_element(By.ID, "status-available").click()
    # THEN the page says her calls ring on her phone, makes no Device, and she stays available
    wait_for(browser, lambda d: text_of(d, "phone-state") == "Your calls ring on your phone.", "the phone note")
    assert double(browser, "log") == [] and text_of(browser, "phone-error") == ""
    assert text_of(browser, "agent-status") == "available"
    assert dynamo_store().get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]
    AgentItem("demo", "anna").update(actions=[AgentItem.status.set("offline")])
