"""A warm transfer from the agent's page (issue 17), two agents in two headless Chromium pages
against the local stack. The Voice SDK's Device is the only thing replaced on each page
(tests/e2e/voice_sdk_double.js); the page, the app, the store and the Twilio stand-in are real:
the stand-in routes the caller, rings both agents' Client legs and keeps the call's conference.
As in test_softphone_browser.py the test plays Twilio's signalling for the pages: it rings a
page with the leg the app dialed, tells it when Twilio ended that leg, and ends the leg when
the page hangs up."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem, OutcomeItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LOCAL_ACCOUNT_SID, LocalStack, StackOptions
from devtools.twilio_standin import AgentBehaviour, CallerScript, CallLeg, Press, Transcript
from tests.e2e.conftest import API_KEY, MONDAY_NOON_KYIV
from tests.e2e.desk_browser import HAS_CHROMIUM, NO_CHROMIUM, chromium, text_of, wait_for

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
SHOP = "+380441234567"
KYIV = ZoneInfo("Europe/Kyiv")
OLEH, ANNA = "client:oleh", "client:anna"  # Anna takes her calls in the browser here too
TOKENS = {"oleh": "demo-agent-oleh-0001", "anna": "demo-agent-anna-0001"}
NAMES = {"oleh": "Oleh", "anna": "Anna"}
STANDIN_SPEED = 40.0  # virtual call seconds per real second: the legs stay up while the pages act


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(MONDAY_NOON_KYIV, speed=1.0)
    outbox = Path(tmp_path_factory.mktemp("outbox"))
    with LocalStack(StackOptions(clock=clock, outbox_dir=outbox, standin_speed=STANDIN_SPEED)) as local:
        yield local


@pytest.fixture
def pages(stack: LocalStack) -> Iterator[dict[str, Any]]:
    """Oleh's and Anna's pages, each its own Chromium, both agents offline and free to start."""
    AgentItem("demo", "anna").update(actions=[AgentItem.client_identity.set("anna")])
    for agent_id in TOKENS:
        AgentItem("demo", agent_id).update(
            actions=[AgentItem.status.set("offline"), AgentItem.reserved_call_sid.remove()]
        )
    with chromium() as oleh, chromium() as anna:
        yield {"oleh": oleh, "anna": anna}


def log_in(stack: LocalStack, page: Any, agent_id: str) -> None:
    from selenium.webdriver.common.by import By

    page.get(f"{stack.api_url}/agent")
    page.find_element(By.ID, "token").send_keys(TOKENS[agent_id])
    page.find_element(By.ID, "login").click()
    wait_for(page, lambda d: text_of(d, "agent-name") == NAMES[agent_id], f"{agent_id}'s name")


def go_available(page: Any, identity: str) -> None:
    from selenium.webdriver.common.by import By

    page.find_element(By.ID, "status-available").click()
    ready = f"Phone ready: calls ring here ({identity})."
    wait_for(page, lambda d: text_of(d, "phone-state") == ready, "the phone ready")


def click(page: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    page.find_element(By.ID, element_id).click()


def shown(page: Any, element_id: str) -> bool:
    from selenium.webdriver.common.by import By

    return bool(page.find_element(By.ID, element_id).is_displayed())


def double(page: Any, script: str, *args: Any) -> Any:
    return page.execute_script("return window.voiceDouble." + script, *args)


def transfer_from_the_page(page: Any, to_agent: str, mode: str = "warm") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(page.find_element(By.ID, "transfer-kind")).select_by_value("to_agent")
    field = page.find_element(By.ID, "transfer-to")
    field.clear()
    field.send_keys(to_agent)
    Select(page.find_element(By.ID, "transfer-mode")).select_by_value(mode)
    click(page, "transfer")


def control_result(page: Any, words: str) -> None:
    wait_for(page, lambda d: text_of(d, "call-control-result") == words, repr(words))


def until(condition: Callable[[], Any], what: str) -> Any:
    return wait_for(None, lambda _: condition(), what)


def leg_to(stack: LocalStack, address: str, caller_sid: str) -> CallLeg:
    """The app's leg to an agent for this caller, answered (its webhooks carry the caller's call)."""

    def found() -> CallLeg | None:
        legs = [
            leg
            for leg in stack.standin.calls
            if leg.to == address
            and leg.status == "in-progress"
            and any(caller_sid in w.data["url"] for w in leg.transcript.webhooks())
        ]
        return legs[-1] if legs else None

    leg: CallLeg = until(found, f"a call to {address} in progress")
    return leg


def legs_to(stack: LocalStack, address: str) -> set[str]:
    return {leg.sid for leg in stack.standin.calls if leg.to == address}


def in_room(stack: LocalStack, caller_sid: str) -> dict[str, bool]:
    """Who is in the call's conference now (call SID -> on hold)."""
    rooms = [
        c for c in stack.standin.engine.conferences.all() if c.friendly_name == caller_sid and c.status != "completed"
    ]
    return {p.call_sid: p.hold for room in rooms for p in room.live()}


