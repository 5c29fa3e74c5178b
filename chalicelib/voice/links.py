"""Every absolute webhook URL the app gives Twilio, built in one place: the robot's calls and
the status and voicemail callbacks, the agent-first calls' legs, the customer-first
(predictive) calls and each step of an inbound call. Twilio signs the exact URL it calls, so
the format here is what ``web.http.twilio_webhook`` checks: query keys sorted."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote, quote_plus, urlencode

ROBOT_PATH = "/twilio/voice/robot"
STATUS_PATH = "/twilio/voice/status"
VOICEMAIL_PATH = "/twilio/voice/voicemail"
VOICEMAIL_READY_PATH = f"{VOICEMAIL_PATH}/ready"  # the recording status callback of a voicemail
VOICEMAIL_TRANSCRIPTION_PATH = f"{VOICEMAIL_PATH}/transcription"
INCOMING_PATH = "/twilio/voice/incoming"
INBOUND_BASE = "/twilio/voice/inbound"
AGENT_DIAL_BASE = "/twilio/voice/agent-dial"
PREDICTIVE_BASE = "/twilio/voice/predictive"
DESK_CALL_PATH = "/twilio/voice/desk-call"  # the TwiML App's Voice URL: agents' browser calls


def webhook_url(
    base_url: str,
    path: str,
    query: Mapping[str, object] | None = None,
    *,
    quote_via: Callable[..., str] = quote_plus,
    safe: str = "",
) -> str:
    """``base_url`` + ``path`` + the query (keys sorted, None values left out, no ``?`` when
    nothing is left), values quoted with ``quote_via``."""
    pairs = sorted((key, str(value)) for key, value in (query or {}).items() if value is not None)
    suffix = f"?{urlencode(pairs, safe=safe, quote_via=quote_via)}" if pairs else ""
    return f"{base_url.rstrip('/')}{path}{suffix}"


class _Links:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _url(self, path: str, **query: object) -> str:
        return webhook_url(self.base_url, path, query)


class PublicUrls(_Links):
    """The robot's call, every placed call's status callback, the voicemail recording."""

    def robot_answer(self, task_id: str, params: Mapping[str, str] | None = None) -> str:
        """The robot's call; ``params``: the attempt it belongs to (``RobotCallRef.params``)."""
        return self._robot(task_id, "", params)

    def robot_keypress(self, task_id: str, params: Mapping[str, str] | None = None) -> str:
        return self._robot(task_id, "/keypress", params)

    def robot_again(self, task_id: str, params: Mapping[str, str] | None = None) -> str:
        return self._robot(task_id, "/again", params)

    def robot_cancel_check(self, task_id: str, params: Mapping[str, str] | None = None) -> str:
        return self._robot(task_id, "/cancel", params)

    def _robot(self, task_id: str, tail: str, params: Mapping[str, str] | None) -> str:
        return webhook_url(self.base_url, f"{ROBOT_PATH}/{quote(task_id)}{tail}", params)

    def call_status(self, task_id: str, params: Mapping[str, str] | None = None) -> str:
        """``params``: the attempt, as the answer URL carries it (#19: no read of the task)."""
        # quoted as a path segment would be (as it always was: Twilio signs these bytes)
        query = {**(params or {}), "task_id": task_id}
        return webhook_url(self.base_url, STATUS_PATH, query, quote_via=quote, safe="/")

    def desk_call_done(self, shop_id: str, agent_id: str) -> str:
        """The agent of a call from the browser left its room (the agent's Dial's action)."""
        return self._url(f"{DESK_CALL_PATH}/done", agent=agent_id, shop=shop_id)

    def desk_call_customer(self, path: str, shop_id: str, agent_id: str, call_sid: str) -> str:
        """The customer's leg of a browser call (``answer``, ``status``, ``done``: its Dial's end)."""
        return self._url(f"{DESK_CALL_PATH}/customer-{path}", agent=agent_id, call=call_sid, shop=shop_id)

    def desk_call_unreached(self, shop_id: str, agent_id: str, status: str) -> str:
        """The agent, waiting in the room, hears that the customer was not reached."""
        return self._url(f"{DESK_CALL_PATH}/unreached", agent=agent_id, shop=shop_id, status=status)

    def voicemail(self) -> str:
        return self._url(VOICEMAIL_PATH)

    def voicemail_ready(self) -> str:
        return self._url(VOICEMAIL_READY_PATH)

    def voicemail_transcription(self) -> str:
        return self._url(VOICEMAIL_TRANSCRIPTION_PATH)


class AgentDialLinks(_Links):
    """The webhooks of an agent-first call's legs: task, agent and reservation (and, on the
    customer's leg, the call: the agent's leg)."""

    def url(self, path: str, task_id: str, agent_id: str, reservation: str, **extra: object) -> str:
        return self._url(f"{AGENT_DIAL_BASE}/{path}", agent=agent_id, res=reservation, task=task_id, **extra)

    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str:
        return self.url("answer", task_id, agent_id, reservation)

    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str:
        return self.url("status", task_id, agent_id, reservation)

    def customer(self, path: str, task_id: str, agent_id: str, reservation: str, call_sid: str) -> str:
        """The customer's leg of the call (the agent's leg ``call_sid``, its conference's name)."""
        return self.url(f"customer-{path}", task_id, agent_id, reservation, call=call_sid)


