"""Composition: the only place that builds the real adapters behind the services' ports (on
first use, never at import) and hands them, or services composed with them, to the web
handlers and the stream and schedule handlers (``chalicelib.events``); plus the names that tie
tables to their stream handlers for infra/ and the local stack.

The repositories that only some handlers use are imported inside their function: a webhook's
Lambda cold start then loads only the tables it touches."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from chalicelib.clock import Clock, current_clock, wall_now
from chalicelib.services.ports import EmailSender, Idempotent, Once, RecordingDeletion, SendOnce, VoiceTokens
from chalicelib.voice.links import AgentDialLinks, ConferenceLinks, InboundLinks, PredictiveLinks, PublicUrls

if TYPE_CHECKING:
    from collections.abc import Iterator
    from concurrent.futures import ThreadPoolExecutor  # cold start: only handlers that overlap two reads start threads
    from datetime import datetime

    from chalicelib.adapters.crm_http import UrllibCrmSender
    from chalicelib.adapters.dynamo.crm_outbox import DynamoCrmOutbox
    from chalicelib.adapters.dynamo.live_counts import LiveCountRepository
    from chalicelib.adapters.dynamo.reports import DynamoReportQueries, DynamoReportRuns
    from chalicelib.adapters.dynamo.store import DynamoStore
    from chalicelib.adapters.dynamo.text_outbox import DynamoTextOutbox
    from chalicelib.adapters.idempotency import KeyedOnce
    from chalicelib.adapters.twilio_conferences import TwilioConferences
    from chalicelib.adapters.twilio_numbers import TwilioAccountNumbers
    from chalicelib.adapters.twilio_rest import TwilioRecordingMedia
    from chalicelib.config import Settings
    from chalicelib.domain.entities import Call
    from chalicelib.domain.erasure import Erased
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.alerts import AlertChannels
    from chalicelib.services.crm_push import CrmLine
    from chalicelib.services.outcomes import Notifier
    from chalicelib.services.paced_telephony import PacedTelephony
    from chalicelib.services.recordings import ReportRecordingLinks  # cold start: see the block
    from chalicelib.services.text_outbox import TextLine
    from chalicelib.services.voicemail import VoicemailMail

A = TypeVar("A")
B = TypeVar("B")

# table (without prefix) -> the @app.lambda_function that consumes its stream
STREAM_CONSUMERS: dict[str, str] = {"order_lanes": "order_stream", "dial_tasks": "task_stream"}
STREAM_CONSUMERS |= {"call_outcomes": "outcome_stream", "crm_outbox": "crm_stream"}
STREAM_CONSUMERS |= {"calls": "call_stream"}  # the live counters (#19)


def settings() -> Settings:
    """The deployment's settings; pydantic loads with the first handler's call, not at import."""
    from chalicelib.config import settings as loaded  # cold start: see the docstring

    return loaded()


# Lazy wiring (issue #19): the adapters' modules load with the first handler that asks for one,
# not with the import of the handlers (a Lambda's init); each is built once, on first use.
def repository() -> DynamoStore:
    from chalicelib.adapters.dynamo.store import store  # cold start: see above

    return store()


def telephony() -> PacedTelephony:
    """Twilio, with the account's calls-per-second limit shared by every placement path."""
    from chalicelib.adapters.twilio_rest import TwilioTelephony  # cold start: see repository()
    from chalicelib.services.paced_telephony import PacedTelephony

    config = settings()
    return PacedTelephony(
        TwilioTelephony(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url),
        slots=repository(),
        account_sid=config.twilio_account_sid,
        calls_per_second=config.twilio_calls_per_second,
        clock=current_clock(),
        sleep=_sleep_for(current_clock()),
    )


def _sleep_for(clock: Clock) -> Callable[[float], None]:
    """Waiting for a call slot on this clock: the simulated clock's own sleep locally, the system
    clock's real sleep in the cloud; a fixed test clock never moves, so waiting on it would be
    pointless."""
    sleep = getattr(clock, "sleep", None)
    if callable(sleep):
        clock_sleep: Callable[[float], None] = sleep

        def sleep_unless_paused(seconds: float) -> None:
            # A paused simulation moves only when its driver jumps it, and the driver may be
            # waiting for this very handler to finish: do not wait on it.
            if getattr(clock, "speed", None) != 0:
                clock_sleep(seconds)

        return sleep_unless_paused
    return lambda seconds: None


@functools.cache
def _threads() -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor  # cold start: only handlers that overlap two reads start threads

    # Threads waiting on DynamoDB: a few per process (the local stack serves several requests at once).
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="together")


