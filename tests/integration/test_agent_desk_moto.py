"""The agents' desk through the HTTP API on moto: per-agent tokens (A3), the screen pop of the
agent's current call, the customer timeline (A7), and the admin commands for tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import AgentTokenItem, DialTaskItem
from chalicelib.clock import FixedClock
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.signed_links import LinkCheck, verify
from chalicelib.services import admin
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from tests.integration.conftest import LINK_SECRET, PUBLIC_BASE

pytestmark = pytest.mark.integration
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
ANNA = "demo-agent-anna-0001"  # config/demo.toml: sees callers' numbers
OLEH = "demo-agent-oleh-0001"  # does not
SHOP_KEY = "demo-shop-key-0001"
PHONE = "+380671234567"


def call(client: Client, method: str, path: str, secret: str | None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {secret}"} if secret else {})
    payload = json.dumps(body) if body is not None else None
    return getattr(client.http, method)(path, headers=headers, **({"body": payload} if payload else {}))


def read_timeline(client: Client, phone: str, secret: str | None, **given: Any) -> Any:
    """``POST /v1/customers/timeline``: the customer named in the body (#18)."""
    return call(client, "post", "/v1/customers/timeline", secret, {"phone": phone, **given})


def order(order_id: str, number: str, phone: str = PHONE, minutes_ago: int = 60, status: str = "queued") -> Order:
    return Order(
        shop_id="demo",
        order_id=order_id,
        phone=phone,
        phone_valid=True,
        total=Decimal("255.00"),
        currency="UAH",
        received_at=NOW - timedelta(minutes=minutes_ago),
        day="2015-11-23",
        order_number=number,
        customer_name="Olena Petrenko",
        status=status,
        payload={"items": [{"sku": "ROSE-RED", "name": "Red roses", "quantity": 3, "price": "85.00"}]},
    )


def agent_dialed_call(
    call_sid: str,
    agent_id: str,
    order_ids: list[str],
    *,
    task_id: str = "t1",
    kind: str = "agent",
    at: datetime = NOW - timedelta(minutes=2),
) -> None:
    """An agent-first call about ``order_ids`` (or a callback, ``kind="callback"``) as the agent
    dialer leaves it, given to the agent."""
    store = repository()
    store.insert_task(
        DialTask(
            task_id=task_id,
            shop_id="demo",
            phone=PHONE,
            order_ids=order_ids,
            language="uk",
            created_at=at - timedelta(minutes=28),
            kind=kind,
            state="dialing",
        )
    )
    store.attach_call(task_id, call_sid)
    if order_ids:
        DialTaskItem(task_id).update(actions=[DialTaskItem.call_order_ids.set(set(order_ids))])
    store.upsert_call(
        Call(
            call_sid=call_sid,
            shop_id="demo",
            direction="outbound-agent",
            customer_phone=PHONE,
            shop_number="+380441234567",
            created_at=at,
            day=at.date().isoformat(),
            task_id=task_id,
        )
    )
    store.update_call(call_sid, agent_id=agent_id, result="agent", status="in-progress")


def test_an_agent_sets_only_their_own_status_and_the_shop_key_acts_as_a_supervisor(client: Client) -> None:
    # an agent logs in with their token and goes available
    me = call(client, "get", "/v1/agent", ANNA)
    assert me.status_code == 200
    assert (me.json_body["agent_id"], me.json_body["shop"]["name"], me.json_body["sees_phone_numbers"]) == (
        "anna",
        "Kvitka Flowers",
        True,
    )
    assert call(client, "put", "/v1/agents/anna/status", ANNA, {"status": "available"}).status_code == 200
    # ... but cannot set a colleague's status
    refused = call(client, "put", "/v1/agents/oleh/status", ANNA, {"status": "available"})
    assert (refused.status_code, refused.json_body["fields"][0]["field"]) == (403, "agent_id")
    statuses = {a["agent_id"]: a["status"] for a in call(client, "get", "/v1/agents", ANNA).json_body["agents"]}
    assert statuses == {"anna": "available", "oleh": "offline"}
    # the shop's key may set any agent's status, but is nobody's desk
    assert call(client, "put", "/v1/agents/oleh/status", SHOP_KEY, {"status": "break"}).status_code == 200
    assert call(client, "get", "/v1/agents/oleh", OLEH).json_body["status"] == "break"
    assert call(client, "get", "/v1/agent", SHOP_KEY).status_code == 401
    assert call(client, "get", "/v1/agent/call", SHOP_KEY).status_code == 401
    assert call(client, "get", "/v1/agent", None).status_code == 401
    assert call(client, "get", "/v1/agents", "wrong-token-0000000").status_code == 401


def test_the_screen_pop_shows_the_agents_call_masked_unless_allowed_until_the_outcome_is_final(
    client: Client, clock: FixedClock
) -> None:
    store = repository()
    assert call(client, "get", "/v1/agent/call", OLEH).status_code == 404  # no call yet
    # GIVEN Oleh (no right to see numbers) on an agent-first call about one of two queued orders
    store.insert_order(order("o1", "A-1"))
    store.insert_order(order("o2", "A-2", minutes_ago=90, status="confirmed"))
    store.log_message(TextMessage("demo", PHONE, "SM1", "inbound", "when will it come?", NOW, "2015-11-23"))
    agent_dialed_call("CA100", "oleh", ["o1"])

    # WHEN Oleh's desk asks for the current call
    pop = call(client, "get", "/v1/agent/call", OLEH)

    # THEN the caller is masked, the call's order shows its items, the recent contacts are there
    assert pop.status_code == 200, pop.json_body
    body = pop.json_body
    assert body["caller"] == {"phone": "+380*******67", "phone_masked": True, "name": "Olena Petrenko"}
    assert PHONE not in json.dumps(body)
    assert body["shop"] == {"shop_id": "demo", "name": "Kvitka Flowers"}
    assert (body["call"]["call_sid"], body["call"]["state"], body["call"]["purpose"]) == (
        "CA100",
        "live",
        "order-confirmation",
    )
    [shown] = body["orders"]
    assert (shown["order_number"], shown["status"], shown["items"][0]["name"]) == ("A-1", "queued", "Red roses")
    assert [c["type"] for c in body["recent_contacts"]] == ["sms", "call", "order", "order"]
    assert body["outcome"] is None and "confirmed" in body["outcome_codes"]
    # Anna has no call on her desk; she would see numbers in full
    assert call(client, "get", "/v1/agent/call", ANNA).status_code == 404

    # WHEN Oleh saves "confirmed": the desk shows it while it can be corrected, then clears
    saved = call(client, "post", "/v1/calls/CA100/outcome", OLEH, {"outcome": "confirmed", "comment": "ok"})
    assert saved.status_code == 201
    again = call(client, "get", "/v1/agent/call", OLEH).json_body
    assert again["outcome"]["outcome"] == "confirmed"
    assert again["orders"][0]["status"] == "confirmed"
    clock.advance(seconds=31)  # the demo shop's wrap-up is 30 s
    assert call(client, "get", "/v1/agent/call", OLEH).status_code == 404


def test_an_agent_with_the_right_sees_the_callers_number_of_an_inbound_call(client: Client) -> None:
    store = repository()
    caller = "+380671239999"
    store.insert_order(order("o9", "B-9", phone=caller))
    store.upsert_call(
        Call(
            call_sid="CA200",
            shop_id="demo",
            direction="inbound",
            customer_phone=caller,
            shop_number="+380441234567",
            created_at=NOW,
            day="2015-11-23",
        )
    )
    store.update_call("CA200", agent_id="anna", result="connecting")
    body = call(client, "get", "/v1/agent/call", ANNA).json_body
    assert body["caller"]["phone"] == caller and body["caller"]["phone_masked"] is False
    assert body["call"]["purpose"] == "inbound"
    assert [o["order_number"] for o in body["orders"]] == ["B-9"]
    # the call then goes to Oleh (Anna missed it): it leaves Anna's desk
    store.update_call("CA200", agent_id="oleh")
    assert call(client, "get", "/v1/agent/call", ANNA).status_code == 404
    assert call(client, "get", "/v1/agent/call", OLEH).json_body["call"]["call_sid"] == "CA200"


def test_a_transfers_target_sees_the_call_while_rung_and_the_first_agent_loses_it_once_handed_over(
    client: Client,
) -> None:
    store = repository()
    store.upsert_call(
        Call(
            call_sid="CA300",
            shop_id="demo",
            direction="inbound",
            customer_phone="+380671239998",
            shop_number="+380441234567",
            created_at=NOW,
            day="2015-11-23",
        )
    )
    store.update_call("CA300", agent_id="oleh", result="agent")
    assert call(client, "get", "/v1/agent/call", ANNA).status_code == 404
    # Oleh transfers it to Anna: while she is rung, her desk shows the caller; his still does
    store.update_call("CA300", transfer_to="anna", transfer_mode="warm")
    assert call(client, "get", "/v1/agent/call", ANNA).json_body["caller"]["phone"] == "+380671239998"
    assert call(client, "get", "/v1/agent/call", OLEH).json_body["call"]["call_sid"] == "CA300"
    # handed over: Anna's call, off Oleh's desk
    store.update_call("CA300", transfer_to=None, agent_id="anna", handled_by=["oleh", "anna"], transfers=1)
    assert call(client, "get", "/v1/agent/call", ANNA).json_body["call"]["call_sid"] == "CA300"
    assert call(client, "get", "/v1/agent/call", OLEH).status_code == 404


def test_the_customer_timeline_is_newest_first_paged_and_per_shop(client: Client, clock: FixedClock) -> None:
    # GIVEN a customer with orders, an agent's call and its outcome, texts and an opt-out
    store = repository()
    store.insert_order(order("o1", "A-1", minutes_ago=60))
    store.insert_order(order("o2", "A-2", minutes_ago=50))
    agent_dialed_call("CA100", "anna", ["o1", "o2"])  # 2 minutes ago
    store.log_message(TextMessage("demo", PHONE, "SM1", "outbound", "Your order A-1", NOW - timedelta(minutes=40), ""))
    assert call(client, "post", "/v1/calls/CA100/outcome", ANNA, {"outcome": "cancelled"}).status_code == 201
    clock.advance(seconds=60)
    store.log_message(TextMessage("demo", PHONE, "SM2", "inbound", "STOP", clock.now(), "", intent="stop"))
    assert call(client, "post", "/v1/do-not-call", SHOP_KEY, {"phone": PHONE}).status_code == 201
    # and another shop with a customer of the same number
    admin.create_shop({"shop_id": "other", "name": "Other"}, store=store, now=NOW)
    admin.create_api_key("other", store=store, now=NOW, api_key="other-shop-key-0001")
    store.insert_order(Order("other", "x1", PHONE, True, Decimal(1), "UAH", NOW, ""))

    # WHEN the shop reads it two entries at a time, in the number's local form
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        page = read_timeline(client, "067 123 45 67", SHOP_KEY, limit=2, cursor=cursor)
        assert page.status_code == 200, page.json_body
        assert page.json_body["phone"] == PHONE
        seen += [(e["type"], e["id"]) for e in page.json_body["entries"]]
        cursor = page.json_body["next_cursor"]
        if not cursor:
            break

    # THEN every record of this shop's customer comes once, newest first
    # (the STOP and the opt-out share a moment: ties go by id, the same on every page)
    assert [kind for kind, _ in seen] == ["sms", "opt_out", "outcome", "call", "sms", "order", "order"]
    assert len(set(seen)) == len(seen)
    assert ("order", "order:x1") not in seen
    # the agent of the call reads it too; the other shop sees only its own order
    by_agent = read_timeline(client, PHONE, ANNA).json_body["entries"]
    call_entry = next(e for e in by_agent if e["type"] == "call")
    assert (call_entry["outcome"], call_entry["agent_id"], call_entry["recording"]) == (
        "cancelled",
        "anna",
        {"available": False, "url": None},
    )
    other = read_timeline(client, PHONE, "other-shop-key-0001").json_body
    assert [e["id"] for e in other["entries"]] == ["order:x1"]
    # bad input names the field
    for given, field in (({"cursor": "zzz"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 500}, "limit")):
        bad = read_timeline(client, PHONE, SHOP_KEY, **given)
        assert (bad.status_code, bad.json_body["fields"][0]["field"]) == (422, field)
    bad_phone = read_timeline(client, "12", SHOP_KEY)
    assert (bad_phone.status_code, bad_phone.json_body["fields"][0]["field"]) == (422, "phone")


def test_the_admin_cli_issues_rotates_and_revokes_an_agents_token(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the operator issues Anna a new token
    assert admin_cli(["issue-agent-token", "--shop", "demo", "--agent", "anna"]) == 0
    printed = capsys.readouterr().out
    token = printed.split(": ", 1)[1].split()[0]
    # THEN it works, and the demo token it replaced does not
    assert call(client, "get", "/v1/agent", token).json_body["agent_id"] == "anna"
    assert call(client, "get", "/v1/agent", ANNA).status_code == 401
    # only its digest is stored
    assert all(token not in json.dumps(record.attribute_values, default=str) for record in AgentTokenItem.scan())
    # revoked, it stops working; an unknown agent is an error
    assert admin_cli(["revoke-agent-token", "--shop", "demo", "--agent", "anna"]) == 0
    assert call(client, "get", "/v1/agent", token).status_code == 401
    assert admin_cli(["issue-agent-token", "--shop", "demo", "--agent", "nobody"]) == 2


def test_a_recorded_call_on_the_desk_links_its_recording_by_an_expiring_signed_link(
    client: Client, clock: FixedClock
) -> None:
    # GIVEN Anna on an inbound call that Twilio has recorded
    store = repository()
    store.upsert_call(
        Call(
            call_sid="CA300",
            shop_id="demo",
            direction="inbound",
            customer_phone=PHONE,
            shop_number="+380441234567",
            created_at=NOW,
            day="2015-11-23",
        )
    )
    store.update_call(
        "CA300",
        agent_id="anna",
        result="connecting",
        recording_sid="RE" + "1" * 32,
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "1" * 32,
    )
    # WHEN she opens the screen pop
    pop = call(client, "get", "/v1/agent/call", ANNA).json_body
    link = next(e for e in pop["recent_contacts"] if e["type"] == "call")["recording"]["url"]
    # THEN the link is ours, signed, not Twilio's, and works for an hour only
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{PUBLIC_BASE}/v1/recordings/CA300"
    query = parse_qs(parts.query)
    check = partial(
        verify, "/v1/recordings/CA300", query["expires"][0], query["signature"][0], secret=LINK_SECRET.encode()
    )
    assert check(now=NOW + timedelta(minutes=59)) is LinkCheck.VALID
    assert check(now=NOW + timedelta(minutes=61)) is LinkCheck.EXPIRED
    assert "twilio.com" not in json.dumps(pop)


def test_an_agent_whose_wrap_up_has_run_its_time_shows_as_available(client: Client, clock: FixedClock) -> None:
    # GIVEN Oleh, available, takes a call and hangs up at NOW: the system puts him in wrap-up
    store = repository()
    assert call(client, "put", "/v1/agents/oleh/status", OLEH, {"status": "available"}).status_code == 200
    oleh = store.get_agent("demo", "oleh")
    assert oleh is not None
    assert store.reserve_agent(oleh, "CA200", NOW, wrap_up_seconds=30, timezone="Europe/Kyiv")
    assert store.release_agent("demo", "oleh", "CA200", "wrap-up", NOW, timezone="Europe/Kyiv", talked=True)

    def shown(path: str, secret: str = OLEH) -> tuple[str, str]:
        body = call(client, "get", path, secret).json_body
        return body["status"], body["status_since"]

    # THEN during the demo shop's 30 s of wrap-up he is in wrap-up everywhere
    clock.advance(seconds=10)
    assert shown("/v1/agent") == shown("/v1/agents/oleh") == ("wrap-up", NOW.isoformat())
    # AND once it has run its time he is available since it ended: on the desk, to the
    # supervisor and on the live board, as routing already treats him
    clock.advance(seconds=21)
    ended = (NOW + timedelta(seconds=30)).isoformat()
    assert shown("/v1/agent") == shown("/v1/agents/oleh", SHOP_KEY) == ("available", ended)
    listed = {a["agent_id"]: a["status"] for a in call(client, "get", "/v1/agents", SHOP_KEY).json_body["agents"]}
    assert listed["oleh"] == "available"
    live = call(client, "get", "/v1/live?kpis=false", SHOP_KEY).json_body
    assert [(a["status"], a["since"]) for a in live["agents"] if a["id"] == "oleh"] == [("available", ended)]


# ---- who reads whose timeline, and how long a token works (#18) ----------------------------


def issued(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The token ``cli.admin issue-agent-token`` prints for ``args``."""
    assert admin_cli(["issue-agent-token", "--shop", "demo", *args]) == 0
    return capsys.readouterr().out.split(": ", 1)[1].split()[0]


def test_an_agent_reads_only_the_timeline_of_their_own_calls_customers_a_supervisor_every_one(
    client: Client, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a customer with an order and a text, whom Anna called agent-first a moment ago,
    # and whom Oleh talked to only 31 days ago (past the shop's 30 days)
    store = repository()
    store.insert_order(order("o1", "A-1"))
    store.log_message(TextMessage("demo", PHONE, "SM1", "inbound", "door code 9081", NOW, "2015-11-23"))
    agent_dialed_call("CA100", "anna", ["o1"])
    agent_dialed_call("CA050", "oleh", [], task_id="t0", at=NOW - timedelta(days=31))

    # WHEN Oleh asks for the customer's timeline
    refused = read_timeline(client, PHONE, OLEH)
    # THEN he is refused, by the phone, and sees none of it
    assert refused.status_code == 403
    assert refused.json_body["error"] == "forbidden"
    assert PHONE in refused.json_body["message"]
    assert refused.json_body["fields"][0]["field"] == "phone"
    assert "9081" not in json.dumps(refused.json_body)
    # (in the number's local form too)
    assert read_timeline(client, "067 123 45 67", OLEH).status_code == 403
    # Anna, whose call it is, reads it whole
    mine = read_timeline(client, PHONE, ANNA)
    assert mine.status_code == 200
    assert "door code 9081" in [e.get("body") for e in mine.json_body["entries"]]

    # WHEN Oleh takes the customer's callback
    clock.advance(seconds=60)
    agent_dialed_call("CA200", "oleh", [], task_id="t2", kind="callback", at=clock.now())
    # THEN the customer is his too
    assert read_timeline(client, PHONE, OLEH).status_code == 200

    # a customer neither agent ever called: only the shop's key and a supervisor read them
    other = "+380671112233"
    assert read_timeline(client, other, ANNA).status_code == 403
    assert read_timeline(client, other, SHOP_KEY).status_code == 200
    supervisor = issued(capsys, "--agent", "oleh", "--supervisor")
    assert read_timeline(client, other, supervisor).status_code == 200
    assert read_timeline(client, PHONE, supervisor).status_code == 200
    # re-issued without --supervisor, Oleh's token is an agent's again
    plain = issued(capsys, "--agent", "oleh")
    assert read_timeline(client, other, plain).status_code == 403


def test_an_agents_token_expires_after_the_shops_days_and_a_new_one_works(
    client: Client, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the demo tokens, issued at NOW, and the default of 30 days
    assert call(client, "get", "/v1/agent", ANNA).status_code == 200
    # WHEN 30 days have passed
    clock.advance(seconds=30 * 86400 - 1)
    assert call(client, "get", "/v1/agent", ANNA).status_code == 200
    clock.advance(seconds=1)
    # THEN the token no longer works anywhere, and says why
    for method, path in (
        ("get", "/v1/agent"),
        ("get", "/v1/agent/call"),
        ("get", "/v1/agents"),
        ("post", "/v1/customers/timeline"),
    ):
        expired = call(client, method, path, ANNA)
        assert (expired.status_code, expired.json_body["message"]) == (401, "token expired: ask for a new one"), path
    # the shop's key is no agent token: it still works
    assert call(client, "get", "/v1/agents", SHOP_KEY).status_code == 200
    # a new token works for another 30 days
    fresh = issued(capsys, "--agent", "anna")
    assert call(client, "get", "/v1/agent", fresh).json_body["agent_id"] == "anna"

    # WHEN the shop shortens its tokens' life to 7 days
    admin.create_shop({"shop_id": "demo", "desk": {"agent_token_days": 7}}, store=repository(), now=clock.now())
    clock.advance(seconds=7 * 86400)
    # THEN the fresh token expires a week after its issue
    assert call(client, "get", "/v1/agent", fresh).status_code == 401
    # and a setting out of range is refused, naming it
    with pytest.raises(ValueError, match="agent_token_days"):
        admin.create_shop({"shop_id": "demo", "desk": {"agent_token_days": 0}}, store=repository(), now=clock.now())


def test_the_old_timeline_address_with_the_number_in_its_path_is_gone(client: Client) -> None:
    # GIVEN a customer with an order
    repository().insert_order(order("o1", "A-1"))
    # WHEN the shop asks the old address, with or without its key
    for secret in (SHOP_KEY, None):
        gone = call(client, "get", "/v1/customers/%2B380671234567/timeline?limit=5", secret)
        # THEN it is gone, names the new route, and shows nothing of the customer
        assert (gone.status_code, gone.json_body["error"]) == (410, "gone")
        assert "POST /v1/customers/timeline" in gone.json_body["message"]
        assert "A-1" not in json.dumps(gone.json_body) and "380671234567" not in json.dumps(gone.json_body)
    # AND the new one reads it
    assert [e["type"] for e in read_timeline(client, PHONE, SHOP_KEY).json_body["entries"]] == ["order"]