def end_leg(stack: LocalStack, leg: CallLeg) -> None:
    """Twilio ends a browser's leg when its page hangs up."""
    ended = requests.post(
        f"{stack.standin.base_url}/2010-04-01/Accounts/{LOCAL_ACCOUNT_SID}/Calls/{leg.sid}.json",
        data={"Status": "completed"},
        auth=(LOCAL_ACCOUNT_SID, stack.standin.auth_token),
        timeout=15,
    )
    assert ended.status_code == 200, ended.text


def ringing_leg_to(stack: LocalStack, address: str, before: set[str]) -> CallLeg:
    """The one leg to ``address`` placed since ``before``, once it rings."""
    leg: CallLeg = until(
        lambda: next((leg for leg in stack.standin.calls if leg.to == address and leg.sid not in before), None),
        f"a call to {address}",
    )
    until(lambda: leg.status != "queued", f"the call to {address} ringing")
    return leg


def accept_on_the_page(stack: LocalStack, page: Any, leg: CallLeg, address: str) -> None:
    """Twilio rings the page with ``leg``; the agent accepts there and presses 1 at the whisper
    (the stand-in's leg waits for the page, as Twilio's does: the test relays the page's action)."""
    assert double(page, "ring(arguments[0])", {"CallSid": leg.sid, "From": leg.from_, "To": address})
    wait_for(page, lambda d: shown(d, "ringing"), f"{address}'s page ringing")
    assert leg.status == "ringing" and leg.answered_at is None  # nothing answered before the page
    click(page, "accept")
    wait_for(page, lambda d: ["accept", leg.sid] in double(d, "log"), "the page's accept")
    wait_for(page, lambda d: shown(d, "in-call"), f"{address}'s call controls")
    page.find_element("css selector", '[data-digit="1"]').click()  # 1 at the whisper, on the keypad
    wait_for(page, lambda d: ["digits", "1"] in double(d, "log"), "the page's key")
    stack.standin.page_accepts(leg.sid, "1")


def oleh_takes_a_call(
    stack: LocalStack, pages: dict[str, Any], phone: str
) -> tuple[threading.Thread, dict[str, Transcript], str, CallLeg]:
    """Both agents logged in, Oleh available; an English caller dials the shop, the app routes
    the call to Oleh's browser, it rings there and he accepts. Returns the caller's thread, what
    the caller heard (once done), the call's SID and Oleh's leg."""
    oleh = pages["oleh"]
    log_in(stack, oleh, "oleh")
    log_in(stack, pages["anna"], "anna")
    go_available(oleh, "oleh")
    stack.standin.register_agent(OLEH, AgentBehaviour(talk_seconds=None, on_page=True))
    before = {c.sid for c in stack.standin.engine.conferences.all()}
    legs_before = legs_to(stack, OLEH)
    heard: dict[str, Transcript] = {}
    caller = threading.Thread(
        target=lambda: heard.update(
            call=stack.standin.place_inbound_call(phone, SHOP, CallerScript([Press("3"), Press("1")]))
        ),
        daemon=True,
    )
    caller.start()
    oleh_leg = ringing_leg_to(stack, OLEH, legs_before)
    accept_on_the_page(stack, oleh, oleh_leg, OLEH)
    wait_for(oleh, lambda d: shown(d, "in-call"), "Oleh's call controls")

    def room() -> str | None:
        fresh = [c for c in stack.standin.engine.conferences.all() if c.sid not in before]
        live = [c.friendly_name for c in fresh if c.status == "in-progress"]
        return live[0] if live else None

    caller_sid: str = until(room, "the caller and Oleh in the call's conference")
    assert leg_to(stack, OLEH, caller_sid) is oleh_leg
    assert in_room(stack, caller_sid) == {caller_sid: False, oleh_leg.sid: False}
    return caller, heard, caller_sid, oleh_leg


