"""The demo day's callers and agents (issue 3): agents come online in the morning and log off in
the afternoon; callers before that choose Ukrainian or Russian, reach an agent after the
whisper and rate the call; one of them is transferred warm to the other agent through the desk
API, as the agent's page does (#17); later callers find nobody free and ask for a callback or
hang up in the queue (and get one anyway). Played on a thread beside the orders, on the same
clock.

Oleh is the demo's browser agent: a Twilio Client (``client:oleh``). His page would register
the Voice SDK with the token of ``GET /v1/agent/voice-token`` (the demo asks for it as the page
does); the stand-in's scripted device answers his calls in the page's place."""

from __future__ import annotations

import logging
import random
import threading
import time as wall_time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import requests

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, CallerScript, HangUp, Press, Silence

SHOP_NUMBER = "+380441234567"
AGENTS = {"anna": "+380501112233", "oleh": "client:oleh"}
BROWSER_AGENT = "oleh"  # takes calls in the browser (a Twilio Client); the stand-in's device answers
CallerKind = Literal["agent-uk", "agent-ru", "agent-transfer", "callback", "abandon"]
TALK = AgentBehaviour(answers=True, accept_digits="1", talk_seconds=90)
STAYS = AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None)  # until the call's end
WAIT_REAL_SECONDS = 30.0
T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedCall:
    at: datetime
    caller: str
    kind: CallerKind

    def script(self) -> CallerScript:
        if self.kind in ("agent-uk", "agent-transfer"):
            return CallerScript([Press("1"), Press("1")])  # Ukrainian; survey: solved first time
        if self.kind == "agent-ru":
            return CallerScript([Press("2"), Press("2")])  # Russian; survey: called several times
        if self.kind == "callback":
            return CallerScript([Press("1"), Silence(), Press("1")])  # waits one round, then 1: call me back
        return CallerScript([Press("2"), HangUp()])  # hangs up in the queue


@dataclass
class Transfer:
    """The demo's warm transfer, as it went."""

    caller: str
    call_sid: str = ""
    from_agent: str = ""
    to_agent: str = ""
    steps: list[str] = field(default_factory=list)  # the desk API's answers, in words
    handled_by: list[str] = field(default_factory=list)
    done: bool = False


@dataclass
class InboundLog:
    """What the inbound side of the day did, for the demo's output."""

    transfers: list[Transfer] = field(default_factory=list)
    browser_token: dict[str, Any] = field(default_factory=dict)  # the browser agent's voice token answer


@dataclass
class InboundPlan:
    zone: ZoneInfo
    day: date
    calls: list[PlannedCall]
    agents_online: time = time(10, 0)
    agents_offline: time = time(16, 0)

    def expected(self) -> dict[str, str]:
        return {
            "Inbound calls": str(len(self.calls)),
            "Answered by an agent": str(sum(1 for c in self.calls if c.kind.startswith("agent"))),
        }


