"""The pure parts of voicemail (issue 16, item 5): what counts as a message, what the call record
keeps, Twilio's transcription read defensively, the shop's email in words, the report's figure,
the TwiML and its callback URLs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import ReportPolicy, ShopSettings
from chalicelib.domain.voicemail import (
    MAX_TRANSCRIPTION_CHARS,
    MIN_MESSAGE_SECONDS,
    message_seconds,
    recorded,
    recording_ready,
    transcription,
)
from chalicelib.services.reports.compose import build_daily_report
from chalicelib.voice.alert_words import VoicemailFacts, alert_words
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.inbound_twiml import voicemail
from chalicelib.voice.links import PublicUrls

KYIV_EVENING = datetime(2015, 6, 2, 18, 7)  # already in the shop's zone
LINK = "https://calls.example.test/v1/recordings/CA1?expires=1433271600&signature=" + "a" * 64


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        (None, None),
        ("", None),
        ("0", None),
        ("1", None),
        ("2", 2),
        ("37", 37),
        ("120", 120),
        ("1.5", None),
        ("-3", None),
    ],
)
def test_a_message_is_two_seconds_or_more_and_anything_else_is_none(duration: str | None, seconds: int | None) -> None:
    form = {} if duration is None else {"RecordingDuration": duration}
    assert message_seconds(form) == seconds


@given(st.text(max_size=30))
def test_any_duration_twilio_might_send_is_read_without_failing(duration: str) -> None:
    seconds = message_seconds({"RecordingDuration": duration})
    assert seconds is None or seconds >= MIN_MESSAGE_SECONDS


def test_the_call_record_keeps_the_message_its_length_and_its_recording() -> None:
    heard = recorded(
        {"CallSid": "CA1", "RecordingSid": "RE1", "RecordingUrl": "https://x/RE1", "RecordingDuration": "9"}
    )
    assert heard.is_message
    assert heard.fields() == {
        "result": "voicemail",
        "voicemail_seconds": 9,
        "recording_sid": "RE1",
        "recording_url": "https://x/RE1",
    }
    assert not recorded({"CallSid": "CA1", "RecordingDuration": "1"}).is_message


def test_only_a_completed_recording_is_ready() -> None:
    assert recording_ready({"RecordingStatus": "completed"})
    assert not recording_ready({"RecordingStatus": "absent"})
    assert not recording_ready({})


def test_a_transcription_has_words_only_when_completed_and_not_blank() -> None:
    text = transcription(
        {"CallSid": "CA1", "TranscriptionStatus": "completed", "TranscriptionText": " call\n me  back "}
    )
    assert (text.has_text, text.text) == (True, "call me back")
    assert not transcription({"TranscriptionStatus": "completed", "TranscriptionText": "  "}).has_text
    assert not transcription({"TranscriptionStatus": "failed", "TranscriptionText": "(blank)"}).has_text
    assert len(transcription({"TranscriptionStatus": "completed", "TranscriptionText": "a" * 10_000}).text) == (
        MAX_TRANSCRIPTION_CHARS
    )


def facts(**changes: object) -> VoicemailFacts:
    values: dict[str, object] = {
        "shop_name": "Kvitka Flowers",
        "phone": "+380671234567",
        "local_time": KYIV_EVENING,
        "timezone": "Europe/Kyiv",
        "seconds": 95,
        "language": "ru",
        "link": LINK,
        "link_days": 7,
        "callback": True,
    }
    return VoicemailFacts(**(values | changes))  # type: ignore[arg-type]


def test_the_voicemail_email_says_who_when_how_long_where_to_listen_and_what_happens_next() -> None:
    words = alert_words(facts(transcription_follows=True), load_catalog("en"))
    assert words.subject == "Kvitka Flowers: voicemail from +380671234567 (1 min 35 s)"
    assert words.body == (
        "A caller left a voicemail at 2015-06-02 18:07 (Europe/Kyiv).\n\n"
        "From: +380671234567\nLength: 1 min 35 s\nCaller's language: Russian\n"
        f"Listen: {LINK}\n(The link works for 7 days.)\n\n"
        "A callback task waits in the agents' queue, in line with the callers who rang at that time.\n"
        "Twilio's transcription of the message follows in a separate email.\n"
    )
    assert words.sms is None  # email only


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_every_language_words_both_voicemail_emails_with_no_template_left(language: str) -> None:
    catalog = load_catalog(language)
    for each in (facts(), facts(callback=False, phone=""), facts(transcription="Передзвоніть, будь ласка")):
        words = alert_words(each, catalog)
        for text in (words.subject, words.body):
            assert "{" not in text and "}" not in text and "None" not in text
        assert LINK in words.body
    hidden = alert_words(facts(callback=False, phone=""), catalog).body
    assert catalog.alert_text("voicemail_no_callback") in hidden
    assert "Передзвоніть, будь ласка" in alert_words(facts(transcription="Передзвоніть, будь ласка"), catalog).body


def inbound(sid: str, **fields: object) -> CallFact:
    at = datetime(2014, 3, 29, 9, 0, tzinfo=UTC)
    return CallFact(sid, "inbound", "completed", None, at, at, **fields)  # type: ignore[arg-type]


THE_DAY = [
    inbound("v1", result="voicemail", callback_task_id="cb_v1"),
    inbound("v2", result="voicemail", callback_task_id="cb_v2"),
    inbound("v3", result="voicemail"),  # a hidden number's (the fallback): no task
    inbound("c1", result="callback", callback_task_id="cb_c1"),
    inbound("a1", abandoned=True, callback_task_id="cb_a1"),  # hung up at the beep: I7, no voicemail
]


def test_the_tally_counts_voicemails_and_keeps_their_callback_tasks_apart() -> None:
    figures = daily_figures([], THE_DAY, zone="Europe/Kyiv", callbacks_completed=2)
    assert figures.inbound is not None
    assert (figures.inbound.voicemails, figures.inbound.callbacks_asked) == (3, 4)


class Queries:
    def orders_of_day(self, shop_id: str, day: date) -> list[OrderFact]:
        return []

    def calls_of_day(self, shop_id: str, day: date) -> list[CallFact]:
        return THE_DAY

    def agent_statuses_of_day(self, shop_id: str, day: date) -> list[AgentStatusFact]:
        return []

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]:
        return (0, 0)

    def callbacks_completed(self, task_ids: Iterable[str]) -> int:
        return len({"cb_v2", "cb_c1"} & set(task_ids))  # these reached the customer


def test_the_report_shows_the_voicemails_and_how_many_were_called_back() -> None:
    shop = ShopSettings(
        shop_id="kvitka", name="Kvitka", report=ReportPolicy(recipients=["o@k.example"], sender="r@k.example")
    )
    text = build_daily_report(shop, date(2014, 3, 29), Queries()).text
    assert "  Voicemails                                              3   messages left" in text
    assert "  Voicemails called back                                  1   of 3 voicemails" in text
    assert "  Callbacks completed                                     2   of 4 asked" in text


def test_the_voicemail_twiml_records_two_minutes_and_tells_of_the_file_and_the_text() -> None:
    urls = PublicUrls("https://calls.example.test/")
    assert urls.voicemail_ready() == "https://calls.example.test/twilio/voice/voicemail/ready"
    assert urls.voicemail_transcription() == "https://calls.example.test/twilio/voice/voicemail/transcription"
    plain = ET.fromstring(voicemail(load_catalog("en"), urls.voicemail(), ready_url=urls.voicemail_ready()))
    record = plain.find("./Record")
    assert record is not None
    assert (record.get("action"), record.get("maxLength"), record.get("recordingStatusCallback")) == (
        urls.voicemail(),
        "120",
        urls.voicemail_ready(),
    )
    assert record.get("transcribe") is None and record.get("transcribeCallback") is None
    transcribed = ET.fromstring(
        voicemail(
            load_catalog("en"),
            urls.voicemail(),
            ready_url=urls.voicemail_ready(),
            transcription_url=urls.voicemail_transcription(),
        )
    ).find("./Record")
    assert transcribed is not None
    assert (transcribed.get("transcribe"), transcribed.get("transcribeCallback")) == (
        "true",
        urls.voicemail_transcription(),
    )
