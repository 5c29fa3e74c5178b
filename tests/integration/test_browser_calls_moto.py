"""The TwiML App's Voice URL (#17): an agent's outgoing call from the browser softphone dials
the customer with the shop's caller ID under every dial's rules; the agent is the one whose
softphone identity Twilio names in ``From``, never a parameter; a refusal is spoken."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from chalicelib.clock import FixedClock
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
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


def test_the_agents_browser_call_dials_the_customer_from_the_shops_caller_id(client: Client, clock: FixedClock) -> None:
    # GIVEN Oleh (softphone identity "oleh") available
    _available("oleh")
    # WHEN his page connects a call to the customer's number, as written on an order
    document = _call(client, "067 123 45 67")
    # THEN Twilio is told to dial the customer from the shop's number; its end comes back to the app
    [dial] = document.findall("./Dial")
    assert dial.get("callerId") == SHOP_CALLER_ID
    assert [number.text for number in dial.findall("./Number")] == [CUSTOMER]
    assert (dial.get("action") or "").startswith(f"{PUBLIC_BASE}{PATH}/done?")
    # AND the call is Oleh's, on his desk; he is busy with it
    record = CallItem.get("CA" + "1" * 32)
    assert (record.agent_id, record.direction, record.customer_phone, record.shop_id) == (
        "oleh",
        "outbound-agent",
        CUSTOMER,
        "demo",
    )
    oleh = repository().desk_agent("demo", "oleh")
    assert oleh is not None and oleh.current_call_sid == "CA" + "1" * 32
    assert AgentItem.get("demo", "oleh").status == "busy"
    # WHEN the customer hangs up after 42 s
    path = (dial.get("action") or "")[len(PUBLIC_BASE) :]
    done = signed_post(
        client, path, {"CallSid": "CA" + "1" * 32, "DialCallStatus": "completed", "DialCallDuration": "42"}
    )
    # THEN the record says so and Oleh wraps up
    assert done.status_code == 200 and b"<Hangup" in done.body
    record = CallItem.get("CA" + "1" * 32)
    assert (record.status, record.duration_seconds) == ("completed", 42)
    assert AgentItem.get("demo", "oleh").status == "wrap-up"


def test_refused_calls_are_spoken_to_the_agent_and_hung_up(client: Client, clock: FixedClock) -> None:
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
    # nothing was recorded, and Oleh is still free
    assert [item.call_sid for item in CallItem.scan()] == []
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


def test_a_customer_who_does_not_answer_leaves_the_agent_free_not_in_wrap_up(client: Client, clock: FixedClock) -> None:
    _available("oleh")
    [dial] = _call(client, CUSTOMER, sid="CA" + "7" * 32).findall("./Dial")
    path = (dial.get("action") or "")[len(PUBLIC_BASE) :]
    done = signed_post(
        client, path, {"CallSid": "CA" + "7" * 32, "DialCallStatus": "no-answer", "DialCallDuration": "0"}
    )
    assert done.status_code == 200
    assert CallItem.get("CA" + "7" * 32).status == "no-answer"
    assert AgentItem.get("demo", "oleh").status == "available"
    # a second end of the same call (a retried or stray callback) changes nothing
    signed_post(client, path, {"CallSid": "CA" + "7" * 32, "DialCallStatus": "completed", "DialCallDuration": "9"})
    record = CallItem.get("CA" + "7" * 32)
    assert (record.status, record.duration_seconds) == ("no-answer", 0)
    assert AgentItem.get("demo", "oleh").status == "available"


def test_an_agent_who_hangs_up_mid_call_is_released_though_the_dials_action_never_comes(
    client: Client, clock: FixedClock
) -> None:
    # GIVEN Oleh on a browser call to a customer who answered
    _available("oleh")
    sid = "CA" + "8" * 32
    [dial] = _call(client, CUSTOMER, sid=sid).findall("./Dial")
    [number] = dial.findall("./Number")
    assert (number.get("statusCallbackEvent"), number.get("statusCallbackMethod")) == ("completed", "POST")
    status_url = number.get("statusCallback") or ""
    assert status_url.startswith(f"{PUBLIC_BASE}{PATH}/status?")
    # WHEN he hangs up after 30 s and Twilio's request to the Dial's action is lost: only the
    # customer's leg reports its end (its own sid, the browser call as its parent)
    clock.advance(seconds=30)
    customer_leg = {"CallSid": "CA" + "9" * 32, "ParentCallSid": sid, "CallStatus": "completed", "CallDuration": "30"}
    response = signed_post(client, status_url[len(PUBLIC_BASE) :], customer_leg)
    # THEN the call is recorded as ended and Oleh wraps up instead of staying busy
    assert response.status_code == 204
    record = CallItem.get(sid)
    assert (record.status, record.duration_seconds, record.ended_at) == ("completed", 30, NOW.replace(second=30))
    assert AgentItem.get("demo", "oleh").status == "wrap-up"
    # AND the action arriving late after all changes nothing
    clock.advance(seconds=5)
    done_path = (dial.get("action") or "")[len(PUBLIC_BASE) :]
    signed_post(client, done_path, {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "35"})
    assert CallItem.get(sid).duration_seconds == 30
    assert AgentItem.get("demo", "oleh").status_since == NOW.replace(second=30)


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
