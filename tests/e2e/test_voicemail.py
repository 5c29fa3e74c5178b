"""A caller's voicemail through the local stack and the Twilio stand-in (issue 16, item 5): the
message becomes a callback task in line with the callers waiting, an email to the shop with an
expiring link to the recording (and Twilio's transcription where the shop wants it), an entry
on the customer's timeline, and a figure in the next day's report. Twilio's retried callbacks
make nothing twice; a caller who says nothing (or next to nothing) leaves no voicemail and gets
the plain callback any caller who hung up unserved gets (I7)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.ses_sink import OutboxMessage
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import CallerScript, HangUp, Press, Silence, Speak, Transcript
from tests.e2e.conftest import ShopApi

SHOP = "+380441234567"
OWNER = "owner@kvitka.example"
MESSAGE = "Hello, this is Olena. Please call me back about the roses for Friday."
LEAVE_A_MESSAGE_EN = "Please leave a message after the tone and we will call you back."
ZONE = ZoneInfo("Europe/Kyiv")


@pytest.fixture(autouse=True)
def nobody_at_work(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    """Both agents offline: a caller in the queue is told so and may leave a message at once."""
    for agent_id in ("anna", "oleh"):
        AgentItem("demo", agent_id).update(actions=[AgentItem.status.set("offline")])
    yield
    clock.advance(timedelta(minutes=1))  # each test's calls arrive after the previous test's


def _until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def voicemail_emails(stack: LocalStack, phone: str) -> list[OutboxMessage]:
    return [m for m in stack.ses.messages() if phone in str(m.message["Subject"])]


def text_of(message: OutboxMessage) -> str:
    part = message.message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def resend(stack: LocalStack, transcript: Transcript, purpose: str) -> int | None:
    """Twilio retrying one of the call's webhooks: the same URL and parameters, signed again."""
    [event] = transcript.webhooks(purpose)
    response = stack.standin.engine.webhooks.send(event.data["url"], "POST", event.data["params"])
    return response.status