def plan_inbound(
    day: date, zone: ZoneInfo, seed: int, with_agents: int = 10, without_agents: int = 4, transfers: int = 1
) -> InboundPlan:
    rng = random.Random(seed)

    def at(hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    calls = []
    for index in range(with_agents):  # 10:30-15:30, one every half hour: a free agent each time
        kind: CallerKind = "agent-uk" if index % 3 else "agent-ru"
        calls.append(PlannedCall(at(10, 30) + timedelta(minutes=30 * index), f"+38063{2_000_000 + index:07d}", kind))
    for index in range(transfers):  # after the last of those, both agents free: one takes it, hands it on
        moment = at(10, 30) + timedelta(minutes=30 * with_agents - 10 + index)
        calls.append(PlannedCall(moment, f"+38063{4_000_000 + index:07d}", "agent-transfer"))
    for index in range(without_agents):  # after the agents left
        later: CallerKind = "callback" if index % 2 == 0 else "abandon"
        minute = rng.randint(0, 20)
        calls.append(
            PlannedCall(at(16, 30) + timedelta(minutes=25 * index + minute), f"+38063{3_000_000 + index:07d}", later)
        )
    return InboundPlan(zone, day, calls)


def start_inbound_day(
    stack: LocalStack, clock: SimClock, plan: InboundPlan, tokens: dict[str, str], log_: InboundLog | None = None
) -> threading.Thread:
    """Runs the plan on a thread; join it before the day's end. ``tokens``: each agent's desk
    token (``issue_agent_tokens``), shared with the outbound side of the day; ``log_`` gets
    what the transfers and the browser agent did."""
    for address in AGENTS.values():
        stack.standin.register_agent(address, TALK)
    session = requests.Session()
    done = log_ if log_ is not None else InboundLog()

    def set_agents(status: str) -> None:
        for agent_id in AGENTS:  # each agent with their own token, as on the agent's desk
            response = session.put(
                f"{stack.api_url}/v1/agents/{agent_id}/status",
                json={"status": status},
                headers={"Authorization": f"Bearer {tokens[agent_id]}"},
                timeout=15,
            )
            if response.status_code != 200:
                log.warning("agent %s status %s refused: %s", agent_id, status, response.text)
        if status == "available":  # the browser agent's page registers its phone with a token
            token = session.get(
                f"{stack.api_url}/v1/agent/voice-token",
                headers={"Authorization": f"Bearer {tokens[BROWSER_AGENT]}"},
                timeout=15,
            )
            done.browser_token = token.json() if token.status_code == 200 else {"refused": token.text}

    events: list[tuple[datetime, str, PlannedCall | None]] = [
        (datetime.combine(plan.day, plan.agents_online, tzinfo=plan.zone), "available", None),
        (datetime.combine(plan.day, plan.agents_offline, tzinfo=plan.zone), "offline", None),
    ] + [(call.at, "call", call) for call in plan.calls]
    events.sort(key=lambda event: event[0])

    def run() -> None:
        for moment, what, call in events:
            wait = (moment - clock.now()).total_seconds()
            if wait > 0:
                clock.sleep(wait)
            if call is None:
                set_agents(what)
            elif call.kind == "agent-transfer":
                done.transfers.append(warm_transfer(stack, clock, call, tokens, session))
            else:
                transcript = stack.standin.place_inbound_call(call.caller, SHOP_NUMBER, call.script())
                if transcript.application_errors:
                    log.error("caller %s heard an application error", call.caller)

    thread = threading.Thread(target=run, name="demo-inbound", daemon=True)
    thread.start()
    return thread


def warm_transfer(
    stack: LocalStack, clock: SimClock, call: PlannedCall, tokens: dict[str, str], session: requests.Session
) -> Transfer:
    """A caller reaches an agent, who consults the other agent while the caller holds and hands
    the call over, through the desk API as the agent's page does (#17); the second agent hangs
    up after a minute's talk. Both agents stay on the line meanwhile (no scripted hang-up)."""
    transfer = Transfer(call.caller)
    for address in AGENTS.values():
        stack.standin.register_agent(address, STAYS)
    rooms = stack.standin.engine.conferences
    before = {room.sid for room in rooms.all()}
    caller = threading.Thread(
        target=lambda: stack.standin.place_inbound_call(call.caller, SHOP_NUMBER, call.script()),
        name="demo-transfer-caller",
        daemon=True,
    )
    caller.start()

    def desk(agent_id: str, path: str, body: dict[str, str] | None = None) -> requests.Response:
        return session.post(
            f"{stack.api_url}/v1/agent/call/{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {tokens[agent_id]}"},
            timeout=15,
        )

    def in_room() -> list[str]:
        live = [r for r in rooms.all() if r.friendly_name == transfer.call_sid and r.status == "in-progress"]
        return [p.call_sid for room in live for p in room.live()]

    def room_held() -> str:
        """What the call's conference held, for a stuck step's message (who was in, their legs)."""
        named = [r for r in rooms.all() if r.friendly_name == transfer.call_sid]
        return "; ".join(room_state(stack, room) for room in named) or "no room"

    try:
        fresh = _until(lambda: [r.friendly_name for r in rooms.all() if r.sid not in before and len(r.live()) == 2])
        transfer.call_sid = fresh[0]
        transfer.from_agent = _until(lambda: _agent_of(stack, session, tokens, transfer.call_sid))
        transfer.to_agent = next(agent_id for agent_id in AGENTS if agent_id != transfer.from_agent)
        started = desk(transfer.from_agent, "transfer", {"to_agent": transfer.to_agent, "mode": "warm"})
        transfer.steps.append(f"transfer {started.status_code} {started.json().get('state')}")
        _until(lambda: len(in_room()) == 3, room_held)  # the second agent joined; the caller holds
        transfer.steps.append("consulted")
        completed = desk(transfer.from_agent, "transfer/complete")
        transfer.steps.append(f"complete {completed.status_code} {completed.json().get('state')}")
        _until(lambda: len(in_room()) == 2, room_held)  # the first agent left: the caller and the second agent
        clock.sleep(60)
        for sid in [sid for sid in in_room() if sid != transfer.call_sid]:  # the second agent hangs up
            stack.standin.engine.update_call(
                stack.standin.call(sid), status="completed", url=None, method="POST", twiml=None
            )
        caller.join(timeout=WAIT_REAL_SECONDS)
        transfer.done = started.status_code == 200 and completed.status_code == 200 and not caller.is_alive()
    except TimeoutError as late:
        transfer.steps.append(f"stuck: {late}")
    finally:
        for address in AGENTS.values():
            stack.standin.register_agent(address, TALK)
    from chalicelib.adapters.dynamo.store import store as dynamo_store

    record = dynamo_store().get_call(transfer.call_sid) if transfer.call_sid else None
    transfer.handled_by = list(record.handled_by or []) if record else []
    return transfer


