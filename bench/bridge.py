"""Agent available to caller bridged on the local stack (issue 17): a caller waits in the queue
with three minutes of hold music playing (on the stack's clock, as Twilio plays a file to its
end); an agent sets ``available`` through the API; the figure is the real time from that PUT
being sent to the agent's leg joining the caller in the call's conference (the stand-in's
``conference`` join event on the agent's leg, after the REST redirect, ``/bridge``, the caller's
``<Dial><Conference>``, the app's REST call placing the agent's leg, the whisper and the 1).

Baseline, measured in the same run: a bare REST redirect of a waiting caller to inline TwiML
(``Calls(sid).update``), the floor that Twilio's API and the stand-in set. Without the app's
redirect a caller would meet the agent at the next hold round, when the music ends: for an
agent freed at a random moment of a three-minute file, 90 s on average and 180 s at worst
(that figure follows from the music's length; waiting for it would add minutes per sample).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from bench.local_stack import api_call, local_stack
from bench.stats import markdown_table, median, percentile

TARGET_P95_S = 1.0
HOLD_MUSIC_SECONDS = 180.0
SHOP = "+380441234567"
AGENT = "client:oleh"
WAIT_LIMIT_S = 30.0
POLL_S = 0.002


def _until(condition: Any, timeout: float = WAIT_LIMIT_S) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(POLL_S)
    return None


class WaitingCaller:
    """An English caller of the demo shop, in the queue with the music playing."""

    def __init__(self, stack: Any, phone: str) -> None:
        from devtools.twilio_standin import CallerScript, Press

        self.stack, self.phone = stack, phone
        self.thread = threading.Thread(
            target=lambda: stack.standin.place_inbound_call(phone, SHOP, CallerScript([Press("3")])), daemon=True
        )
        self.thread.start()
        if _until(self.hears_music) is None:
            raise RuntimeError("the caller never reached the hold music")

    def leg(self) -> Any:
        legs = [leg for leg in self.stack.standin.calls if leg.from_ == self.phone and leg.direction == "inbound"]
        return legs[-1] if legs else None

    def hears_music(self) -> bool:
        leg = self.leg()
        return leg is not None and any(e.kind == "play" for e in leg.transcript.events)

    def bridged(self) -> bool:
        """The agent's own leg (placed by the app) joined the caller's conference."""
        caller_sid = self.leg().sid
        return any(
            leg.to == AGENT
            and leg.direction == "outbound-api"
            and any(
                e.kind == "conference" and e.data.get("event") == "join" and e.data.get("conference") == caller_sid
                for e in leg.transcript.events
            )
            for leg in list(self.stack.standin.calls)
        )

    def heard(self, text: str) -> bool:
        return text in self.leg().transcript.heard()


def _status(stack: Any, agent_id: str, status: str) -> None:
    api_call("PUT", f"{stack.api_url}/v1/agents/{agent_id}/status", {"status": status})


def _prepare(stack: Any) -> None:
    from chalicelib.adapters.dynamo.store import store
    from devtools.twilio_standin import AgentBehaviour

    shop = store().get_shop("demo")
    assert shop is not None
    inbound = shop.inbound.model_copy(update={"wrap_up_seconds": 0})
    store().save_shop(shop.model_copy(update={"inbound": inbound}), stack.options.clock.now())
    stack.standin.set_audio_seconds(shop.inbound.hold_music_url, HOLD_MUSIC_SECONDS)
    stack.standin.register_agent(AGENT, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=5))
    for agent_id in ("anna", "oleh"):
        _status(stack, agent_id, "offline")


def _raw_redirect(stack: Any, client: Any, phone: str) -> float | None:
    caller = WaitingCaller(stack, phone)
    sent = time.monotonic()
    client.calls(caller.leg().sid).update(twiml="<Response><Say>Redirected</Say></Response>")
    done = _until(lambda: caller.heard("Redirected"))
    caller.thread.join(WAIT_LIMIT_S)
    return None if done is None else done - sent


def _rest_client(stack: Any) -> Any:
    from twilio.rest import Client

    from chalicelib.adapters.twilio_rest import make_http_client

    standin = stack.standin
    return Client(standin.account_sid, standin.auth_token, http_client=make_http_client(standin.base_url))


def _bridge(stack: Any, phone: str) -> float | None:
    caller = WaitingCaller(stack, phone)
    sent = time.monotonic()
    _status(stack, "oleh", "available")
    done = _until(caller.bridged)
    caller.thread.join(WAIT_LIMIT_S)
    stack.wait_quiet(timeout=30)
    _status(stack, "oleh", "offline")  # wrap-up of 0 s: available again at once, taken offline
    return None if done is None else done - sent


def run(bridges: int = 20, progress: TextIO | None = None) -> dict[str, Any]:
    out = progress or sys.stderr
    latencies: list[float] = []
    baseline: list[float] = []
    missed = 0
    with local_stack() as stack:
        _prepare(stack)
        print(f"bridge: {bridges} callers bridged, then {bridges} bare redirects", file=out, flush=True)
        _bridge(stack, "+380676669999")  # warm-up: the app's first REST call loads the SDK
        for index in range(bridges):
            measured = _bridge(stack, f"+38067666{index:04d}")
            if measured is None:
                missed += 1
            else:
                latencies.append(measured)
        # After the bridges: a caller redirected to a bare Say hangs up unserved, and the
        # callback task they get (I7) would keep its place ahead of the next waiting caller.
        client = _rest_client(stack)
        _raw_redirect(stack, client, "+380675559999")  # warm-up: the SDK loads its modules
        for index in range(bridges):
            raw = _raw_redirect(stack, client, f"+38067555{index:04d}")
            if raw is not None:
                baseline.append(raw)
    if not latencies or not baseline:
        raise RuntimeError("no caller was bridged")
    p95 = percentile(latencies, 95)
    return {
        "benchmark": "bridge",
        "what": "local stack: agent's PUT status available sent -> the agent's leg joined the waiting caller "
        f"in the call's conference, {HOLD_MUSIC_SECONDS:g} s hold music playing; "
        "baseline: a bare REST redirect of a waiting caller",
        "bridges": bridges,
        "hold_music_seconds": HOLD_MUSIC_SECONDS,
        "callers_not_bridged_within_30_s": missed,
        "bridge_median_s": round(median(latencies), 3),
        "bridge_p95_s": round(p95, 3),
        "bridge_max_s": round(max(latencies), 3),
        "baseline_raw_redirect_median_s": round(median(baseline), 3),
        "baseline_raw_redirect_p95_s": round(percentile(baseline, 95), 3),
        "next_hold_round_mean_s": HOLD_MUSIC_SECONDS / 2,
        "next_hold_round_max_s": HOLD_MUSIC_SECONDS,
        "target_bridge_p95_s": TARGET_P95_S,
        "target_met": p95 < TARGET_P95_S and missed == 0,
    }


def render(document: dict[str, Any]) -> str:
    table = markdown_table(
        ["callers", "median (s)", "p95 (s)", "bare redirect p95 (s)", "next hold round (s)", "target p95 (s)", "met"],
        [
            [
                document["bridges"],
                document["bridge_median_s"],
                document["bridge_p95_s"],
                document["baseline_raw_redirect_p95_s"],
                f"{document['next_hold_round_mean_s']:g} mean, {document['next_hold_round_max_s']:g} max",
                document["target_bridge_p95_s"],
                "yes" if document["target_met"] else "no",
            ]
        ],
    )
    return f"### Agent available to caller bridged (local stack)\n\n{table}"
