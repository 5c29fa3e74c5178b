"""Absolute webhook URLs as Twilio must call them (and as their signatures are checked): the
robot's calls, the agent-first calls' legs and the customer-first (predictive) calls."""

from __future__ import annotations

from urllib.parse import quote, urlencode

AGENT_DIAL_BASE = "/twilio/voice/agent-dial"
PREDICTIVE_BASE = "/twilio/voice/predictive"


class PublicUrls:
    """Absolute webhook URLs as Twilio must call them (and as their signatures are checked)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def robot_answer(self, task_id: str) -> str:
        return f"{self.base_url}/twilio/voice/robot/{quote(task_id)}"

    def robot_keypress(self, task_id: str) -> str:
        return f"{self.robot_answer(task_id)}/keypress"

    def robot_again(self, task_id: str) -> str:
        return f"{self.robot_answer(task_id)}/again"

    def call_status(self, task_id: str) -> str:
        return f"{self.base_url}/twilio/voice/status?task_id={quote(task_id)}"

    def voicemail(self) -> str:
        return f"{self.base_url}/twilio/voice/voicemail"


class AgentDialLinks:
    """Absolute URLs of the agent leg's webhooks (query keys sorted, as the signature check wants)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def url(self, path: str, task_id: str, agent_id: str, reservation: str, **extra: object) -> str:
        values = {"agent": agent_id, "res": reservation, "task": task_id} | {k: str(v) for k, v in extra.items()}
        return f"{self.base_url}{AGENT_DIAL_BASE}/{path}?{urlencode(sorted(values.items()))}"

    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str:
        return self.url("answer", task_id, agent_id, reservation)

    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str:
        return self.url("status", task_id, agent_id, reservation)


class PredictiveLinks:
    """Absolute URLs of a customer-first call's webhooks (query keys sorted, as the signature
    check wants): the task and the dialer's line of the call."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _url(self, path: str, task_id: str, line: str) -> str:
        return f"{self.base_url}{PREDICTIVE_BASE}/{path}?{urlencode(sorted({'line': line, 'task': task_id}.items()))}"

    def answer(self, task_id: str, line: str) -> str:
        return self._url("answer", task_id, line)

    def amd(self, task_id: str, line: str) -> str:
        return self._url("amd", task_id, line)

    def status(self, task_id: str, line: str) -> str:
        return self._url("status", task_id, line)

    def connect(self, task_id: str, line: str) -> str:
        return self._url("connect", task_id, line)

    def bridge_done(self, task_id: str, line: str) -> str:
        return self._url("bridge-done", task_id, line)