def oleh_hangs_up(stack: LocalStack, oleh: Any, oleh_leg: CallLeg, caller: threading.Thread) -> None:
    click(oleh, "hangup")
    wait_for(oleh, lambda d: double(d, "log")[-1] == ["disconnect", oleh_leg.sid], "Oleh's hang-up")
    end_leg(stack, oleh_leg)
    caller.join(timeout=60)
    assert not caller.is_alive()


def test_a_transfer_to_a_busy_agent_is_refused_with_the_reason_on_the_page(
    stack: LocalStack, pages: dict[str, Any]
) -> None:
    oleh = pages["oleh"]
    # GIVEN Oleh on a call from his page, and Anna busy (on another call)
    caller, _, caller_sid, oleh_leg = oleh_takes_a_call(stack, pages, "+380671280001")
    AgentItem("demo", "anna").update(actions=[AgentItem.status.set("busy")])
    # WHEN he transfers the caller to her from the page
    transfer_from_the_page(oleh, "anna")
    # THEN the page says why not; the caller is still with him, not on hold; nobody rang Anna
    control_result(oleh, "Anna is busy: only an available agent can take the call")
    assert "error" in oleh.find_element("id", "call-control-result").get_attribute("class")
    assert in_room(stack, caller_sid) == {caller_sid: False, oleh_leg.sid: False}
    assert not [leg for leg in stack.standin.calls if leg.to == ANNA]
    assert shown(oleh, "in-call")
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.transfer_to, bool(record.on_hold)) == ("oleh", None, False)
    # AND an empty "to" is stopped on the page itself
    oleh.find_element("id", "transfer-to").clear()
    click(oleh, "transfer")
    control_result(oleh, "Whom to? Type an agent or a group.")
    oleh_hangs_up(stack, oleh, oleh_leg, caller)


