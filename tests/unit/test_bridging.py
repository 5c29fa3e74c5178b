"""services.bridging with fakes: a freed agent takes the longest-waiting caller out of the
queue through the REST API, a caller is claimed once, a failed redirect gives everything back,
and the hold round and the queue's action leave a caller being bridged alone (issue 17)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from chalicelib.domain.routing import Agent
from chalicelib.services import bridging, inbound
from chalicelib.services.conference_calls import AgentLegUrls
from chalicelib.services.inbound_queue import Heard, JoinConference, Queued, queue_left
from chalicelib.voice.links import InboundLinks
from tests.fakes.twilio import FakeTelephony
from tests.unit.test_predictive_blending import NOON, FakeBlendingStore, agent, queued_caller, shop_with

LINKS = InboundLinks("https://calls.example.test")


def leg_urls(agent_id: str) -> AgentLegUrls:
    return AgentLegUrls(
        f"https://calls.example.test/answer/{agent_id}", f"https://calls.example.test/status/{agent_id}"
    )


class FailingRedirects(FakeTelephony):
    def redirect_call(self, call_sid: str, url: str) -> None:
        raise ConnectionError("21220: call is not in-progress")


class FakeBridgingStore(FakeBlendingStore):
    """The blending fake plus an agent's own status changes."""

    def set_agent_status(
        self,
        shop_id: str,
        agent_id: str,
        status: str,
        now: datetime,
        *,
        source: str,
        timezone: str,
        only_from: set[str] | None = None,
    ) -> Agent | None:
        held = self.agent_list.get((shop_id, agent_id))
        if held is None or (only_from is not None and held.status not in only_from):
            return None
        held.status, held.status_since, held.reserved_call_sid = status, now, None
        return dataclasses.replace(held)


def _shop_and_store() -> tuple[FakeBridgingStore, inbound.CallContext]:
    shop = shop_with("progressive")
    store = FakeBridgingStore([shop])
    store.add_agent(agent("anna", status="offline"))
    caller = queued_caller(store, shop, "CAcaller1", NOON - timedelta(minutes=2))
    return store, caller


def test_a_freed_agent_takes_the_waiting_caller_out_of_the_queue_by_rest() -> None:
    # GIVEN a caller waiting and Anna becoming available
    store, caller = _shop_and_store()
    telephony = FakeTelephony()

    # WHEN she sets available
    bridging.set_status(caller.shop, "anna", "available", store=store, calls=telephony, links=LINKS, now=NOON)

    # THEN the caller is reserved for her and redirected to /bridge in their language
    assert telephony.redirects == [("CAcaller1", LINKS.bridge("uk"))]
    call = store.get_call("CAcaller1")
    assert call is not None and (call.result, call.agent_id) == (inbound.BRIDGING, "anna")
    assert store.get_agent("demo", "anna").reserved_call_sid == "CAcaller1"  # type: ignore[union-attr]
    assert store.queue_entries("demo", "main") == []

    # AND a hold round meanwhile plays music only; the queue's "redirected" action releases nothing
    held = inbound.hold_round(inbound.context("CAcaller1", store=store), 120, store=store, now=NOON)  # type: ignore[arg-type]
    assert not held.leave and held.position is None
    ctx = inbound.context("CAcaller1", store=store)
    assert ctx is not None
    assert inbound.left_queue(ctx, "redirected", 120, store=store, now=NOON) == "gone"
    assert store.get_agent("demo", "anna").reserved_call_sid == "CAcaller1"  # type: ignore[union-attr]

    # AND the redirected caller waits in the call's conference while the app rings Anna's own leg
    legs = FakeTelephony()
    step = bridging.connect(Heard("CAcaller1", "uk"), store=store, telephony=legs, leg_urls=leg_urls, now=NOON)
    assert isinstance(step, JoinConference) and (step.call_sid, step.agent_id) == ("CAcaller1", "anna")
    [placed] = legs.placed
    assert placed["answer_url"] == leg_urls("anna").answer_url and placed["status_url"] == leg_urls("anna").status_url
    call = store.get_call("CAcaller1")
    assert call is not None and call.result == "connecting" and call.agent_call_sid


