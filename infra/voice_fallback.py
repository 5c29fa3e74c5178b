"""The voice webhooks' static fallback (#18): when the app fails (an error, a timeout, a throttled
invocation), Twilio fetches the number's Voice Fallback URL. That URL is an API Gateway mock
integration on the API itself: no Lambda, no table, nothing of the app's to fail. It says sorry in
the deployment's languages (``voice_fallback_languages``, from the caller-facing catalogs in
``twiml/``), asks for a message and records it (the recording stays in the Twilio account: the
console's call log and Recordings list), then thanks the caller and hangs up. Only ``Say``,
``Record`` and ``Hangup``.

``Record``'s ``action`` is relative (``voice-recorded``, resolved by Twilio against the document's
own URL): the same document serves the execute-api URL and any custom domain, and it never
names the API's id. So is its ``recordingStatusCallback``: the app's voicemail-ready webhook
(``../../twilio/voice/voicemail/ready``), which Twilio calls once the file is ready, by then
perhaps with the app up again: the message becomes the app's voicemail (call record, callback
task, the shop's email); while the app is still down, Twilio keeps the recording and its log.
Both documents are under ``/twilio/`` so the WAF's rules pass them
(``infra/waf.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from chalicelib.domain.twilio_numbers import VOICE_FALLBACK_PATH
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import VOICEMAIL_READY_PATH

RECORDED_PATH = VOICE_FALLBACK_PATH + "-recorded"  # the Record action: relative to the document
RECORD_SECONDS = 120


def _relative(target: str, document: str) -> str:
    """``target`` as a path relative to the document at ``document`` (both absolute paths)."""
    up = document.count("/") - 1
    return "../" * up + target.lstrip("/") if up else target.lstrip("/")


# the app's voicemail-ready webhook, relative to the fallback document (as Twilio resolves it)
READY_CALLBACK = _relative(VOICEMAIL_READY_PATH, VOICE_FALLBACK_PATH)
DEFAULT_LANGUAGES = ("uk", "en", "ru")
INTEGRATION = "x-amazon-apigateway-integration"


def _say(response: VoiceResponse, language: str, prompt: str) -> None:
    catalog = load_catalog(language)
    response.say(catalog.prompts[prompt], language=catalog.tts_language, voice=catalog.voice)


def fallback_twiml(languages: Iterable[str]) -> str:
    """Sorry and "leave a message" in each language, then the recording, then goodbye."""
    response = VoiceResponse()
    for language in languages:
        _say(response, language, "fallback_sorry")
        _say(response, language, "inbound_voicemail")
    response.record(
        action=RECORDED_PATH.rpartition("/")[2],
        method="POST",
        max_length=RECORD_SECONDS,
        play_beep=True,
        timeout=5,
        recording_status_callback=READY_CALLBACK,
        recording_status_callback_method="POST",
    )
    response.hangup()  # nothing was said: Twilio goes on here instead of requesting the action
    return str(response.to_xml())


def recorded_twiml(languages: Iterable[str]) -> str:
    response = VoiceResponse()
    for language in languages:
        _say(response, language, "inbound_voicemail_thanks")
    response.hangup()
    return str(response.to_xml())


def _static(twiml: str, summary: str) -> dict[str, Any]:
    """A GET or POST operation answering ``twiml`` from API Gateway itself (a mock integration)."""
    return {
        "summary": summary,
        "consumes": ["application/x-www-form-urlencoded", "application/json"],
        "produces": ["application/xml"],
        "responses": {"200": {"description": "static TwiML", "headers": {"Content-Type": {"type": "string"}}}},
        INTEGRATION: {
            "type": "mock",
            "passthroughBehavior": "when_no_templates",
            # Twilio posts a form; a GET has no body: both answer 200 from the mock
            "requestTemplates": {
                "application/x-www-form-urlencoded": '{"statusCode": 200}',
                "application/json": '{"statusCode": 200}',
            },
            "responses": {
                "default": {
                    "statusCode": "200",
                    "responseParameters": {"method.response.header.Content-Type": "'application/xml'"},
                    "responseTemplates": {"application/json": twiml, "application/xml": twiml},
                }
            },
        },
    }


def static_documents(languages: Iterable[str]) -> dict[str, str]:
    """path -> TwiML of the two static documents (the local gateway serves them too)."""
    languages = list(languages)
    return {VOICE_FALLBACK_PATH: fallback_twiml(languages), RECORDED_PATH: recorded_twiml(languages)}


def add_voice_fallback(swagger: dict[str, Any], languages: Iterable[str]) -> dict[str, str]:
    """Add the two static documents to the API's swagger; returns path -> TwiML."""
    documents = static_documents(languages)
    for path, twiml in documents.items():
        if path in swagger["paths"]:
            raise ValueError(f"{path}: the app serves this path itself")
        operation = _static(twiml, "The voice webhooks' static fallback (infra/voice_fallback.py)")
        swagger["paths"][path] = {"get": operation, "post": operation}
    return documents