def _agent_of(stack: LocalStack, session: requests.Session, tokens: dict[str, str], call_sid: str) -> str | None:
    """Whose desk shows the call (GET /v1/agent/call, as each agent's page asks)."""
    for agent_id, token in tokens.items():
        shown = session.get(f"{stack.api_url}/v1/agent/call", headers={"Authorization": f"Bearer {token}"}, timeout=15)
        if shown.status_code == 200 and shown.json()["call"]["call_sid"] == call_sid:
            return agent_id
    return None


def _until(condition: Callable[[], T | None], held: Callable[[], str] | None = None) -> T:
    deadline = wall_time.monotonic() + WAIT_REAL_SECONDS
    while wall_time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        wall_time.sleep(0.05)
    raise TimeoutError(f"{getattr(condition, '__name__', 'a condition')}: {held() if held else ''}")


def room_state(stack: LocalStack, room: Any) -> str:
    """A conference as the stand-in has it: its status (why it ended) and each participant's leg
    (who it calls, the leg's status, on hold, ends the room on exit, removed)."""
    people = [
        f"{p.call_sid[-6:]} to {p.leg.to} {p.leg.status}"
        + "".join(
            f" {flag}" for flag, on in (("hold", p.hold), ("end-on-exit", p.end_on_exit), ("removed", p.removed)) if on
        )
        for p in room.live()
    ]
    ended = f" ({room.reason_ended})" if room.reason_ended else ""
    return f"room {room.sid[-6:]} {room.status}{ended}: {', '.join(people) or 'nobody'}"


def answered_by(stack: LocalStack, address: str) -> int:
    """Calls to an agent's address that the agent's phone or browser answered (the stand-in's legs)."""
    return sum(1 for leg in stack.standin.calls if leg.to == address and leg.answered_at is not None)


def issue_agent_tokens(now: datetime) -> dict[str, str]:
    """A fresh desk token per demo agent, as `python -m cli.admin issue-agent-token` gives them."""
    from chalicelib.services.admin import issue_agent_token
    from chalicelib.wiring import repository

    return {agent_id: issue_agent_token("demo", agent_id, store=repository(), now=now)[1] for agent_id in AGENTS}
