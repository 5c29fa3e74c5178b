"""No waiting for the music to end (issue 17): the shop's hold music lasts three minutes of the
stack's clock (the stand-in cannot read the mp3), so a caller meets an agent who frees up in the
middle of it only because the app takes them out of the queue through Twilio's REST API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, CallerScript, Press, Transcript
from tests.e2e.conftest import ShopApi, fresh_inbound_day

SHOP = "+380441234567"
ANNA = "+380501112233"
OLEH = "client:oleh"
BRIDGED_WITHIN_SECONDS = 30.0  # a guard against hanging, far below the music's 180 s


@pytest.fixture(autouse=True)
def agents_offline(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    """Both agents offline, nobody queued, no callback waiting, wrap-up of 0 s."""
    fresh_inbound_day(clock)
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=20))
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=20))
    yield


def _set_wrap_up(clock: SimClock, seconds: int) -> None:
    store = dynamo_store()
    shop = store.get_shop("demo")
    assert shop is not None
    inbound = shop.inbound.model_copy(update={"wrap_up_seconds": seconds})
    store.save_shop(shop.model_copy(update={"inbound": inbound}), clock.now())


def _set_status(shop_api: ShopApi, agent_id: str, status: str) -> None:
    response = shop_api.session.put(
        f"{shop_api.base_url}/v1/agents/{agent_id}/status", json={"status": status}, timeout=15
    )
    assert response.status_code == 200, response.text


def _until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class Caller:
    """A caller who picks English and waits in the queue, from another thread."""

    def __init__(self, stack: LocalStack, phone: str) -> None:
        self.stack, self.phone = stack, phone
        self.transcript: Transcript | None = None
        self.thread = threading.Thread(target=self._call, daemon=True)
        self.thread.start()
        _until(self.hears_music)

    def _call(self) -> None:
        self.transcript = self.stack.standin.place_inbound_call(self.phone, SHOP, CallerScript([Press("3")]))

    def leg_heard(self) -> list[str]:
        legs = [leg for leg in self.stack.standin.calls if leg.from_ == self.phone and leg.direction == "inbound"]
        return legs[-1].transcript.heard() if legs else []

    def hears_music(self) -> bool:
        return any(text.startswith("[play http://com.twilio.sounds.music") for text in self.leg_heard())

    def done(self, timeout: float = BRIDGED_WITHIN_SECONDS) -> Transcript:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the caller was not put through before the music ended"
        assert self.transcript is not None
        return self.transcript


def _wait_rounds(transcript: Transcript) -> int:
    return sum(1 for e in transcript.events if e.kind == "webhook" and e.data.get("purpose") == "wait")


def _queue_results(transcript: Transcript) -> list[str]:
    return [
        e.data["params"]["QueueResult"]
        for e in transcript.events
        if e.kind == "webhook" and e.data.get("purpose") == "enqueue-action"
    ]


def _offers(stack: LocalStack, address: str, caller_sid: str) -> list[str]:
    """The app's own legs to the agent for this caller (the conference path: placed by REST,
    their webhooks carry the caller's call), as the queue's exit places them."""
    return [
        leg.sid
        for leg in stack.standin.calls
        if leg.to == address
        and leg.direction == "outbound-api"
        and any(caller_sid in w.data["url"] for w in leg.transcript.webhooks())
    ]


def _met_in_conference(stack: LocalStack, address: str, caller_sid: str) -> bool:
    """The agent's leg joined the conference named for the caller's call."""
    return any(
        e.data.get("event") == "join" and e.data.get("conference") == caller_sid
        for leg in stack.standin.calls
        if leg.sid in _offers(stack, address, caller_sid)
        for e in leg.transcript.of_kind("conference")
    )


def test_an_agent_who_sets_available_meets_the_waiting_caller_in_the_middle_of_the_music(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN a caller on hold, the three-minute music begun
    caller = Caller(stack, "+380671239001")

    # WHEN Oleh sets available (the clock does not reach the music's end meanwhile)
    _set_status(shop_api, "oleh", "available")
    transcript = caller.done()

    # THEN the caller left the queue by the API after one round of music and talked with Oleh
    assert transcript.application_errors == []
    assert _wait_rounds(transcript) == 1
    assert _queue_results(transcript) == ["redirected"]
    assert len(_offers(stack, OLEH, transcript.call_sid)) == 1
    assert _met_in_conference(stack, OLEH, transcript.call_sid)  # as a caller leaving the queue meets the agent
    assert "Please hold, we are connecting you to an agent." in transcript.heard()
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    assert (record.agent_id, record.result) == ("oleh", "agent")
    assert not record.callback_task_id
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]


def test_the_end_of_a_wrap_up_puts_the_next_caller_through_before_the_music_ends(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN Oleh in a 60 s wrap-up after a call, and a caller on hold
    _set_wrap_up(clock, 60)
    _set_status(shop_api, "oleh", "available")
    first = stack.standin.place_inbound_call("+380671239011", SHOP, CallerScript([Press("3")]))
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]
    caller = Caller(stack, "+380671239012")

    # WHEN the wrap-up runs its time (61 s of the clock: the minute schedule runs)
    clock.advance(timedelta(seconds=61))
    transcript = caller.done()

    # THEN the second caller met Oleh within the first round of music
    assert _wait_rounds(transcript) == 1
    assert _queue_results(transcript) == ["redirected"]
    assert len(_offers(stack, OLEH, first.call_sid)) == len(_offers(stack, OLEH, transcript.call_sid)) == 1
    assert stack.wait_quiet(timeout=30)
    assert CallItem.get(transcript.call_sid).agent_id == "oleh"


def test_two_agents_freed_at_once_take_one_caller_once(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN one caller on hold
    caller = Caller(stack, "+380671239021")

    # WHEN Anna and Oleh set available at the same moment
    setters = [threading.Thread(target=_set_status, args=(shop_api, a, "available")) for a in ("anna", "oleh")]
    for setter in setters:
        setter.start()
    for setter in setters:
        setter.join(15)
    transcript = caller.done()

    # THEN exactly one agent was rung, once, and the other is still free and reserved for nobody
    offers = _offers(stack, OLEH, transcript.call_sid) + _offers(stack, ANNA, transcript.call_sid)
    assert len(offers) == 1
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    other = "anna" if record.agent_id == "oleh" else "oleh"
    other_agent = dynamo_store().get_agent("demo", other)
    assert other_agent is not None
    assert (other_agent.status, other_agent.reserved_call_sid) == ("available", None)


def test_a_callback_that_came_first_keeps_its_place(stack: LocalStack, shop_api: ShopApi, clock: SimClock) -> None:
    # GIVEN a caller who asked for a callback earlier, and then a caller on hold
    asked = stack.standin.place_inbound_call("+380671239031", SHOP, CallerScript([Press("3"), Press("1")]))
    assert CallItem.get(asked.call_sid).callback_task_id
    caller = Caller(stack, "+380671239032")

    # WHEN Oleh sets available
    _set_status(shop_api, "oleh", "available")

    # THEN the waiting caller is not taken past the callback: still on the first round of music
    time.sleep(1.0)
    assert caller.thread.is_alive()
    waiting = CallItem.get(_caller_sid(stack, caller.phone))
    assert (waiting.result, waiting.agent_id) == ("queued", None)
    stack.standin.engine.leg(_caller_sid(stack, caller.phone)).request_hangup("completed")  # type: ignore[union-attr]
    caller.done()


def _caller_sid(stack: LocalStack, phone: str) -> str:
    return next(leg.sid for leg in stack.standin.calls if leg.from_ == phone and leg.direction == "inbound")
