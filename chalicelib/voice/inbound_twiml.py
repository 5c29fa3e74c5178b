"""TwiML of inbound calls (I2-I10): menus that take digits and, where the catalog gives hints,
speech; the queue's wait documents; the agent's whisper; the survey."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from twilio.twiml.voice_response import Dial, VoiceResponse

from chalicelib.voice.catalog import Catalog, load_catalog
from chalicelib.voice.twiml import GATHER_TIMEOUT_SECONDS, speak

WAIT_GATHER_SECONDS = 3


def _gather(response: VoiceResponse, catalog: Catalog, action: str, hints: Sequence[str] = (), **extra: object) -> Any:
    """One-digit Gather; with hints it also listens for speech in the catalog's language (I11)."""
    words = ", ".join(catalog.text(name) for name in hints)
    if words:
        return response.gather(
            num_digits=1,
            action=action,
            method="POST",
            timeout=extra.pop("timeout", GATHER_TIMEOUT_SECONDS),
            input="dtmf speech",
            hints=words,
            language=catalog.tts_language,
            speech_timeout="auto",
            **extra,
        )
    return response.gather(
        num_digits=1, action=action, method="POST", timeout=extra.pop("timeout", GATHER_TIMEOUT_SECONDS), **extra
    )


def language_menu(shop_name: str, languages: Sequence[str], action: str, no_input_url: str, *, greet: bool) -> str:
    """The first thing every caller hears: the same document for every call to a shop (the
    catalogs are read once per process), so built once per process and shop (#19: it was a
    fixed ElementTree build and serialisation on every incoming call)."""
    return _language_menu(shop_name, tuple(languages), action, no_input_url, greet)


@functools.lru_cache(maxsize=512)
def _language_menu(shop_name: str, languages: tuple[str, ...], action: str, no_input_url: str, greet: bool) -> str:
    response = VoiceResponse()
    main = load_catalog(languages[0])
    if greet:
        speak(response, main, "inbound_welcome", shop_name=shop_name)
    hints = [load_catalog(language).text("inbound_speech_language") for language in languages]
    with response.gather(
        num_digits=1,
        action=action,
        method="POST",
        timeout=GATHER_TIMEOUT_SECONDS,
        input="dtmf speech",
        hints=", ".join(hints),
        language=main.tts_language,
        speech_timeout="auto",
    ) as gather:
        for digit, language in enumerate(languages, start=1):
            speak(gather, load_catalog(language), "inbound_language_option", digit=digit)
    response.redirect(no_input_url, method="POST")
    return str(response)


def not_understood_then(catalog: Catalog, url: str) -> str:
    response = VoiceResponse()
    speak(response, catalog, "inbound_not_understood")
    response.redirect(url, method="POST")
    return str(response)


def redirect(url: str, catalog: Catalog | None = None, prompt: str | None = None, **values: object) -> str:
    response = VoiceResponse()
    if catalog is not None and prompt:
        speak(response, catalog, prompt, **values)
    response.redirect(url, method="POST")
    return str(response)


def after_hours(catalog: Catalog, shop_name: str, action: str, no_input_url: str, *, greet: bool) -> str:
    response = VoiceResponse()
    if greet:
        speak(response, catalog, "inbound_welcome", shop_name=shop_name)
    with _gather(response, catalog, action, ("inbound_speech_callback", "inbound_speech_voicemail")) as gather:
        speak(gather, catalog, "inbound_after_hours")
    response.redirect(no_input_url, method="POST")
    return str(response)


def voicemail(
    catalog: Catalog,
    recording_action_url: str,
    prompt: str = "inbound_voicemail",
    *,
    ready_url: str | None = None,
    transcription_url: str | None = None,
) -> str:
    """The prompt and the beep, then up to 2 minutes of message (what Twilio transcribes at
    most), and the same action after silence. ``ready_url`` hears when the recording's file is
    ready; ``transcription_url``, when given, asks Twilio for the message's text."""
    response = VoiceResponse()
    speak(response, catalog, prompt)
    options: dict[str, object] = {}
    if ready_url:
        options |= {"recording_status_callback": ready_url, "recording_status_callback_method": "POST"}
    if transcription_url:
        options |= {"transcribe": True, "transcribe_callback": transcription_url}
    response.record(action=recording_action_url, method="POST", max_length=120, timeout=5, play_beep=True, **options)
    # Twilio skips the action when nothing was recorded (silence) and goes on here: the same
    # action, with no recording in the form, tells the caller and keeps their callback.
    response.redirect(recording_action_url, method="POST")
    return str(response)


