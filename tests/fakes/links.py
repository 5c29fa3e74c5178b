"""The webhook URLs (voice/links.py) on a test host."""

from __future__ import annotations

from chalicelib.voice.links import PredictiveLinks, PublicUrls


class FakeUrls(PublicUrls):
    """The app's own robot and status links (pure string building) on a test host."""

    def __init__(self) -> None:
        super().__init__("https://calls.example.test")


class FakeAgentDialUrls:
    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str:
        return f"https://calls.example.test/twilio/voice/agent-dial/answer?agent={agent_id}&res={reservation}&task={task_id}"

    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str:
        return f"https://calls.example.test/twilio/voice/agent-dial/status?agent={agent_id}&res={reservation}&task={task_id}"


class FakePredictiveUrls(PredictiveLinks):
    """The app's own customer-first links (pure string building) on a test host."""

    def __init__(self) -> None:
        super().__init__("https://calls.example.test")
