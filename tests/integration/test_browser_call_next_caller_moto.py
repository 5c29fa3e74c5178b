"""No waiting for the music to end (issue 17) after an agent's own browser call: an agent whose
call ends with no conversation (no wrap-up) takes the longest-waiting caller as the leg ends,
not at the minute's sweep or the caller's next hold round."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from chalicelib.clock import FixedClock
from chalicelib.domain.entities import Call
from chalicelib.services import inbound
from chalicelib.web import voice_bridge, voice_desk_call
from chalicelib.wiring import conference_links, repository
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import NOW, PUBLIC_BASE, signed_post
from tests.integration.test_browser_calls_moto import CUSTOMER, rest_sid

CALLER = "CA" + "9" * 32
OLEHS_CALL = "CA" + "8" * 32


@pytest.fixture
def rest(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(voice_desk_call, "telephony", lambda: fake)
    monkeypatch.setattr(voice_bridge, "telephony", lambda: fake)
    return fake


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE), url
    return url[len(PUBLIC_BASE) :]


def _caller_waiting() -> None:
    """A caller in the queue of Oleh's group for two minutes, nobody free to take them."""
    shop = repository().get_shop("demo")
    assert shop is not None
    at = NOW - timedelta(minutes=2)
    call = Call(
        CALLER, "demo", "inbound", "+380631234567", "+380441234567", at, "2015-11-23", language="uk", group="sales"
    )
    repository().upsert_call(call, group="sales")
    inbound.enter_queue(inbound.CallContext(shop, call), store=repository(), now=at)


def test_an_agent_whose_browser_call_is_not_answered_is_rung_into_the_waiting_callers_conference(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    # GIVEN a caller waiting and Oleh calling a customer from his page
    _caller_waiting()
    AgentItem("demo", "oleh").update(actions=[AgentItem.status.set("available"), AgentItem.status_since.set(NOW)])
    params = {"CallSid": OLEHS_CALL, "From": "client:oleh", "To": CUSTOMER, "Direction": "inbound"}
    assert signed_post(client, "/twilio/voice/desk-call", params).status_code == 200
    [customer] = rest.placed
    # WHEN the customer does not answer: Oleh hears so, then his leg ends
    clock.advance(seconds=30)
    ended = {"CallSid": rest_sid(1), "CallStatus": "no-answer"}
    assert signed_post(client, _path(customer["status_url"]), ended).status_code == 204
    [(_, told_url)] = rest.redirects
    told = ET.fromstring(signed_post(client, _path(told_url), {"CallSid": OLEHS_CALL}).body)
    assert rest.redirects[1:] == []  # nobody rings him while he is being told
    signed_post(client, _path(told.findtext("./Redirect") or ""), {"CallSid": OLEHS_CALL})
    # THEN the waiting caller is taken out of the queue for him at once
    assert rest.redirects[1:] == [(CALLER, conference_links().bridge("uk"))]
    assert (CallItem.get(CALLER).agent_id, AgentItem.get("demo", "oleh").reserved_call_sid) == ("oleh", CALLER)
    # AND, redirected, the caller waits in the call's conference while the app rings Oleh's browser into it
    joined = ET.fromstring(signed_post(client, _path(conference_links().bridge("uk")), {"CallSid": CALLER}).body)
    assert joined.findtext("./Dial/Conference") == CALLER
    assert rest.placed[1]["to"] == "client:oleh"