def orders_menu(
    catalog: Catalog,
    lines: list[tuple[str, dict[str, object]]],
    action: str,
    no_input_url: str,
    *,
    choose: bool,
    slots: bool = False,
) -> str:
    """Read the caller's orders; one order: its menu (with 3 for a delivery slot when the shop
    has slots to offer); several: pick one by digit."""
    response = VoiceResponse()
    hints: tuple[str, ...] = ()
    if not choose:
        hints = ("inbound_speech_confirm", "inbound_speech_cancel", "inbound_speech_agent")
        hints += ("inbound_speech_slot",) if slots else ()
    with _gather(response, catalog, action, hints) as gather:
        for prompt, values in lines:
            speak(gather, catalog, prompt, **values)
        if not choose:
            speak(gather, catalog, "inbound_order_menu_slots" if slots else "inbound_order_menu")
    response.redirect(no_input_url, method="POST")
    return str(response)


def slot_menu(catalog: Catalog, lines: list[tuple[str, dict[str, object]]], action: str, no_input_url: str) -> str:
    """The delivery slots on offer, one digit each, and 0 (or asking for a person) for an agent."""
    response = VoiceResponse()
    with _gather(response, catalog, action, ("inbound_speech_agent",)) as gather:
        for prompt, values in lines:
            speak(gather, catalog, prompt, **values)
        speak(gather, catalog, "inbound_slot_agent")
    response.redirect(no_input_url, method="POST")
    return str(response)


def cancel_check(catalog: Catalog, values: dict[str, object], action: str) -> str:
    """The order read back before it is cancelled: 1 or a clear yes cancels it; a no, another
    key or silence comes to ``action`` too, and keeps it."""
    response = VoiceResponse()
    with _gather(response, catalog, action, ("inbound_speech_confirm", "inbound_speech_cancel")) as gather:
        speak(gather, catalog, "inbound_cancel_check", **values)
    response.redirect(action, method="POST")
    return str(response)


def cancel_number(catalog: Catalog, action: str, preface: str | None) -> str:
    """Keys only (an order number is no word to guess at): its digits, then #; silence comes to
    ``action`` too, with no digits."""
    response = VoiceResponse()
    if preface:
        speak(response, catalog, preface)
    with response.gather(
        action=action, method="POST", timeout=GATHER_TIMEOUT_SECONDS, input="dtmf", finish_on_key="#"
    ) as gather:
        speak(gather, catalog, "inbound_cancel_number_ask")
    response.redirect(action, method="POST")
    return str(response)


def enqueue(catalog: Catalog, queue_name: str, wait_url: str, action_url: str, prompt: str | None) -> str:
    response = VoiceResponse()
    if prompt:
        speak(response, catalog, prompt)
    response.enqueue(queue_name, wait_url=wait_url, wait_url_method="POST", action=action_url, method="POST")
    return str(response)


def leave_queue() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


def hold(
    catalog: Catalog,
    choice_url: str,
    music_url: str,
    *,
    position: int | None,
    minutes: int | None,
    max_wait_reached: bool,
    no_agents: bool = False,
    can_call_back: bool = True,
    number_refused: bool = False,
) -> str:
    """One round of the queue's wait music: where the caller stands (and, with agents at work,
    how long it should take), the callback offer, music. With nobody to take calls the caller
    is told so and offered a callback or a voicemail at once; a withheld number is offered no
    callback: told to call again (and, with nobody at work, hung up on); so is a number the shop
    never calls (``number_refused``), told that this number cannot be called back."""
    response = VoiceResponse()
    if position is not None:
        if minutes is not None:
            speak(response, catalog, "inbound_queue_position", position=position, minutes=minutes)
        else:
            speak(response, catalog, "inbound_queue_place", position=position)
    if not can_call_back:
        why = "cannot_call_back" if number_refused else "call_again"
        if no_agents:
            speak(response, catalog, f"inbound_no_agents_{why}")
            response.hangup()
            return str(response)
        if max_wait_reached:
            speak(response, catalog, f"inbound_queue_max_wait_{why}")
        response.play(music_url)
        return str(response)
    offer_voicemail = max_wait_reached or no_agents
    hints = ("inbound_speech_callback", "inbound_speech_voicemail") if offer_voicemail else ("inbound_speech_callback",)
    prompt = "inbound_queue_offer"
    if no_agents:
        prompt = "inbound_queue_no_agents"
    elif max_wait_reached:
        prompt = "inbound_queue_max_wait"
    with _gather(response, catalog, choice_url, hints, timeout=WAIT_GATHER_SECONDS) as gather:
        speak(gather, catalog, prompt)
    response.play(music_url)
    return str(response)