def test_the_second_agent_not_answering_leaves_the_caller_back_with_the_first_not_on_hold(
    stack: LocalStack, pages: dict[str, Any]
) -> None:
    oleh, anna = pages["oleh"], pages["anna"]
    # GIVEN Oleh on a call from his page, and Anna available, whose browser will not be answered
    # (her leg rings until the test says its ring time ran out: the stand-in's call clock is fast,
    # and a ring time of virtual seconds could run out before her page even rang, under load)
    caller, _, caller_sid, oleh_leg = oleh_takes_a_call(stack, pages, "+380671280002")
    stack.standin.register_agent(ANNA, AgentBehaviour(talk_seconds=None, on_page=True))
    go_available(anna, "anna")
    before = legs_to(stack, ANNA)
    # WHEN Oleh starts a warm transfer to her from the page
    transfer_from_the_page(oleh, "anna")
    control_result(oleh, "Ringing anna: the caller is on hold; talk to them, then complete or cancel.")
    wait_for(oleh, lambda d: shown(d, "transfer-complete") and shown(d, "transfer-cancel"), "Complete and Cancel")
    assert not shown(oleh, "transfer")
    # THEN her page rings (Twilio rings her browser with the app's leg)
    anna_leg = ringing_leg_to(stack, ANNA, before)
    assert double(anna, "ring(arguments[0])", {"CallSid": anna_leg.sid, "From": anna_leg.from_, "To": ANNA})
    wait_for(anna, lambda d: shown(d, "ringing"), "Anna's page ringing")
    # WHEN nobody answers it before the ring time runs out: Twilio cancels the ringing on her
    # page (the SDK's "cancel"), then ends the leg unanswered, in that order as on Twilio
    assert double(anna, "cancelRinging()")
    stack.standin.page_rings_out(anna_leg.sid)
    until(lambda: anna_leg.status == "no-answer", "Anna's leg unanswered")
    # THEN the caller is back with Oleh, off hold; the call is still his, no transfer counted
    until(lambda: in_room(stack, caller_sid) == {caller_sid: False, oleh_leg.sid: False}, "the caller back")
    until(lambda: CallItem.get(caller_sid).transfer_to is None, "the transfer over")
    record = CallItem.get(caller_sid)
    assert (record.agent_id, bool(record.on_hold), record.transfers, record.handled_by) == ("oleh", False, None, None)
    # AND Anna's page says she missed it, and she is away (the app gives the next call to others)
    wait_for(anna, lambda d: text_of(d, "call-ended").startswith("Missed"), "the call missed")
    wait_for(anna, lambda d: text_of(d, "agent-status") == "away", "Anna away")
    # AND Oleh's page no longer says "Ringing anna": it says how the transfer ended, and shows
    # the call's controls again (Transfer, not Complete or Cancel)
    control_result(oleh, "anna did not answer; the caller is back with you.")
    assert shown(oleh, "in-call") and shown(oleh, "transfer")
    assert not shown(oleh, "transfer-complete") and not shown(oleh, "transfer-cancel")
    # AND he can put the caller on hold again from there
    click(oleh, "hold")
    control_result(oleh, "The caller is on hold, hearing music.")
    click(oleh, "unhold")
    control_result(oleh, "The caller is back with you.")
    oleh_hangs_up(stack, oleh, oleh_leg, caller)