class PredictiveLinks(_Links):
    """A customer-first call's webhooks: the task and the dialer's line of the call."""

    def step(self, path: str, task_id: str, line: str) -> str:
        return self._url(f"{PREDICTIVE_BASE}/{path}", line=line, task=task_id)

    def answer(self, task_id: str, line: str) -> str:
        return self.step("answer", task_id, line)

    def amd(self, task_id: str, line: str) -> str:
        return self.step("amd", task_id, line)

    def status(self, task_id: str, line: str) -> str:
        return self.step("status", task_id, line)

    def connect(self, task_id: str, line: str) -> str:
        return self.step("connect", task_id, line)

    def bridge_done(self, task_id: str, line: str) -> str:
        return self.step("bridge-done", task_id, line)

    def agent_leg(self, path: str, task_id: str, line: str, call_sid: str) -> str:
        """The reserved agent's own leg into the customer's call's conference (``call_sid``)."""
        return self._url(f"{PREDICTIVE_BASE}/agent-{path}", call=call_sid, line=line, task=task_id)


class InboundLinks(_Links):
    """Each step of a call to a shop's number (I2-I10): the menus carry the caller's language,
    the try they are at and what they chose so far; the agent's leg carries the caller's call."""

    def step(self, path: str, **query: object) -> str:
        return self._url(f"{INBOUND_BASE}/{path}", **query)

    def language(self, attempt: object) -> str:
        return self.step("language", attempt=attempt)

    def language_menu(self, attempt: object) -> str:
        return self.step("language-menu", attempt=attempt)

    def after_hours(self, lang: str, attempt: object) -> str:
        return self.step("after-hours", lang=lang, attempt=attempt)

    def menu(self, lang: str) -> str:
        return self.step("menu", lang=lang)

    def order_choice(self, lang: str, attempt: object) -> str:
        return self.step("order-choice", lang=lang, attempt=attempt)

    def order(self, lang: str, order_id: str, attempt: object) -> str:
        return self.step("order", lang=lang, order=order_id, attempt=attempt)

    def order_slot(self, lang: str, order_id: str, as_of: int, attempt: object) -> str:
        return self.step("order-slot", lang=lang, order=order_id, asof=as_of, attempt=attempt)

    def order_slot_menu(self, lang: str, order_id: str, attempt: object) -> str:
        return self.step("order-slot-menu", lang=lang, order=order_id, attempt=attempt)

    def order_cancel(self, lang: str, order_id: str) -> str:
        return self.step("order-cancel", lang=lang, order=order_id)

    def order_cancel_number(self, lang: str, order_id: str, attempt: object) -> str:
        return self.step("order-cancel-number", lang=lang, order=order_id, attempt=attempt)

    def wait(self, lang: str) -> str:
        return self.step("wait", lang=lang)

    def wait_choice(self, lang: str) -> str:
        return self.step("wait-choice", lang=lang)

    def queue_exit(self, lang: str) -> str:
        return self.step("queue-exit", lang=lang)

    def whisper(self, call_sid: str) -> str:
        return self.step("whisper", call=call_sid)

    def whisper_accept(self, call_sid: str) -> str:
        return self.step("whisper-accept", call=call_sid)

    def dial_done(self, lang: str, agent_id: str) -> str:
        return self.step("dial-done", lang=lang, agent=agent_id)

    def recording(self) -> str:
        return self.step("recording")

    def survey(self, lang: str) -> str:
        return self.step("survey", lang=lang)

    def bridge(self, lang: str) -> str:
        """A waiting caller redirected out of the queue to the agent reserved for them (REST)."""
        return self.step("bridge", lang=lang)


class ConferenceLinks(InboundLinks):
    """An inbound call's conference (#17): the caller's wait and Dial end, the events, the
    recording; the agent's own leg (whisper, accept, its Dial's end, the outcome keys, status);
    each carries the caller's call, the conference's name."""

    def conference_wait(self, lang: str) -> str:
        return self.step("conf-wait", lang=lang)

    def hold_music(self, call_sid: str) -> str:
        return self.step("conf-hold-music", call=call_sid)

    def conference_done(self, lang: str, agent_id: str) -> str:
        return self.step("conf-done", lang=lang, agent=agent_id)

    def conference_events(self, call_sid: str) -> str:
        return self.step("conf-events", call=call_sid)

    def conference_recording(self, call_sid: str) -> str:
        return self.step("conf-recording", call=call_sid)

    def requeue(self, lang: str) -> str:
        return self.step("requeue", lang=lang)

    def transfer_failed(self, lang: str, called_back: bool = True) -> str:
        """An outbound call's customer whose transfer found nobody: the apology, and that an
        agent calls back (``called_back``) or, the number taking no callback, to call again."""
        return self.step("transfer-failed", lang=lang, callback=None if called_back else "none")

    def agent_leg(self, path: str, call_sid: str, agent_id: str, **extra: object) -> str:
        return self.step(f"agent-leg/{path}", agent=agent_id, call=call_sid, **extra)

    def outside_leg_status(self, call_sid: str) -> str:
        """The progress of an outside number dialled in for a transfer."""
        return self.step("outside-leg/status", call=call_sid)