def dial_agent(
    catalog: Catalog,
    *,
    phone: str | None,
    client_identity: str | None,
    whisper_url: str,
    action_url: str,
    ring_seconds: int,
    record: bool,
    recording_callback_url: str,
) -> str:
    response = VoiceResponse()
    speak(response, catalog, "inbound_please_hold")
    options: dict[str, object] = {"action": action_url, "method": "POST", "timeout": ring_seconds}
    if record:  # after the recording notice of the greeting (I9), both parties on their own channel
        options |= {
            "record": "record-from-answer-dual",
            "recording_status_callback": recording_callback_url,
            "recording_status_callback_method": "POST",
        }
    dial = Dial(**options)
    if client_identity:
        dial.client(client_identity, url=whisper_url, method="POST")
    else:
        dial.number(phone or "", url=whisper_url, method="POST")
    response.append(dial)
    return str(response)


def whisper(catalog: Catalog, accept_url: str, shop_name: str, order_number: str | None) -> str:
    response = VoiceResponse()
    with response.gather(num_digits=1, action=accept_url, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        if order_number:
            speak(gather, catalog, "inbound_whisper_order", shop_name=shop_name, order_number=order_number)
        else:
            speak(gather, catalog, "inbound_whisper", shop_name=shop_name)
    response.hangup()  # not accepted: the caller's Dial goes on to its action (next agent)
    return str(response)


def bridge() -> str:
    """An empty document: the whisper is over and the two parties talk."""
    return str(VoiceResponse())


def survey(catalog: Catalog, action: str) -> str:
    response = VoiceResponse()
    with response.gather(num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        speak(gather, catalog, "inbound_survey")
    speak(response, catalog, "goodbye")
    response.hangup()
    return str(response)


def conference_dial(
    room: str,
    action_url: str,
    *,
    start_on_enter: bool,
    end_on_exit: bool,
    wait_url: str | None = None,
    events_url: str | None = None,
    record: bool = False,
    recording_callback_url: str = "",
    hangup_on_star: bool = False,
) -> Dial:
    """``<Dial><Conference>`` into the call's room: every leg of a conference call (caller,
    agent, agent-first customer) joins through this one builder. Twilio takes the room's events
    and recording from the leg that creates it, so each leg that may be first names them."""
    options: dict[str, object] = {}
    if wait_url is not None:  # "" is silence; left out, Twilio's default music
        options |= {"wait_url": wait_url, "wait_method": "POST"}
    if events_url:
        options |= {
            "status_callback": events_url,
            "status_callback_method": "POST",
            "status_callback_event": "join leave hold end",
        }
    if record:
        options |= {
            "record": "record-from-start",
            "recording_status_callback": recording_callback_url,
            "recording_status_callback_method": "POST",
        }
    dial_options: dict[str, object] = {"hangup_on_star": True} if hangup_on_star else {}
    dial = Dial(action=action_url, method="POST", **dial_options)
    dial.conference(
        room, start_conference_on_enter=start_on_enter, end_conference_on_exit=end_on_exit, beep="false", **options
    )
    return dial


def join_conference(
    catalog: Catalog,
    room: str,
    *,
    wait_url: str,
    action_url: str,
    events_url: str,
    record: bool,
    recording_callback_url: str,
) -> str:
    """The caller waits in the call's conference (the wait music) until the agent is in; the
    conference's events (the agent leaving, holds) go to ``events_url``; the caller hanging up
    ends it. Recorded from the start where the shop records (after the greeting's notice, I9)."""
    response = VoiceResponse()
    speak(response, catalog, "inbound_please_hold")
    response.append(
        conference_dial(
            room,
            action_url,
            start_on_enter=False,
            end_on_exit=True,
            wait_url=wait_url,
            events_url=events_url,
            record=record,
            recording_callback_url=recording_callback_url,
        )
    )
    return str(response)


def agent_conference(
    room: str, action_url: str, *, ends_call: bool = True, events_url: str | None = None, hangup_on_star: bool = False
) -> str:
    """The agent's leg, once accepted: into the caller's conference; the agent leaving ends it
    (the caller goes on to the survey) and the leg goes on to ``action_url``. An agent joining
    for a transfer (``ends_call`` False) leaves the room to the others until it is theirs. An
    agent-first call's agent creates the room (``events_url``) and waits in silence while the
    customer's phone rings; ``*`` takes them out to the outcome menu."""
    response = VoiceResponse()
    response.append(
        conference_dial(
            room,
            action_url,
            start_on_enter=True,
            end_on_exit=ends_call,
            wait_url="" if events_url else None,
            events_url=events_url,
            hangup_on_star=hangup_on_star,
        )
    )
    return str(response)


def customer_conference(room: str, action_url: str, *, events_url: str) -> str:
    """An agent-first call's customer answered: into the room where the agent waits; the
    customer hanging up ends it."""
    response = VoiceResponse()
    response.append(conference_dial(room, action_url, start_on_enter=True, end_on_exit=True, events_url=events_url))
    return str(response)


def music(url: str) -> str:
    """The wait or hold music: one round (Twilio asks again when it ends)."""
    response = VoiceResponse()
    response.play(url)
    return str(response)
