"""The CRM push (A6) on fakes: signatures, the retry schedule, which URLs a CRM may have, stable
event ids, and one delivery's decisions (delivered, retried, parked, skipped)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.domain.crm import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    CrmAddressRefused,
    CrmUnreachable,
    OutboxEvent,
    SignatureRefused,
    crm_url_problem,
    next_attempt_at,
    order_event_id,
    retry_delay,
    signature_header,
    verify_signature,
)
from chalicelib.domain.entities import Order
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import crm_push
from tests.fakes.crm import FakeCrmOutbox, ScriptedCrm

SIGNED_AT = datetime(2041, 6, 1, 8, 0, tzinfo=UTC)  # the real instant of sending, far from business time

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SECRET = b"s3cret-for-tests"
CRM_URL = "https://crm.kvitka.example/hooks/calls"


def shop(url: str | None = CRM_URL) -> ShopSettings:
    crm = {"url": url, "secret_name": "kvitka-crm"} if url else None
    return ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka", "crm": crm})


# ---- signing ---------------------------------------------------------------------------------
def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # Expected value from `printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac s3cret-for-tests`
    header = signature_header(SECRET, 1700000000, b'{"id":"evt_1"}')
    assert header == "t=1700000000,v1=c908e88b50fbf3185d9a2ff6d9b1ff52dec9687bbd50d678101f54105458d5b2"


def test_a_crm_accepts_a_fresh_signature_and_refuses_old_forged_or_altered_ones() -> None:
    body = b'{"id":"evt_1"}'
    header = signature_header(SECRET, int(NOW.timestamp()), body)
    assert verify_signature(header, body, SECRET, NOW + timedelta(minutes=4)) == int(NOW.timestamp())
    with pytest.raises(SignatureRefused, match="replay window"):
        verify_signature(header, body, SECRET, NOW + timedelta(minutes=6))
    with pytest.raises(SignatureRefused, match="does not match"):
        verify_signature(header, b'{"id":"evt_2"}', SECRET, NOW)
    with pytest.raises(SignatureRefused, match="does not match"):
        verify_signature(header, body, b"another secret", NOW)
    with pytest.raises(SignatureRefused, match="timestamp"):
        verify_signature("v1=abc", body, SECRET, NOW)


# ---- retry schedule --------------------------------------------------------------------------
def test_retries_back_off_exponentially_up_to_four_hours() -> None:
    minutes = [retry_delay(attempt) / timedelta(minutes=1) for attempt in range(1, 11)]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 240, 240]


def test_any_count_of_attempts_waits_the_longest_retry() -> None:
    # a replayed or long-parked event may carry any count; 2**41 minutes overflows a timedelta
    assert [retry_delay(attempt) / timedelta(minutes=1) for attempt in (42, 1000, 10**6)] == [240, 240, 240]


def test_an_event_failing_for_a_day_is_parked_after_its_last_try_within_the_day() -> None:
    tries, at = [NOW], next_attempt_at(1, NOW, NOW)
    while at is not None:
        tries.append(at)
        at = next_attempt_at(len(tries), NOW, at)
    assert tries[-1] <= NOW + timedelta(days=1)
    assert tries[-1] + retry_delay(len(tries)) > NOW + timedelta(days=1)
    assert len(tries) == 13  # 9 tries in the first ~8.5 h, then every 4 h


# ---- URLs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "local", "problem"),
    [
        ("https://crm.kvitka.example/hook", False, None),
        ("https://93.184.215.14:8443/hook?shop=1", False, None),
        ("http://crm.kvitka.example/hook", False, "must be https"),
        ("ftp://crm.kvitka.example/hook", False, "https://"),
        ("https://127.0.0.1/hook", False, "loopback"),
        ("https://localhost/hook", False, "loopback"),
        ("https://[::1]/hook", False, "loopback"),
        ("https://10.1.2.3/hook", False, "private"),
        ("https://192.168.0.10/hook", False, "private"),
        ("https://100.64.0.1/hook", False, "private"),
        ("https://169.254.169.254/latest/meta-data", False, "link-local"),
        ("https://[fe80::1]/hook", False, "link-local"),
        ("https://[::ffff:10.0.0.1]/hook", False, "private"),
        # IPv6 forms that lead to an IPv4 host are judged by that host (issue 18)
        ("https://[::127.0.0.1]/hook", False, "loopback"),  # IPv4-compatible
        ("https://[64:ff9b::a9fe:a9fe]/hook", False, "link-local"),  # NAT64 of 169.254.169.254
        ("https://[2002:a9fe:a9fe::1]/hook", False, "link-local"),  # 6to4 of 169.254.169.254
        ("https://[64:ff9b::a00:1]/hook", False, "private"),  # NAT64 of 10.0.0.1
        ("https://[2002:c0a8:1::1]/hook", False, "private"),  # 6to4 of 192.168.0.1
        ("https://[64:ff9b:1::5db8:d70e]/hook", False, "private"),  # a local-use NAT64 translator
        ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", False, "private"),  # Teredo
        ("https://[64:ff9b::5db8:d70e]/hook", False, None),  # NAT64 of a public host
        ("https://[2002:5db8:d70e::1]/hook", False, None),  # 6to4 of a public host
        ("https://[2a00:1450:4001:80b::200e]/hook", False, None),
        ("https://[64:ff9b::a9fe:a9fe]/hook", True, "link-local"),
        ("https://[2002:a9fe:a9fe::1]/hook", True, "link-local"),
        ("https://user:pw@crm.kvitka.example/hook", False, "credentials"),
        ("https:///hook", False, "https://"),
        ("http://127.0.0.1:8765/crm", True, None),
        ("http://localhost:8765/crm", True, None),
        ("http://crm.kvitka.example/hook", True, "must be https"),
        ("http://10.0.0.5/hook", True, "private"),
        ("https://169.254.169.254/", True, "link-local"),
    ],
)
def test_crm_urls_are_https_and_public_in_the_cloud_and_may_be_loopback_http_locally(
    url: str, local: bool, problem: str | None
) -> None:
    found = crm_url_problem(url, local=local)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_a_shop_with_a_crm_names_its_secret_and_a_bad_url_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"crm\.url"):
        ShopSettings.model_validate({"shop_id": "demo", "name": "K", "crm": {"url": "ftp://x", "secret_name": "k"}})
    with pytest.raises(ValidationError, match=r"crm\.secret_name"):
        ShopSettings.model_validate({"shop_id": "demo", "name": "K", "crm": {"url": CRM_URL, "secret_name": "A B"}})


# ---- event ids -------------------------------------------------------------------------------
def saved(outcome: str, comment: str = "", seconds: int = 0) -> SavedOutcome:
    return SavedOutcome(
        call_sid="CA1",
        shop_id="demo",
        phone="+380671234567",
        agent_id="anna",
        outcome=outcome,
        saved_at=NOW + timedelta(seconds=seconds),
        comment=comment,
        order_ids=["o1"],
    )


def queued_ids(saves: list[SavedOutcome], outbox: FakeCrmOutbox) -> list[str | None]:
    keyed = [(f"{index:04d}", save) for index, save in enumerate(saves)]
    return [
        crm_push.queue_outcome_event(shop(), keyed[: index + 1], key, [], outbox=outbox, now=NOW)
        for index, (key, _) in enumerate(keyed)
    ]


def test_an_outcome_saved_twice_is_one_event_and_a_correction_another() -> None:
    outbox = FakeCrmOutbox()
    first, again, corrected, back = queued_ids(
        [
            saved("confirmed", "ok"),
            saved("confirmed", "ok", 5),
            saved("cancelled", "no", 9),
            saved("confirmed", "ok", 12),
        ],
        outbox,
    )
    assert first == again
    assert len({first, corrected, back}) == 3  # confirmed again after a cancel is news for the CRM
    assert len(outbox.events) == 3
    bodies = {event_id: json.loads(outbox.events[event_id].body) for event_id in outbox.events}
    assert bodies[corrected]["data"]["corrects"] == first  # type: ignore[index]
    assert bodies[first]["data"]["corrects"] is None  # type: ignore[index]
    assert bodies[first]["data"]["saved_at"] == NOW.isoformat()  # type: ignore[index]


def test_a_redelivered_save_gives_the_same_event_and_stores_nothing_new() -> None:
    outbox = FakeCrmOutbox()
    saves = [("0001", saved("needs_manager", "discount"))]
    ids = {
        crm_push.queue_outcome_event(shop(), saves, "0001", [], outbox=outbox, now=NOW + timedelta(minutes=m))
        for m in (0, 3)
    }
    assert len(ids) == 1 and len(outbox.events) == 1


def test_the_outcome_event_carries_who_handled_the_call_or_the_saving_agent() -> None:
    outbox = FakeCrmOutbox()
    saves = [("0001", saved("confirmed"))]
    transferred = crm_push.queue_outcome_event(
        shop(), saves, "0001", [], outbox=outbox, now=NOW, handled_by=["oleh", "anna"]
    )
    other = FakeCrmOutbox()
    alone = crm_push.queue_outcome_event(shop(), saves, "0001", [], outbox=other, now=NOW)
    assert transferred is not None and alone is not None
    assert json.loads(outbox.events[transferred].body)["data"]["handled_by"] == ["oleh", "anna"]
    assert json.loads(other.events[alone].body)["data"]["handled_by"] == ["anna"]


def order(status: str, decided_at: datetime | None = NOW) -> Order:
    return Order(
        shop_id="demo",
        order_id="o1",
        phone="+380671234567",
        phone_valid=True,
        total=Decimal("10"),
        currency="UAH",
        received_at=NOW,
        day="2015-11-23",
        order_number="A-1",
        status=status,
        route="robot",
        reached=True,
        decided_at=decided_at,
    )


def test_order_decisions_are_events_with_ids_from_the_change_and_its_time() -> None:
    outbox = FakeCrmOutbox()
    confirmed = crm_push.queue_order_event(shop(), "queued", order("confirmed"), outbox=outbox, now=NOW)
    redelivered = crm_push.queue_order_event(shop(), "queued", order("confirmed"), outbox=outbox, now=NOW)
    later = order("confirmed", NOW + timedelta(minutes=1))
    again = crm_push.queue_order_event(shop(), "cancelled", later, outbox=outbox, now=NOW)
    assert confirmed == redelivered == order_event_id("demo", "o1", "queued", "confirmed", NOW)
    assert again not in (None, confirmed)
    assert crm_push.queue_order_event(shop(), "received", order("queued"), outbox=outbox, now=NOW) is None
    assert crm_push.queue_order_event(shop(url=None), "queued", order("cancelled"), outbox=outbox, now=NOW) is None
    body = json.loads(outbox.events[str(confirmed)].body)
    assert body["type"] == "order.status_changed"
    wanted = {"order_number": "A-1", "status": "confirmed", "previous_status": "queued", "route": "robot"}
    assert {key: body["data"][key] for key in wanted} == wanted


def test_an_open_order_the_customer_gave_to_an_agent_is_one_route_event() -> None:
    outbox = FakeCrmOutbox()
    routed = order("queued")
    routed.route, routed.route_reason = "agent", "the customer asked for an agent"
    first = crm_push.queue_route_event(shop(), "robot", routed, outbox=outbox, now=NOW)
    redelivered = crm_push.queue_route_event(shop(), "robot", routed, outbox=outbox, now=NOW + timedelta(seconds=5))
    assert first is not None and first == redelivered and list(outbox.events) == [first]
    body = json.loads(outbox.events[first].body)
    assert body["type"] == "order.route_changed"
    wanted = {"status": "queued", "route": "agent", "previous_route": "robot", "route_reason": routed.route_reason}
    assert {key: body["data"][key] for key in wanted} == wanted
    # the first route (set when the order is queued), an unchanged route, a shop without a CRM
    assert crm_push.queue_route_event(shop(), None, routed, outbox=outbox, now=NOW) is None
    assert crm_push.queue_route_event(shop(), "agent", routed, outbox=outbox, now=NOW) is None
    assert crm_push.queue_route_event(shop(url=None), "robot", routed, outbox=outbox, now=NOW) is None


# ---- delivery --------------------------------------------------------------------------------
def queued_event(outbox: FakeCrmOutbox) -> str:
    event_id = crm_push.queue_order_event(shop(), "queued", order("confirmed"), outbox=outbox, now=NOW)
    assert event_id is not None
    return event_id


def deliver(outbox: FakeCrmOutbox, crm: ScriptedCrm, event_id: str, at: datetime, **kwargs: object) -> str:
    line = crm_push.CrmLine(
        outbox, crm, lambda name: SECRET if name == "kvitka-crm" else b"", signed_at=lambda: SIGNED_AT, local=False
    )
    return crm_push.deliver(kwargs.pop("to", shop()), event_id, line=line, now=at, **kwargs)  # type: ignore[arg-type]


def test_a_delivery_is_signed_at_the_real_instant_and_names_its_event() -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(204)
    event_id = queued_event(outbox)
    assert deliver(outbox, crm, event_id, NOW) == "delivered"
    [(url, body, headers)] = crm.requests
    assert url == CRM_URL and headers[EVENT_ID_HEADER] == event_id
    # The CRM checks the signature's time against its own clock, not the business clock.
    assert verify_signature(headers[SIGNATURE_HEADER], body, SECRET, SIGNED_AT) == int(SIGNED_AT.timestamp())
    with pytest.raises(SignatureRefused, match="replay window"):
        verify_signature(headers[SIGNATURE_HEADER], body, SECRET, NOW)
    assert json.loads(body)["id"] == event_id
    assert outbox.events[event_id].state == "delivered"
    assert deliver(outbox, crm, event_id, NOW) == "skipped" and len(crm.requests) == 1


@pytest.mark.parametrize(
    "failure", [503, 500, 429, 408, CrmUnreachable("ConnectTimeoutError"), CrmUnreachable("SSLError")]
)
def test_failures_are_retried_with_backoff_then_parked_and_replayed(failure: int | Exception) -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(failure)
    event_id = queued_event(outbox)
    at = NOW
    results = []
    while (result := deliver(outbox, crm, event_id, at)) == "retry":
        results.append(result)
        event = outbox.events[event_id]
        assert event.next_attempt_at is not None
        assert deliver(outbox, crm, event_id, event.next_attempt_at - timedelta(seconds=1)) == "skipped"
        at = event.next_attempt_at
    assert result == "parked" and len(results) == 12
    parked = outbox.events[event_id]
    assert parked.state == "parked" and parked.attempts == 13 and "gave up after 13 tries" in str(parked.last_error)
    assert crm_push.parked_events([shop()], outbox=outbox) == [parked]
    # WHEN an operator replays it and the CRM is back
    later = at + timedelta(days=2)
    assert crm_push.replay([event_id, "evt_unknown"], outbox=outbox, now=later) == {
        event_id: True,
        "evt_unknown": False,
    }
    crm.answers = [200]
    assert deliver(outbox, crm, event_id, later) == "delivered"
    assert len({body for _, body, _ in crm.requests}) == 1  # the same body on every try


@pytest.mark.parametrize("status", [400, 401, 404, 301])
def test_a_crm_that_refuses_an_event_parks_it_at_once(status: int) -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(status)
    event_id = queued_event(outbox)
    assert deliver(outbox, crm, event_id, NOW) == "parked"
    assert outbox.events[event_id].last_error == f"refused by the CRM: HTTP {status}"


def test_a_url_not_allowed_or_resolving_to_a_private_address_is_parked_without_a_request() -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(200)
    event_id = queued_event(outbox)
    assert deliver(outbox, crm, event_id, NOW, to=shop("http://127.0.0.1:8765/crm")) == "parked"
    assert crm.requests == []
    other = crm_push.queue_order_event(shop(), "queued", order("cancelled"), outbox=outbox, now=NOW)
    refusing = ScriptedCrm(CrmAddressRefused("crm.kvitka.example resolves to 10.0.0.7"))
    assert deliver(outbox, refusing, str(other), NOW) == "parked"
    assert "10.0.0.7" in str(outbox.events[str(other)].last_error)


def test_a_missing_secret_is_retried_not_sent_unsigned() -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(200)
    event_id = queued_event(outbox)

    def no_secret(name: str) -> bytes:
        raise LookupError(f"no secret {name}")

    line = crm_push.CrmLine(outbox, crm, no_secret, signed_at=lambda: NOW, local=False)
    result = crm_push.deliver(shop(), event_id, line=line, now=NOW)
    assert result == "retry" and crm.requests == []


def test_a_claimed_event_is_not_sent_twice_and_a_failed_crm_is_not_hammered_in_one_run() -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(CrmUnreachable("ConnectionRefused"))
    first = queued_event(outbox)
    second = crm_push.queue_order_event(shop(), "queued", order("cancelled"), outbox=outbox, now=NOW)
    line = crm_push.CrmLine(outbox, crm, lambda _: SECRET, signed_at=lambda: NOW, local=False)
    counts = crm_push.sweep_due([shop()], line=line, now=NOW)
    assert counts == {"retry": 1} and len(crm.requests) == 1  # the second waits for the next sweep
    assert outbox.events[str(second)].attempts == 0
    # a try in flight (claimed) is not taken by another run until its lease ends
    assert outbox.claim(str(second), 0, NOW + crm_push.LEASE)
    assert deliver(outbox, ScriptedCrm(200), str(second), NOW + timedelta(seconds=30)) == "skipped"
    assert outbox.events[first].state == "pending"


def test_without_a_crm_an_event_already_queued_is_parked() -> None:
    outbox = FakeCrmOutbox()
    event_id = queued_event(outbox)
    assert deliver(outbox, ScriptedCrm(200), event_id, NOW, to=shop(url=None)) == "parked"


def test_outbox_events_keep_their_exact_body() -> None:
    outbox = FakeCrmOutbox()
    event_id = queued_event(outbox)
    event = outbox.events[event_id]
    assert isinstance(event, OutboxEvent) and event.body == json.dumps(
        json.loads(event.body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_a_run_short_of_time_leaves_due_events_for_the_next_sweep() -> None:
    outbox, crm = FakeCrmOutbox(), ScriptedCrm(200)
    event_id = queued_event(outbox)
    left = iter([60.0, 10.0])
    counts = crm_push.sweep_due(
        [shop()],
        line=crm_push.CrmLine(outbox, crm, lambda _: SECRET, signed_at=lambda: NOW, local=False),
        now=NOW,
        seconds_left=lambda: next(left),
    )
    assert counts == {} and crm.requests == []
    assert outbox.events[event_id].state == "pending" and outbox.events[event_id].attempts == 0