def test_a_caller_claimed_by_another_agent_meanwhile_hands_the_agent_back() -> None:
    # GIVEN the caller given to Oleh a moment ago (the hold round's reservation)
    store, caller = _shop_and_store()
    store.add_agent(agent("oleh"))
    store.update_call("CAcaller1", agent_id="oleh", result="connecting")
    store.set_agent_status("demo", "anna", "available", NOON, source="api", timezone="Europe/Kyiv")

    # WHEN Anna's reservation for the same caller comes second
    taken = inbound._take_agent(caller, store.list_agents("demo"), store=store, now=NOON, result=inbound.BRIDGING)

    # THEN she is free again and the caller stays Oleh's
    assert not taken
    anna = store.get_agent("demo", "anna")
    assert anna is not None and (anna.status, anna.reserved_call_sid) == ("available", None)
    assert store.get_call("CAcaller1").agent_id == "oleh"  # type: ignore[union-attr]


def test_a_failed_redirect_frees_the_agent_and_puts_the_caller_back_in_place() -> None:
    store, caller = _shop_and_store()

    bridging.set_status(caller.shop, "anna", "available", store=store, calls=FailingRedirects(), links=LINKS, now=NOON)

    anna = store.get_agent("demo", "anna")
    assert anna is not None and (anna.status, anna.reserved_call_sid) == ("available", None)
    assert store.get_call("CAcaller1").result == "queued"  # type: ignore[union-attr]
    [entry] = store.queue_entries("demo", "main")
    assert (entry.ref, entry.queued_at) == ("CAcaller1", NOON - timedelta(minutes=2))


def test_a_redirect_that_never_came_is_made_good_by_a_later_hold_round() -> None:
    store, caller = _shop_and_store()
    bridging.set_status(caller.shop, "anna", "available", store=store, calls=FakeTelephony(), links=LINKS, now=NOON)

    later = NOON + timedelta(seconds=inbound.BRIDGING_OVERDUE_SECONDS + 1)
    held = inbound.hold_round(inbound.context("CAcaller1", store=store), 200, store=store, now=later)  # type: ignore[arg-type]

    assert held.leave
    assert store.get_call("CAcaller1").result == "connecting"  # type: ignore[union-attr]


def test_a_redirect_coming_after_the_hold_round_took_the_caller_out_rings_the_agent_once() -> None:
    # GIVEN the caller being bridged to Anna, the redirect slow, and a hold round that found it
    # overdue and took the caller out by the queue's exit, which rang Anna's leg
    store, caller = _shop_and_store()
    bridging.set_status(caller.shop, "anna", "available", store=store, calls=FakeTelephony(), links=LINKS, now=NOON)
    later = NOON + timedelta(seconds=inbound.BRIDGING_OVERDUE_SECONDS + 1)
    assert inbound.hold_round(inbound.context("CAcaller1", store=store), 200, store=store, now=later).leave  # type: ignore[arg-type]
    legs = FakeTelephony()
    left = queue_left(
        Heard("CAcaller1", "uk"), {"QueueResult": "leave", "QueueTime": "200"},
        store=store, now=later, telephony=legs, leg_urls=leg_urls,
    )  # fmt: skip
    assert isinstance(left, JoinConference)

    # WHEN the redirect comes after all (/bridge)
    step = bridging.connect(Heard("CAcaller1", "uk"), store=store, telephony=legs, leg_urls=leg_urls, now=later)

    # THEN the caller joins the room and Anna's phone rings once: the call keeps that one leg
    assert isinstance(step, JoinConference) and (step.call_sid, step.agent_id) == ("CAcaller1", "anna")
    assert len(legs.placed) == 1
    assert store.get_call("CAcaller1").agent_call_sid == "CA" + f"{1:032x}"  # type: ignore[union-attr]


def test_an_agent_with_nobody_waiting_or_a_callback_first_redirects_nobody() -> None:
    store, caller = _shop_and_store()
    telephony = FakeTelephony()
    store.remove_queue_entry("demo", "main", caller.call.queued_at, "CAcaller1")  # type: ignore[arg-type]

    bridging.set_status(caller.shop, "anna", "available", store=store, calls=telephony, links=LINKS, now=NOON)

    assert telephony.redirects == []
    assert store.get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]


def test_the_bridge_step_requeues_a_caller_whose_agent_is_gone() -> None:
    store, caller = _shop_and_store()
    bridging.set_status(caller.shop, "anna", "available", store=store, calls=FakeTelephony(), links=LINKS, now=NOON)
    store.release_agent("demo", "anna", "CAcaller1", "away", NOON, timezone="Europe/Kyiv")

    legs = FakeTelephony()
    step = bridging.connect(Heard("CAcaller1", "uk"), store=store, telephony=legs, leg_urls=leg_urls, now=NOON)

    assert isinstance(step, Queued) and legs.placed == []
    assert store.get_call("CAcaller1").result == "queued"  # type: ignore[union-attr]
    assert [e.ref for e in store.queue_entries("demo", "main")] == ["CAcaller1"]


