"""Every webhook URL comes from ``voice.links``; Twilio signs the exact bytes, so the format is
pinned here (query keys sorted, ``?`` only with a query, the status callback's task id quoted
as a path segment)."""

from __future__ import annotations

from chalicelib.voice.links import AgentDialLinks, InboundLinks, PredictiveLinks, PublicUrls, webhook_url

BASE = "https://calls.example.test/"


def test_the_builder_sorts_keys_drops_none_and_adds_no_bare_question_mark() -> None:
    assert webhook_url(BASE, "/p", {"b": 2, "a": "x y", "c": None}) == "https://calls.example.test/p?a=x+y&b=2"
    assert webhook_url(BASE, "/p", {"c": None}) == "https://calls.example.test/p"


def test_robot_status_and_voicemail_urls() -> None:
    urls = PublicUrls(BASE)
    assert urls.robot_answer("t 1") == "https://calls.example.test/twilio/voice/robot/t%201"
    assert urls.robot_keypress("t1") == "https://calls.example.test/twilio/voice/robot/t1/keypress"
    assert urls.robot_again("t1") == "https://calls.example.test/twilio/voice/robot/t1/again"
    assert urls.call_status("a/b c") == "https://calls.example.test/twilio/voice/status?task_id=a/b%20c"
    assert urls.voicemail() == "https://calls.example.test/twilio/voice/voicemail"


def test_agent_dial_and_predictive_urls() -> None:
    agent = AgentDialLinks(BASE)
    assert agent.agent_answer("t1", "oleh", "r1") == (
        "https://calls.example.test/twilio/voice/agent-dial/answer?agent=oleh&res=r1&task=t1"
    )
    assert agent.url("outcome", "t1", "oleh", "r1", attempt=2) == (
        "https://calls.example.test/twilio/voice/agent-dial/outcome?agent=oleh&attempt=2&res=r1&task=t1"
    )
    assert PredictiveLinks(BASE).bridge_done("t1", "L 1") == (
        "https://calls.example.test/twilio/voice/predictive/bridge-done?line=L+1&task=t1"
    )


def test_inbound_step_urls() -> None:
    links = InboundLinks(BASE)
    assert links.menu("uk") == "https://calls.example.test/twilio/voice/inbound/menu?lang=uk"
    assert links.order_slot("en", "o1", 1700000000, 0) == (
        "https://calls.example.test/twilio/voice/inbound/order-slot?asof=1700000000&attempt=0&lang=en&order=o1"
    )
    assert links.whisper("CA1") == "https://calls.example.test/twilio/voice/inbound/whisper?call=CA1"
    assert links.recording() == "https://calls.example.test/twilio/voice/inbound/recording"
