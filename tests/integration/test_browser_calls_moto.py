"""The TwiML App's Voice URL (#17): an agent's outgoing call from the browser softphone waits in
a conference named for the call while the app rings the customer into it with the shop's caller
ID, under every dial's rules, so hold and transfers act on it; the agent is the one whose
softphone identity Twilio names in ``From``, never a parameter; a refusal, or a customer not
reached, is spoken; an agent whose call's every end was lost is released by the minute's sweep."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from chalicelib.clock import FixedClock
from chalicelib.domain.entities import Call
from chalicelib.events import dialing
from chalicelib.services import call_control, transfers
from chalicelib.services.call_control import ControlRefused
from chalicelib.services.conference_calls import AgentLegUrls, agent_talking, caller_leg
from chalicelib.services.ports import CallNotPlacedError, CallState
from chalicelib.web import voice_desk_call
from chalicelib.wiring import conference_links, repository
from cli.admin import main as admin_cli
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import NOW, PUBLIC_BASE, signed_post

PATH = "/twilio/voice/desk-call"
CUSTOMER = "+380671234567"
SHOP_CALLER_ID = "+380441234567"


def _available(agent_id: str) -> None:
    AgentItem("demo", agent_id).update(actions=[AgentItem.status.set("available"), AgentItem.status_since.set(NOW)])


def _call(client: Client, to: str, *, sid: str = "CA" + "1" * 32, **extra: str) -> Any:
    params = {"CallSid": sid, "From": "client:oleh", "To": to, "Direction": "inbound", **extra}
    response = signed_post(client, PATH, params)
    assert response.status_code == 200, response.body
    return ET.fromstring(response.body)


def _said(document: Any) -> tuple[list[str], list[str]]:
    return [say.text or "" for say in document.iter("Say")], [child.tag for child in document]


@pytest.fixture(autouse=True)
def rest(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    """Twilio's REST API as the browser call's webhooks use it (the customer's leg, call control)."""
    fake = FakeTelephony()
    monkeypatch.setattr(voice_desk_call, "telephony", lambda: fake)
    return fake


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE), url
    return url[len(PUBLIC_BASE) :]


def _ringing(client: Client, rest: FakeTelephony, sid: str) -> tuple[Any, dict[str, Any]]:
    """Oleh, available, calls the customer from his page: his leg's Dial and the customer's leg."""
    _available("oleh")
    [dial] = _call(client, CUSTOMER, sid=sid).findall("./Dial")
    [customer] = rest.placed
    return dial, customer


def _answered(client: Client, customer: dict[str, Any], customer_sid: str) -> Any:
    answer = signed_post(client, _path(customer["answer_url"]), {"CallSid": customer_sid, "CallStatus": "in-progress"})
    assert answer.status_code == 200
    return ET.fromstring(answer.body)