def together(first: Callable[[], A], second: Callable[[], B], /) -> tuple[A, B]:
    """Two independent store calls at the same time: ``first`` on a worker thread, ``second``
    here. Both always finish before this returns; an exception of either is raised (the
    second one's when both fail). botocore clients are thread-safe; PynamoDB creates each thread's
    botocore session apart."""
    future = _threads().submit(first)
    try:
        second_result = second()
    except BaseException:
        future.exception()  # wait: no write may still be running once the webhook has answered
        raise
    return future.result(), second_result


def recording_media() -> TwilioRecordingMedia:
    from chalicelib.adapters.twilio_rest import TwilioRecordingMedia  # cold start: see repository()

    config = settings()
    return TwilioRecordingMedia(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url)


def urls() -> PublicUrls:
    return PublicUrls(settings().base_url)


def agent_dial_links() -> AgentDialLinks:
    return AgentDialLinks(settings().base_url)


def predictive_links() -> PredictiveLinks:
    return PredictiveLinks(settings().base_url)


def inbound_links() -> InboundLinks:
    return InboundLinks(settings().base_url)


def crm_sender() -> UrllibCrmSender:
    from chalicelib.adapters.crm_http import UrllibCrmSender  # cold start: see repository()

    return UrllibCrmSender(local=settings().local_mode)


def crm_line() -> CrmLine:
    """The shop's CRM as deliveries reach it; signatures are stamped by the wall clock, which the
    CRM checks against its own."""
    from chalicelib.services.crm_push import CrmLine  # cold start: CRM handlers only

    config = settings()
    return CrmLine(
        outbox=crm_outbox(),
        sender=crm_sender(),
        secret_of=config.crm_secret,
        signed_at=wall_now,
        local=config.local_mode,
    )


# ---- the store under the names of the ports the handlers hand it to --------------------------
# One DynamoStore serves every aggregate (adapters/dynamo/store.py); these names say which port a
# handler passes it as.
inbound_store = desk_store = outcome_store = dialer_store = outcome_saves = repository


def crm_outbox() -> DynamoCrmOutbox:
    from chalicelib.adapters.dynamo.crm_outbox import crm_outbox as build  # cold start: CRM handlers only

    return build()


def live_counters() -> LiveCountRepository:
    from chalicelib.adapters.dynamo.live_counts import LiveCountRepository

    return LiveCountRepository()


def text_outbox() -> DynamoTextOutbox:
    from chalicelib.adapters.dynamo.text_outbox import text_outbox as build  # cold start: texting handlers only

    return build()


def text_line() -> TextLine:
    """Every text out (#18): the outbox, Twilio (paced as every call), the store that logs them."""
    from chalicelib.services.text_outbox import TextLine  # cold start: texting handlers only

    store_, twilio = repository(), telephony()
    return TextLine(text_outbox(), twilio, twilio, store_, store_.get_shop)


def twilio_recordings() -> RecordingDeletion:
    """Twilio's Recordings resource (DELETE): erasure and the retention's expiry."""
    from chalicelib.adapters.twilio_rest import TwilioRecordings  # cold start: on first use

    config = settings()
    return TwilioRecordings(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url)


def customer_erasure() -> Callable[[ShopSettings, str, datetime], Erased]:
    """Erasing a customer (#18): the store's erasure, Twilio's recordings, the shop's groups."""
    from chalicelib.adapters import idempotency  # cold start: erasure only
    from chalicelib.adapters.dynamo.erasure import DynamoErasure
    from chalicelib.services.erasure import erase_customer

    recordings = twilio_recordings()

    def erase(shop: ShopSettings, phone: str, now: datetime) -> Erased:
        groups = {group for agent in repository().list_agents(shop.shop_id) for group in agent.groups}
        return erase_customer(
            shop,
            phone,
            store=DynamoErasure(),
            recordings=recordings,
            order_answers=idempotency.forget_order_answers,
            groups=groups,
            now=now,
        )

    return erase


def report_queries() -> DynamoReportQueries:
    from chalicelib.adapters.dynamo.reports import DynamoReportQueries  # cold start: reports and live only

    return DynamoReportQueries()


# ---- email, alerts and "once" ---------------------------------------------------------------
def mailer() -> EmailSender:
    from chalicelib.adapters.email import SesEmailSender  # cold start: only senders of email load SES

    return SesEmailSender()


def alert_channels() -> AlertChannels:
    from chalicelib.services.alerts import AlertChannels  # cold start: alerts load the live figures

    return AlertChannels(
        sender=mailer(),
        messenger=telephony(),
        do_not_call=repository(),
        once=send_once(),
        outbox=text_outbox(),
        clock=current_clock(),
    )


def alert_destination_cap(shop: ShopSettings, day: str, cap: int) -> bool:
    """The managers told, once per shop and local day, that the day's new numbers ran out
    (``services.destinations``' ``CapAlert``)."""
    from chalicelib.services.alerts import destination_cap_alert, send_alert  # cold start: as alert_channels

    return send_alert(shop, destination_cap_alert(shop, day, cap), channels=alert_channels())