def test_the_minute_sweep_bridges_a_caller_for_an_agent_whose_wrap_up_ran_out() -> None:
    # GIVEN Anna in a wrap-up that ended a second ago, and a caller waiting
    store, caller = _shop_and_store()
    wrap_up = caller.shop.inbound.wrap_up_seconds
    store.set_agent_status(
        "demo", "anna", "wrap-up", NOON - timedelta(seconds=wrap_up + 1), source="system", timezone=""
    )
    telephony = FakeTelephony()

    # WHEN the minute schedule sweeps the shop
    bridged = bridging.sweep(caller.shop, store=store, calls=telephony, links=LINKS, now=NOON)

    # THEN the caller is redirected to her; a second sweep finds nobody else to bridge
    assert bridged == ["CAcaller1"] and telephony.redirects == [("CAcaller1", LINKS.bridge("uk"))]
    assert bridging.sweep(caller.shop, store=store, calls=telephony, links=LINKS, now=NOON) == []


def test_an_agent_leg_twilio_refuses_at_the_bridge_puts_the_caller_back_in_place() -> None:
    # GIVEN the caller redirected to /bridge for Anna
    store, caller = _shop_and_store()
    bridging.set_status(caller.shop, "anna", "available", store=store, calls=FakeTelephony(), links=LINKS, now=NOON)

    # WHEN Twilio refuses the agent's leg
    step = bridging.connect(
        Heard("CAcaller1", "uk"), store=store, telephony=FakeTelephony(fail=True), leg_urls=leg_urls, now=NOON
    )

    # THEN the caller is queued again at the original place and Anna is free, reserved for nobody
    assert isinstance(step, Queued)
    assert store.get_call("CAcaller1").result == "queued"  # type: ignore[union-attr]
    [entry] = store.queue_entries("demo", "main")
    assert (entry.ref, entry.queued_at) == ("CAcaller1", NOON - timedelta(minutes=2))
    anna = store.get_agent("demo", "anna")
    assert anna is not None and (anna.status, anna.reserved_call_sid) == ("available", None)


def _after_a_talk(*, phone_only: bool) -> tuple[FakeBridgingStore, FakeTelephony]:
    """Anna just ended a talk with CAfirst (no wrap-up in the shop) while CAcaller1 waits."""
    store, caller = _shop_and_store()
    shop = caller.shop.model_copy(update={"inbound": caller.shop.inbound.model_copy(update={"wrap_up_seconds": 0})})
    store.save_shop(shop, NOON)
    held = store.agent_list[("demo", "anna")]
    if phone_only:
        held.client_identity, held.phone = None, "+380501112233"
    store.upsert_call(
        dataclasses.replace(caller.call, call_sid="CAfirst", agent_id="anna", result="agent", queued_at=None)
    )
    store.set_agent_status("demo", "anna", "wrap-up", NOON, source="system", timezone="")
    return store, FakeTelephony()


def test_a_browser_agent_meets_the_next_caller_when_the_caller_leaves_the_conference() -> None:
    store, telephony = _after_a_talk(phone_only=False)

    bridged = bridging.after_conference(
        "CAfirst", "anna", agent_leg_over=False, store=store, calls=telephony, links=LINKS, now=NOON
    )

    assert bridged == "CAcaller1" and telephony.redirects == [("CAcaller1", LINKS.bridge("uk"))]


def test_a_phone_only_agent_keying_the_outcome_is_rung_only_when_their_leg_ends() -> None:
    store, telephony = _after_a_talk(phone_only=True)

    # WHEN the caller's side of the conference ends (Anna is on the outcome menu on her own leg)
    early = bridging.after_conference(
        "CAfirst", "anna", agent_leg_over=False, store=store, calls=telephony, links=LINKS, now=NOON
    )
    # THEN nobody is redirected to her until her leg ends
    assert early is None and telephony.redirects == []
    later = bridging.after_conference(
        "CAfirst", "anna", agent_leg_over=True, store=store, calls=telephony, links=LINKS, now=NOON
    )
    assert later == "CAcaller1" and telephony.redirects == [("CAcaller1", LINKS.bridge("uk"))]