def test_a_message_left_in_the_queue_is_a_callback_in_line_an_email_with_its_link_and_on_the_timeline(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN a caller who asked for a callback a minute earlier (nobody at work)
    first = stack.standin.place_inbound_call("+380671239001", SHOP, CallerScript([Press("1"), Press("1")]))
    assert first.application_errors == []
    clock.advance(timedelta(minutes=1))
    # WHEN an English caller is queued, presses 2 and leaves a message, then hangs up
    transcript = stack.standin.place_inbound_call(
        "+380671239002", SHOP, CallerScript([Press("3"), Press("2"), Speak(MESSAGE), HangUp()])
    )
    # THEN they heard the invitation and the beep, and nothing failed
    assert transcript.application_errors == [] and transcript.callback_errors == []
    assert LEAVE_A_MESSAGE_EN in transcript.heard()
    assert stack.wait_quiet(timeout=30)
    # AND the message is on the call, with a callback task waiting at the caller's arrival
    record = CallItem.get(transcript.call_sid)
    assert record.result == "voicemail" and record.voicemail_seconds >= 2 and record.recording_sid
    task = DialTaskItem.get(record.callback_task_id)
    assert (task.kind, task.state, task.phone, task.language) == ("callback", "waiting", "+380671239002", "en")
    assert task.due_at == record.queued_at
    # AND in line with the callers waiting: after the earlier caller's callback, by arrival
    first_task = CallItem.get(first.call_sid).callback_task_id
    line = [entry.ref for entry in dynamo_store().queue_entries("demo", "sales")]
    assert line.index(first_task) < line.index(task.task_id)
    # AND the shop got one email in its language with a working expiring link to the recording
    _until(lambda: voicemail_emails(stack, "+380671239002"))
    [email] = voicemail_emails(stack, "+380671239002")
    assert email.destinations == (OWNER,)
    body = text_of(email)
    assert "абонент залишив голосове повідомлення" in body  # in the shop's Ukrainian
    assert "Мова абонента: англійська" in body
    assert "Завдання передзвонити чекає в черзі операторів" in body
    [link] = re.findall(r"Прослухати: (\S+)", body)
    assert link.startswith(f"{stack.api_url}/v1/recordings/{transcript.call_sid}?expires=")
    audio = requests.get(link, timeout=15)
    assert audio.status_code == 200 and audio.content.startswith(b"RIFF")
    # AND the customer's timeline shows the voicemail with its callback task
    timeline = shop_api.session.post(
        f"{shop_api.base_url}/v1/customers/timeline", json={"phone": "+380671239002"}, timeout=15
    ).json()
    [call] = [entry for entry in timeline["entries"] if entry["type"] == "call"]
    assert call["result"] == "voicemail" and call["recording"]["available"] is True
    assert call["voicemail"] == {
        "seconds": record.voicemail_seconds,
        "callback_task_id": task.task_id,
        "transcription": None,
    }

    # WHEN Twilio retries the recording's action and its ready callback
    assert resend(stack, transcript, "record-action") == 200
    assert resend(stack, transcript, "recording-status-callback") == 204
    time.sleep(1.0)
    # THEN nothing more is made or sent
    assert [entry.ref for entry in dynamo_store().queue_entries("demo", "sales")].count(task.task_id) == 1
    assert CallItem.get(transcript.call_sid).callback_task_id == task.task_id
    assert len(voicemail_emails(stack, "+380671239002")) == 1


def test_a_caller_who_hangs_up_at_the_beep_leaves_no_voicemail_but_gets_the_usual_callback(stack: LocalStack) -> None:
    transcript = stack.standin.place_inbound_call(
        "+380671239003", SHOP, CallerScript([Press("3"), Press("2"), HangUp()])
    )
    assert transcript.application_errors == []
    assert LEAVE_A_MESSAGE_EN in transcript.heard()
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    assert record.result != "voicemail" and record.voicemail_seconds is None and record.recording_sid is None
    assert record.abandoned is True  # I7: hung up unserved
    assert DialTaskItem.get(record.callback_task_id).kind == "callback"
    time.sleep(1.0)
    assert voicemail_emails(stack, "+380671239003") == []


def test_a_sound_too_short_for_a_message_is_no_voicemail_and_the_caller_is_told_so(stack: LocalStack) -> None:
    transcript = stack.standin.place_inbound_call(
        "+380671239004", SHOP, CallerScript([Press("3"), Press("2"), Speak("uh"), Press("#")])
    )
    assert transcript.application_errors == []
    [action] = transcript.webhooks("record-action")
    assert int(action.data["params"]["RecordingDuration"]) < 2
    assert transcript.heard()[-1] == "We did not hear a message. An agent will call you back. Goodbye."
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    assert record.result != "voicemail" and record.voicemail_seconds is None
    task = DialTaskItem.get(record.callback_task_id)
    assert (task.kind, task.state) == ("callback", "waiting")
    time.sleep(1.0)
    assert voicemail_emails(stack, "+380671239004") == []


def test_a_caller_silent_after_the_beep_is_told_no_message_was_heard_and_keeps_the_callback(stack: LocalStack) -> None:
    transcript = stack.standin.place_inbound_call(
        "+380671239005", SHOP, CallerScript([Press("3"), Press("2"), Silence()])
    )
    assert transcript.application_errors == []
    assert transcript.heard()[-1] == "We did not hear a message. An agent will call you back. Goodbye."
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    assert record.result != "voicemail" and record.recording_url is None
    task = DialTaskItem.get(record.callback_task_id)
    assert (task.kind, task.state, task.phone) == ("callback", "waiting", "+380671239005")
    assert voicemail_emails(stack, "+380671239005") == []


@pytest.fixture
def transcribing(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    store = dynamo_store()
    shop = store.get_shop("demo")
    assert shop is not None
    inbound = shop.inbound.model_copy(update={"voicemail_transcription": True})
    store.save_shop(shop.model_copy(update={"inbound": inbound}), clock.now())
    yield
    store.save_shop(shop, clock.now())


@pytest.mark.usefixtures("transcribing")
def test_where_the_shop_asks_for_it_twilios_transcription_follows_in_a_second_email_once(stack: LocalStack) -> None:
    transcript = stack.standin.place_inbound_call(
        "+380671239005", SHOP, CallerScript([Press("3"), Press("2"), Speak(MESSAGE), Press("#")])
    )
    assert transcript.application_errors == [] and transcript.callback_errors == []
    assert transcript.heard()[-1] == "Thank you! Your message has been saved. Goodbye."
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    assert (record.result, record.transcription, record.transcription_status) == ("voicemail", MESSAGE, "completed")
    _until(lambda: len(voicemail_emails(stack, "+380671239005")) == 2)
    first, second = voicemail_emails(stack, "+380671239005")
    assert "Розшифровку повідомлення від Twilio надішлемо окремим листом." in text_of(first)
    assert str(second.message["Subject"]).startswith("Kvitka Flowers: розшифровка голосового повідомлення")
    assert MESSAGE in text_of(second) and "Прослухати: http" in text_of(second)
    # Twilio retrying the transcription callback sends nothing more
    assert resend(stack, transcript, "transcribe-callback") == 204
    time.sleep(1.0)
    assert len(voicemail_emails(stack, "+380671239005")) == 2


def test_the_next_days_report_counts_the_voicemails_and_their_callbacks(stack: LocalStack, clock: SimClock) -> None:
    # GIVEN a day of its own (noon the day after the tests above): two callers leave a message,
    # a third says nothing (no voicemail), with nobody at work
    first_day = clock.now().astimezone(ZONE).date()
    day = first_day + timedelta(days=1)
    noon = datetime.combine(day, datetime.min.time(), tzinfo=ZONE) + timedelta(hours=12)
    clock.advance(noon.astimezone(UTC) - clock.now())
    scripts = {
        "+380671239101": CallerScript([Press("3"), Press("2"), Speak(MESSAGE), HangUp()]),
        "+380671239102": CallerScript([Press("1"), Press("2"), Speak(MESSAGE), HangUp()]),
        "+380671239103": CallerScript([Press("1"), Press("2"), HangUp()]),
    }
    calls = [stack.standin.place_inbound_call(phone, SHOP, script) for phone, script in scripts.items()]
    assert stack.wait_quiet(timeout=30)
    assert [CallItem.get(call.call_sid).result for call in calls][:2] == ["voicemail", "voicemail"]
    # WHEN the report goes out the next morning at 08:00 in Kyiv
    next_morning = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZONE) + timedelta(hours=8)
    clock.advance(next_morning.astimezone(UTC) - clock.now() + timedelta(minutes=5))

    def report() -> list[OutboxMessage]:
        return [m for m in stack.ses.messages() if f"report for {day.isoformat()}" in str(m.message["Subject"])]

    _until(report, timeout=60)
    [sent] = report()
    body = text_of(sent)
    # THEN it counts the messages, and how many got their callback (none yet: nobody at work)
    assert re.search(r"\n  Inbound calls +3\n", body), body
    assert re.search(r"\n  Voicemails +2   messages left; each is a callback asked\n", body), body
    assert re.search(r"\n  Voicemails called back +0   of 2 voicemails\n", body), body
