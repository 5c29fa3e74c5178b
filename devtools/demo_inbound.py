"""The demo day's callers and agents (issue 3): agents come online in the morning and log off in
the afternoon; callers before that choose Ukrainian or Russian, reach an agent after the
whisper and rate the call; later callers find nobody free and ask for a callback or hang up in
the queue (and get one anyway). Played on a thread beside the orders, on the same clock."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import requests

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, CallerScript, HangUp, Press, Silence

SHOP_NUMBER = "+380441234567"
AGENTS = {"anna": "+380501112233", "oleh": "client:oleh"}
CallerKind = Literal["agent-uk", "agent-ru", "callback", "abandon"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedCall:
    at: datetime
    caller: str
    kind: CallerKind

    def script(self) -> CallerScript:
        if self.kind == "agent-uk":
            return CallerScript([Press("1"), Press("1")])  # Ukrainian; survey: solved first time
        if self.kind == "agent-ru":
            return CallerScript([Press("2"), Press("2")])  # Russian; survey: called several times
        if self.kind == "callback":
            return CallerScript([Press("1"), Silence(), Press("1")])  # waits one round, then 1: call me back
        return CallerScript([Press("2"), HangUp()])  # hangs up in the queue


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


def plan_inbound(day: date, zone: ZoneInfo, seed: int, with_agents: int = 10, without_agents: int = 4) -> InboundPlan:
    rng = random.Random(seed)

    def at(hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    calls = []
    for index in range(with_agents):  # 10:30-15:30, one every half hour: a free agent each time
        kind: CallerKind = "agent-uk" if index % 3 else "agent-ru"
        calls.append(PlannedCall(at(10, 30) + timedelta(minutes=30 * index), f"+38063{2_000_000 + index:07d}", kind))
    for index in range(without_agents):  # after the agents left
        later: CallerKind = "callback" if index % 2 == 0 else "abandon"
        minute = rng.randint(0, 20)
        calls.append(
            PlannedCall(at(16, 30) + timedelta(minutes=25 * index + minute), f"+38063{3_000_000 + index:07d}", later)
        )
    return InboundPlan(zone, day, calls)


def start_inbound_day(
    stack: LocalStack, clock: SimClock, plan: InboundPlan, tokens: dict[str, str]
) -> threading.Thread:
    """Runs the plan on a thread; join it before the day's end. ``tokens``: each agent's desk
    token (``issue_agent_tokens``), shared with the outbound side of the day."""
    for address in AGENTS.values():
        stack.standin.register_agent(address, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=90))
    session = requests.Session()

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
            else:
                transcript = stack.standin.place_inbound_call(call.caller, SHOP_NUMBER, call.script())
                if transcript.application_errors:
                    log.error("caller %s heard an application error", call.caller)

    thread = threading.Thread(target=run, name="demo-inbound", daemon=True)
    thread.start()
    return thread


def issue_agent_tokens(now: datetime) -> dict[str, str]:
    """A fresh desk token per demo agent, as `python -m cli.admin issue-agent-token` gives them."""
    from chalicelib.services.admin import issue_agent_token
    from chalicelib.wiring import repository

    return {agent_id: issue_agent_token("demo", agent_id, store=repository(), now=now)[1] for agent_id in AGENTS}