def run_once() -> Once:
    """Side effects once per business event (the order texts)."""
    from chalicelib.adapters import idempotency  # cold start: see repository()

    return idempotency.run_once


def send_once() -> SendOnce:
    """The alerts' messages, once per alert."""
    from chalicelib.adapters import idempotency  # cold start: see repository()

    return idempotency.send_once


def idempotent_order() -> Idempotent:
    """The order endpoint's ``Idempotency-Key``."""
    from chalicelib.adapters import idempotency  # cold start: see repository()

    return idempotency.accept_once


def forget_clients() -> None:
    """Tests and the local stack switch endpoints: every cached client is built again next time."""
    from chalicelib.adapters import idempotency  # cold start: see repository()

    idempotency.forget_idempotency_stores()


def notify_managers() -> Notifier:
    """The outcomes stream's manager emails, through the alerts' channels."""
    from chalicelib.services.outcomes import notify_managers as notify  # cold start: as alert_channels

    return functools.partial(notify, channels=alert_channels())


def voicemail_mail(now: datetime) -> VoicemailMail:
    """A voicemail's emails: the alerts' channels, and the recording's signed link lasting the
    report's link days from ``now``."""
    from chalicelib.services import recordings  # cold start: only voicemail callbacks
    from chalicelib.services.voicemail import VoicemailMail

    config = settings()
    lifetime = timedelta(days=config.recording_link_days)

    def link(call: Call) -> str | None:
        if not (call.recording_sid or call.recording_url):
            return None
        secret = config.recording_link_key()
        return recordings.recording_link(
            call.call_sid, base_url=config.base_url, secret=secret, now=now, lifetime=lifetime
        )

    return VoicemailMail(channels=alert_channels(), recording_link=link, link_days=config.recording_link_days)


# ---- the owner's reports: only the hourly run, the live figures and the admin CLI load them ---
def report_runs() -> DynamoReportRuns:
    from chalicelib.adapters.dynamo.reports import DynamoReportRuns  # cold start: see the block

    return DynamoReportRuns()


def report_shops() -> Iterator[ShopSettings]:
    """Every shop whose settings validate (one that does not is logged and left out)."""
    from chalicelib.adapters.dynamo.shops import configured_shops  # cold start: see the block

    return configured_shops()


def report_recording_links(now: datetime) -> ReportRecordingLinks:
    """The CSV's recording links: signed, lasting the configured days from ``now``."""
    from chalicelib.services.recordings import ReportRecordingLinks  # cold start: see the block

    config = settings()
    return ReportRecordingLinks(
        base_url=config.base_url, secret=config.recording_link_key, now=now, days=config.recording_link_days
    )


def report_once() -> KeyedOnce:
    """Each report sent once per (shop, period), however often the schedule fires or is retried."""
    from chalicelib.adapters import idempotency  # cold start: see repository()
    from chalicelib.services.reports.sending import (  # cold start: Jinja and the charts
        REPORT_IDEMPOTENCY_SECONDS,
        REPORT_ONCE_KEY_PREFIX,
    )

    return idempotency.KeyedOnce(REPORT_ONCE_KEY_PREFIX, keep_for_seconds=REPORT_IDEMPOTENCY_SECONDS)


def twilio_numbers() -> TwilioAccountNumbers:
    """The Twilio account's phone numbers (the operator's ``cli.admin twilio-numbers``)."""
    from chalicelib.adapters.twilio_numbers import TwilioAccountNumbers  # cold start: see the block

    config = settings()
    return TwilioAccountNumbers(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url)


def deployed_stack_outputs(stack_name: str) -> dict[str, str]:
    """The CloudFormation outputs of the deployed stack ``stack_name``."""
    from chalicelib.adapters.stack_outputs import stack_outputs  # cold start: only the admin CLI

    return stack_outputs(stack_name)


def voice_tokens() -> VoiceTokens | None:
    """The agents' softphone tokens (issue 17), or None when the deployment has no API key for them."""
    from chalicelib.adapters.voice_tokens import TwilioVoiceTokens  # cold start: the desk's token route only

    config = settings()
    if not config.twilio_api_key_sid:
        return None
    return TwilioVoiceTokens(
        config.twilio_account_sid, config.twilio_api_key_sid, config.api_key_secret, config.twilio_twiml_app_sid
    )


def conferences() -> TwilioConferences:
    """Twilio's Conferences and Participants (conference-based calls: hold, transfer, #17)."""
    from chalicelib.adapters.twilio_conferences import TwilioConferences  # cold start: only conference calls

    config = settings()
    return TwilioConferences(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url)


def conference_links() -> ConferenceLinks:
    return ConferenceLinks(settings().base_url)