def test_the_agents_browser_call_meets_the_customer_in_a_conference_named_for_the_call(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    # GIVEN Oleh (softphone identity "oleh") available
    _available("oleh")
    sid = "CA" + "1" * 32
    # WHEN his page connects a call to the customer's number, as written on an order
    document = _call(client, "067 123 45 67", sid=sid)
    # THEN his leg waits, in silence, in the conference named for the call, which he ends by leaving
    [dial] = document.findall("./Dial")
    assert (dial.get("action") or "").startswith(f"{PUBLIC_BASE}{PATH}/done?")
    [room] = dial.findall("./Conference")
    assert room.text == sid
    assert (room.get("startConferenceOnEnter"), room.get("endConferenceOnExit"), room.get("waitUrl")) == (
        "true",
        "true",
        "",
    )
    assert "/twilio/voice/inbound/conf-events?" in (room.get("statusCallback") or "")
    assert dial.findall("./Number") == []
    # AND the app rings the customer from the shop's number, into that room
    [customer] = rest.placed
    assert (customer["to"], customer["from_"]) == (CUSTOMER, SHOP_CALLER_ID)
    assert customer["status_url"].startswith(f"{PUBLIC_BASE}{PATH}/customer-status?")
    # AND the call is Oleh's, on his desk; he is busy with it; the customer is not there yet
    record = CallItem.get(sid)
    assert (record.agent_id, record.direction, record.customer_phone, record.shop_id) == (
        "oleh",
        "outbound-agent",
        CUSTOMER,
        "demo",
    )
    assert (record.agent_call_sid, record.customer_call_sid, record.result) == (sid, rest_sid(1), "agent-accepted")
    oleh = repository().desk_agent("demo", "oleh")
    assert oleh is not None and oleh.current_call_sid == sid
    assert AgentItem.get("demo", "oleh").status == "busy"
    shop = repository().get_shop("demo")
    assert shop is not None
    with pytest.raises(ControlRefused, match="not talking on this call yet"):
        call_control.live_call_of(shop, "oleh", store=repository())
    # WHEN the customer answers
    joined = _answered(client, customer, rest_sid(1))
    # THEN the customer joins the room, and the desk's hold and transfers act on the customer's leg
    assert joined.findtext("./Dial/Conference") == sid
    live = call_control.live_call_of(shop, "oleh", store=repository())
    assert (live.result, caller_leg(live), agent_talking(live)) == ("agent-talked", rest_sid(1), True)
    # WHEN the customer hangs up after 42 s (the room ends with them)
    clock.advance(seconds=42)
    customer_done = joined.find("./Dial")
    assert customer_done is not None
    assert signed_post(client, _path(customer_done.get("action") or ""), {"CallSid": rest_sid(1)}).status_code == 200
    done = signed_post(client, _path(dial.get("action") or ""), {"CallSid": sid, "DialCallStatus": "completed"})
    # THEN the record says so and Oleh wraps up
    assert done.status_code == 200 and b"<Hangup" in done.body
    record = CallItem.get(sid)
    assert (record.status, record.duration_seconds, record.ended_at) == ("completed", 42, NOW.replace(second=42))
    assert AgentItem.get("demo", "oleh").status == "wrap-up"
    assert len(rest.placed) == 1


def rest_sid(n: int) -> str:
    return f"CA{n:032x}"  # FakeTelephony's n-th placed call


def test_a_retried_webhook_joins_the_same_room_and_rings_the_customer_once(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    _available("oleh")
    sid = "CA" + "b" * 32
    first = _call(client, CUSTOMER, sid=sid)
    # Twilio asks again for the same call (its first request timed out on its side)
    second = _call(client, CUSTOMER, sid=sid)
    assert first.findtext("./Dial/Conference") == second.findtext("./Dial/Conference") == sid
    assert [leg["to"] for leg in rest.placed] == [CUSTOMER]
    assert CallItem.get(sid).customer_call_sid == rest_sid(1)
    assert AgentItem.get("demo", "oleh").status == "busy"


def test_refused_calls_are_spoken_to_the_agent_and_hung_up(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    # GIVEN Oleh offline: he may not call
    said, verbs = _said(_call(client, CUSTOMER, sid="CA" + "2" * 32))
    assert (said, verbs) == (
        ["Щоб подзвонити, встановіть статус «доступний». Дзвінок не здійснено. До побачення."],
        ["Say", "Hangup"],
    )
    _available("oleh")
    # a customer on the do-not-call list
    repository().add_do_not_call("demo", CUSTOMER, "test", NOW)
    said, verbs = _said(_call(client, CUSTOMER, sid="CA" + "3" * 32))
    assert said == ["Клієнт просив йому не дзвонити. Дзвінок не здійснено. До побачення."] and "Dial" not in verbs
    # a premium-rate number abroad
    said, verbs = _said(_call(client, "+448712345678", sid="CA" + "4" * 32))
    assert said == ["Магазин не дзвонить на цей номер. Дзвінок не здійснено. До побачення."] and "Dial" not in verbs
    # late at night in the customer's zone (23:30 in Kyiv)
    clock.advance(hours=11, minutes=30)
    said, verbs = _said(_call(client, "+380671234500", sid="CA" + "5" * 32))
    assert said[0].startswith("У часовому поясі клієнта зараз не час для дзвінків.") and "Dial" not in verbs
    # nothing was recorded or rung, and Oleh is still free
    assert [item.call_sid for item in CallItem.scan()] == []
    assert rest.placed == []
    assert AgentItem.get("demo", "oleh").status == "available"


def test_the_agent_is_the_tokens_identity_never_a_parameter(client: Client, clock: FixedClock) -> None:
    _available("anna")
    # an identity no agent has, with a parameter naming an agent who is free: refused
    params = {"CallSid": "CA" + "6" * 32, "From": "client:ivan", "To": CUSTOMER, "agent": "anna", "identity": "anna"}
    response = signed_post(client, PATH, params)
    said, verbs = _said(ET.fromstring(response.body))
    assert said == ["This phone is not signed in as an agent of a shop, so the call was not placed. Goodbye."]
    assert "Dial" not in verbs
    # a phone call to the shop's number is no agent either
    params |= {"From": "+380671234599"}
    assert b"<Dial" not in signed_post(client, PATH, params).body
    # and a request Twilio did not sign is refused before anything runs
    unsigned = client.http.post(
        PATH,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="CallSid=CA1&From=client%3Aoleh&To=%2B380671234567",
    )
    assert unsigned.status_code == 403
    assert list(CallItem.scan()) == []


@pytest.mark.parametrize(
    ("status", "heard"),
    [
        ("no-answer", "Клієнт не відповів. До побачення."),
        ("busy", "Лінія клієнта зайнята. До побачення."),
        ("failed", "Не вдалося зʼєднатися з клієнтом. До побачення."),
    ],
)
def test_a_customer_not_reached_ends_the_call_frees_the_agent_and_the_agent_hears_why(
    client: Client, clock: FixedClock, rest: FakeTelephony, status: str, heard: str
) -> None:
    sid = "CA" + "7" * 32
    dial, customer = _ringing(client, rest, sid)
    # WHEN the customer's leg ends unanswered
    clock.advance(seconds=30)
    ended = {"CallSid": rest_sid(1), "CallStatus": status, "SequenceNumber": "3"}
    assert signed_post(client, _path(customer["status_url"]), ended).status_code == 204
    # THEN the record says how, and Oleh is free (no conversation: no wrap-up)
    record = CallItem.get(sid)
    assert (record.status, record.result, record.ended_at) == (status, f"customer-{status}", NOW.replace(second=30))
    assert AgentItem.get("demo", "oleh").status == "available"
    # AND Oleh, waiting alone in the room, is taken out of it to hear why, in his language
    [(redirected, url)] = rest.redirects
    assert redirected == sid
    told = ET.fromstring(signed_post(client, _path(url), {"CallSid": sid}).body)
    said, verbs = _said(told)
    assert (said, verbs) == ([heard], ["Say", "Redirect"])
    # AND then his leg ends (the agent's end of the call, which gives him the next waiting caller)
    leg_end = signed_post(client, _path(told.findtext("./Redirect") or ""), {"CallSid": sid})
    assert [child.tag for child in ET.fromstring(leg_end.body)] == ["Hangup"]
    # AND a second end of the same call (a retried callback, the late Dial's action) changes nothing
    signed_post(client, _path(customer["status_url"]), {**ended, "CallStatus": "completed"})
    signed_post(client, _path(dial.get("action") or ""), {"CallSid": sid, "DialCallStatus": "completed"})
    record = CallItem.get(sid)
    assert (record.status, record.result) == (status, f"customer-{status}")
    assert AgentItem.get("demo", "oleh").status_since == NOW.replace(second=30)
    assert len(rest.redirects) == 1


def test_a_customer_leg_twilio_refuses_is_said_to_the_agent_and_nothing_waits(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    _available("oleh")
    rest.fail = CallNotPlacedError("21215: geo permissions", temporary=False)
    said, verbs = _said(_call(client, CUSTOMER, sid="CA" + "c" * 32))
    assert (said, verbs) == (["Не вдалося зʼєднатися з клієнтом. До побачення."], ["Say", "Redirect"])
    record = CallItem.get("CA" + "c" * 32)
    assert (record.status, record.result) == ("failed", "customer-failed")
    assert AgentItem.get("demo", "oleh").status == "available"


def test_an_agent_who_hangs_up_before_the_customer_answers_calls_the_customer_off(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    sid = "CA" + "d" * 32
    dial, customer = _ringing(client, rest, sid)
    clock.advance(seconds=8)
    # WHEN Oleh hangs up while the customer's phone rings (his leg's Dial ends)
    done = signed_post(client, _path(dial.get("action") or ""), {"CallSid": sid, "DialCallStatus": "completed"})
    assert done.status_code == 200
    # THEN the customer's leg is cancelled, the record says so, and Oleh is free
    assert rest.ended == [rest_sid(1)]
    record = CallItem.get(sid)
    assert (record.status, record.result) == ("canceled", "agent-hung-up")
    assert AgentItem.get("demo", "oleh").status == "available"
    # AND a customer who picks up just then is hung up on, not put in an empty room
    assert [child.tag for child in _answered(client, customer, rest_sid(1))] == ["Hangup"]
    signed_post(client, _path(customer["status_url"]), {"CallSid": rest_sid(1), "CallStatus": "canceled"})
    assert CallItem.get(sid).result == "agent-hung-up"
    assert rest.redirects == []


def test_an_agent_who_hangs_up_mid_call_is_released_though_the_dials_action_never_comes(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    # GIVEN Oleh on a browser call to a customer who answered
    sid = "CA" + "8" * 32
    dial, customer = _ringing(client, rest, sid)
    _answered(client, customer, rest_sid(1))
    # WHEN he hangs up after 30 s (the room ends) and Twilio's requests to both Dials' actions
    # are lost: only the customer's leg reports its end
    clock.advance(seconds=30)
    ended = {"CallSid": rest_sid(1), "CallStatus": "completed", "CallDuration": "30"}
    assert signed_post(client, _path(customer["status_url"]), ended).status_code == 204
    # THEN the call is recorded as ended and Oleh wraps up instead of staying busy
    record = CallItem.get(sid)
    assert (record.status, record.duration_seconds, record.ended_at) == ("completed", 30, NOW.replace(second=30))
    assert AgentItem.get("demo", "oleh").status == "wrap-up"
    # AND the action arriving late after all changes nothing
    clock.advance(seconds=5)
    signed_post(client, _path(dial.get("action") or ""), {"CallSid": sid, "DialCallStatus": "completed"})
    assert CallItem.get(sid).duration_seconds == 30
    assert AgentItem.get("demo", "oleh").status_since == NOW.replace(second=30)


class _Room:
    """Twilio's Conferences and Participants as hold and a transfer use them."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str, str, object]] = []

    def hold(self, room: str, call_sid: str, *, on: bool, music_url: str | None) -> bool:
        self.changes.append(("hold", room, call_sid, on))
        return True

    def set_end_on_exit(self, room: str, call_sid: str, *, end: bool) -> bool:
        self.changes.append(("end_on_exit", room, call_sid, end))
        return True

    def remove(self, room: str, call_sid: str) -> bool:
        self.changes.append(("remove", room, call_sid, True))
        return True

    def end(self, room: str) -> None:
        pass

    def add(self, room: str, *, to: str, from_: str, label: str, status_url: str, ring_seconds: int) -> str:
        raise AssertionError("no outside number here")


def test_the_agent_holds_and_cold_transfers_a_browser_call_and_the_second_agent_ends_it(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    # GIVEN Oleh talking to the customer on a browser call; Anna available
    sid = "CA" + "e" * 32
    dial, customer = _ringing(client, rest, sid)
    joined = _answered(client, customer, rest_sid(1))
    _available("anna")
    shop = repository().get_shop("demo")
    assert shop is not None
    room, telephony = _Room(), FakeTelephony()
    # WHEN Oleh holds the customer: the customer's leg in the call's room is held
    call_control.hold(shop, "oleh", True, store=repository(), conferences=room, music_url="https://m/hold.mp3")
    assert room.changes == [("hold", sid, rest_sid(1), True)]
    call_control.hold(shop, "oleh", False, store=repository(), conferences=room, music_url="https://m/hold.mp3")
    # WHEN he transfers the call cold to Anna
    links = conference_links()
    transfers.start(
        shop,
        "oleh",
        "anna",
        "cold",
        store=repository(),
        conferences=room,
        telephony=telephony,
        urls=lambda agent: AgentLegUrls(links.agent_leg("answer", sid, agent), links.agent_leg("status", sid, agent)),
        music_url="https://m/hold.mp3",
        now=NOW,
    )
    # THEN Anna's phone rings into the room and Oleh is taken out of it
    [anna_leg] = telephony.placed
    assert "/twilio/voice/inbound/agent-leg/answer?" in anna_leg["answer_url"]
    assert ("remove", sid, sid, True) in room.changes
    # Oleh's Dial ends: he wraps up; the call goes on
    clock.advance(seconds=20)
    signed_post(client, _path(dial.get("action") or ""), {"CallSid": sid, "DialCallStatus": "completed"})
    assert AgentItem.get("demo", "oleh").status == "wrap-up"
    assert CallItem.get(sid).ended_at is None
    # Anna joins: the call is hers (the conference's join event hands it over)
    transfers.handover(_call_of(sid), store=repository(), conferences=room, shop=shop, now=NOW)
    record = CallItem.get(sid)
    assert (record.agent_id, list(record.handled_by or []), record.transfers) == ("anna", ["oleh", "anna"], 1)
    # WHEN the customer hangs up, later
    clock.advance(seconds=40)
    customer_dial = joined.find("./Dial")
    assert customer_dial is not None
    signed_post(client, _path(customer_dial.get("action") or ""), {"CallSid": rest_sid(1)})
    # THEN the call ends and Anna wraps up
    record = CallItem.get(sid)
    assert (record.status, record.ended_at) == ("completed", NOW.replace(minute=1))
    assert AgentItem.get("demo", "anna").status == "wrap-up"


def _call_of(sid: str) -> Call:
    call = repository().get_call(sid)
    assert call is not None
    return call


def test_the_minute_sweep_releases_an_agent_whose_browser_calls_end_was_lost(
    client: Client, clock: FixedClock, rest: FakeTelephony, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Oleh on a browser call the customer answered; every end of it will be lost
    sid = "CA" + "f" * 32
    _, customer = _ringing(client, rest, sid)
    _answered(client, customer, rest_sid(1))
    twilio = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: twilio)
    asked: list[str] = []
    fetch = twilio.fetch_call

    def fetch_and_note(call_sid: str) -> CallState:
        asked.append(call_sid)
        return fetch(call_sid)

    monkeypatch.setattr(twilio, "fetch_call", fetch_and_note)
    # WHEN the minute's sweep runs while the call is young: Twilio is not even asked
    assert dialing.release_lost_browser_calls(NOW + timedelta(minutes=5)) == []
    assert asked == []
    # WHEN it runs after 11 minutes of a conversation still under way: left alone
    assert dialing.release_lost_browser_calls(NOW + timedelta(minutes=11)) == []
    assert asked == [sid]
    assert AgentItem.get("demo", "oleh").status == "busy" and CallItem.get(sid).ended_at is None
    # and not asked again for another ten minutes
    assert dialing.release_lost_browser_calls(NOW + timedelta(minutes=15)) == []
    assert asked == [sid]
    # WHEN Twilio says the call is over (it ended at some point; nothing told us)
    twilio.call_states[sid] = CallState("completed", 1200, None)
    later = NOW + timedelta(minutes=22)
    assert dialing.release_lost_browser_calls(later) == ["oleh"]
    # THEN Oleh is released to wrap-up and the record is closed
    assert AgentItem.get("demo", "oleh").status == "wrap-up"
    record = CallItem.get(sid)
    assert (record.status, record.ended_at) == ("completed", later)
    # AND the agent is out of the sweep's index: the next minute asks nothing
    assert dialing.release_lost_browser_calls(later + timedelta(minutes=30)) == []
    assert asked == [sid, sid]


def test_an_agent_freed_normally_leaves_the_sweeps_index(
    client: Client, clock: FixedClock, rest: FakeTelephony, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = "CA" + "9" * 32
    _, customer = _ringing(client, rest, sid)
    signed_post(client, _path(customer["status_url"]), {"CallSid": rest_sid(1), "CallStatus": "busy"})
    assert repository().desk_calls_unchecked_since(NOW + timedelta(days=1)) == []


def _shop_agents_toml(shop_id: str, *agents: tuple[str, str]) -> str:
    """A `load` file of one shop's agents, each (agent id, softphone identity)."""
    lines = ["[[shops]]", f'shop_id = "{shop_id}"']
    for agent_id, identity in agents:
        lines += [
            "[[shops.agents]]",
            f'agent_id = "{agent_id}"',
            f'name = "{agent_id}"',
            f'client_identity = "{identity}"',
        ]
    return "\n".join(lines) + "\n"


def test_a_softphone_identity_names_one_agent_across_the_shops(
    client: Client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a second shop; Oleh of the demo shop has the softphone identity "oleh"
    assert admin_cli(["create-shop", "--id", "kvitka", "--name", "Kvitka"]) == 0
    capsys.readouterr()
    # WHEN the operator gives the second shop's new agent that identity
    code = admin_cli(["add-agent", "--shop", "kvitka", "--id", "olga", "--name", "Olga", "--client-identity", "oleh"])
    # THEN it is refused, naming the field, and nothing is saved
    assert code != 0
    assert "client_identity 'oleh' is already agent 'oleh''s (shop 'demo')" in capsys.readouterr().err
    assert not repository().has_agent("kvitka", "olga")
    # AND the same through a TOML file
    config = tmp_path / "shops.toml"
    config.write_text(_shop_agents_toml("kvitka", ("olga", "oleh")), encoding="utf-8")
    assert admin_cli(["load", str(config)]) != 0
    assert "client_identity 'oleh'" in capsys.readouterr().err
    assert not repository().has_agent("kvitka", "olga")
    # AND two agents of one file with one identity are refused before anything is saved
    config.write_text(_shop_agents_toml("kvitka", ("olga", "desk-7"), ("ira", "desk-7")), encoding="utf-8")
    assert admin_cli(["load", str(config)]) != 0
    assert "agent kvitka/ira: client_identity 'desk-7' is also agent kvitka/olga's" in capsys.readouterr().err
    assert not repository().has_agent("kvitka", "olga")
    # AND Oleh's own update keeps his identity, and another identity is free to take
    assert (
        admin_cli(["add-agent", "--shop", "demo", "--id", "oleh", "--name", "Oleh", "--client-identity", "oleh"]) == 0
    )
    code = admin_cli(["add-agent", "--shop", "kvitka", "--id", "olga", "--name", "Olga", "--client-identity", "olga"])
    assert code == 0
    # AND a browser call from "oleh" still finds Oleh (the index names one agent)
    _available("oleh")
    assert _call(client, CUSTOMER, sid="CA" + "a" * 32).findall("./Dial")