def test_a_warm_transfer_from_the_page_hands_the_caller_to_the_second_agent_and_shows_both_everywhere(
    stack: LocalStack, clock: SimClock, pages: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    oleh, anna = pages["oleh"], pages["anna"]
    phone = "+380671280003"
    # GIVEN Oleh on a call from his page, and Anna available in hers
    caller, heard, caller_sid, oleh_leg = oleh_takes_a_call(stack, pages, phone)
    stack.standin.register_agent(ANNA, AgentBehaviour(talk_seconds=None, on_page=True))
    go_available(anna, "anna")
    caller_leg = stack.standin.call(caller_sid)
    # WHEN Oleh puts the caller on hold
    click(oleh, "hold")
    # THEN his page says so, and the caller hears the shop's hold music
    control_result(oleh, "The caller is on hold, hearing music.")
    shop = dynamo_store().get_shop("demo")
    assert shop is not None
    music = f"[play {shop.inbound.hold_music_url}]"
    until(lambda: music in caller_leg.transcript.heard(), "the hold music")
    assert caller_leg.transcript.webhooks("conference-hold")
    assert in_room(stack, caller_sid) == {caller_sid: True, oleh_leg.sid: False}

    # WHEN he consults Anna: a warm transfer from the page
    anna_before = legs_to(stack, ANNA)
    transfer_from_the_page(oleh, "anna", "warm")
    control_result(oleh, "Ringing anna: the caller is on hold; talk to them, then complete or cancel.")
    # THEN the app rings her browser; her page rings with the caller's screen pop, and she accepts
    anna_leg = ringing_leg_to(stack, ANNA, anna_before)
    accept_on_the_page(stack, anna, anna_leg, ANNA)
    wait_for(anna, lambda d: text_of(d, "call-sid") == caller_sid, "the caller's screen pop on Anna's page")
    wait_for(anna, lambda d: shown(d, "in-call"), "Anna's call controls")
    # AND the three are in the call's conference, the caller still on hold while they talk
    until(lambda: len(in_room(stack, caller_sid)) == 3, "Anna in the conference")
    assert in_room(stack, caller_sid) == {caller_sid: True, oleh_leg.sid: False, anna_leg.sid: False}
    assert "Дзвінок до Kvitka Flowers. Натисніть 1, щоб прийняти." in anna_leg.transcript.heard()

    # WHEN Oleh completes the transfer
    click(oleh, "transfer-complete")
    control_result(oleh, "Transferred: anna has the caller now.")
    # THEN he is out of the call (Twilio ends his browser's leg), and his page shows it ended
    until(lambda: oleh_leg.status == "completed", "Oleh's leg ended")
    double(oleh, "remoteHangUp()")
    wait_for(oleh, lambda d: re.fullmatch(r"Call ended after \d\d:\d\d\.", text_of(d, "call-ended")), "the end")
    wait_for(oleh, lambda d: shown(d, "no-call"), "the call off Oleh's desk (Anna has it)")
    # AND the caller, off hold, talks to Anna alone
    until(lambda: in_room(stack, caller_sid) == {caller_sid: False, anna_leg.sid: False}, "the caller with Anna")
    assert shown(anna, "in-call")
    wait_for(anna, lambda d: text_of(d, "agent-status") == "busy", "Anna busy")  # her page's next status poll
    wait_for(oleh, lambda d: text_of(d, "agent-status") == "wrap-up", "Oleh wrapping up")

    # WHEN Anna hangs up on her page
    click(anna, "hangup")
    wait_for(anna, lambda d: double(d, "log")[-1] == ["disconnect", anna_leg.sid], "Anna's hang-up")
    end_leg(stack, anna_leg)
    caller.join(timeout=60)
    assert not caller.is_alive()
    # THEN the caller rated the call, and heard no application error
    assert "Thank you for your answer. Goodbye!" in heard["call"].heard()
    assert heard["call"].application_errors == [] and stack.standin.application_errors() == []
    assert stack.wait_quiet(timeout=30)
    # AND the call record is Anna's, handled by both, one transfer
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.handled_by, record.transfers, record.transfer_to, record.on_hold) == (
        "anna",
        ["oleh", "anna"],
        1,
        None,
        False,
    )
    # AND the customer's timeline (through the API) shows both agents
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {API_KEY}"
    timeline = session.post(f"{stack.api_url}/v1/customers/timeline", json={"phone": phone}, timeout=15)
    assert timeline.status_code == 200, timeline.text
    [entry] = [e for e in timeline.json()["entries"] if e["type"] == "call"]
    assert (entry["call_sid"], entry["agent_id"], entry["handled_by"]) == (caller_sid, "anna", ["oleh", "anna"])
    # AND Anna, who has the caller at the end, saves the outcome on her page
    wait_for(anna, lambda d: shown(d, "outcome-form"), "Anna's outcome form")
    Select(anna.find_element(By.ID, "outcome-select")).select_by_value("question_answered")
    click(anna, "save-outcome")
    wait_for(anna, lambda d: text_of(d, "outcome-result").startswith("Saved: question_answered"), "it saved")
    assert [(o.agent_id, o.outcome) for o in OutcomeItem.query(caller_sid)] == [("anna", "question_answered")]

    # WHEN the next morning's report goes out (08:00 in Kyiv)
    day = clock.now().astimezone(KYIV).date()
    next_morning = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=KYIV) + timedelta(hours=8)
    clock.advance(next_morning.astimezone(UTC) - clock.now() + timedelta(minutes=5))
    subject = f"report for {day.isoformat()}"
    sent = until(lambda: [m for m in stack.ses.messages() if subject in str(m.message["Subject"])], "the report")
    part = sent[0].message.get_body(preferencelist=("plain",))
    assert part is not None
    body = str(part.get_content())
    # THEN both agents have their rows: Anna the call she took, Oleh the one he transferred on
    assert re.search(r"\n  Agent anna +1 calls +talk ", body), body
    [oleh_row] = [line for line in body.splitlines() if line.startswith("  Agent oleh ")]
    assert "transferred 1" in oleh_row, oleh_row
    [anna_row] = [line for line in body.splitlines() if line.startswith("  Agent anna ")]
    assert "transferred" not in anna_row, anna_row
    # AND neither page broke its Content-Security-Policy
    for page in (oleh, anna):
        assert [e["message"] for e in page.get_log("browser") if "Content Security Policy" in e["message"]] == []
