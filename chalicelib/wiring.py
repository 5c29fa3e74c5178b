"""Composition: the real adapters behind the services' ports, built on first use (never at
import), plus the names that tie tables to their stream handlers for infra/ and the local stack."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from chalicelib.adapters.crm_http import UrllibCrmSender
from chalicelib.adapters.repository import DynamoRepository
from chalicelib.adapters.twilio_rest import TwilioRecordingMedia, TwilioTelephony
from chalicelib.clock import Clock, current_clock
from chalicelib.config import settings
from chalicelib.services.paced_telephony import PacedTelephony

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

A = TypeVar("A")
B = TypeVar("B")

# table (without prefix) -> the @app.lambda_function that consumes its stream
STREAM_CONSUMERS: dict[str, str] = {"orders": "order_stream", "dial_tasks": "task_stream"}
STREAM_CONSUMERS |= {"call_outcomes": "outcome_stream", "crm_outbox": "crm_stream"}


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


@functools.cache
def repository() -> DynamoRepository:
    return DynamoRepository()


def telephony() -> PacedTelephony:
    """Twilio, with the account's calls-per-second limit shared by every placement path."""
    from chalicelib.adapters.dialer_repository import dialer_store

    config = settings()
    return PacedTelephony(
        TwilioTelephony(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url),
        slots=dialer_store(),
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
    from concurrent.futures import ThreadPoolExecutor

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
    config = settings()
    return TwilioRecordingMedia(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url)


def urls() -> PublicUrls:
    return PublicUrls(settings().base_url)


def crm_sender() -> UrllibCrmSender:
    return UrllibCrmSender(local=settings().local_mode)


# ---- the owner's reports (services.reports) --------------------------------------------------
# The adapters are imported inside each builder: only the hourly report run, the live figures and
# the admin CLI need them, not every webhook's cold start (app.py imports this module).
if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import Any

    from chalicelib.adapters.email import SesEmailSender
    from chalicelib.adapters.powertools_once import PowertoolsOnce
    from chalicelib.adapters.report_models import DynamoReportRuns
    from chalicelib.adapters.report_queries import DynamoReportQueries
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.recordings import ReportRecordingLinks


def report_mailer() -> SesEmailSender:
    from chalicelib.adapters.email import SesEmailSender

    return SesEmailSender()


def report_queries() -> DynamoReportQueries:
    from chalicelib.adapters.report_queries import DynamoReportQueries

    return DynamoReportQueries()


def report_runs() -> DynamoReportRuns:
    from chalicelib.adapters.report_models import DynamoReportRuns

    return DynamoReportRuns()


def report_shops() -> Iterator[ShopSettings]:
    """Every shop whose settings validate (one that does not is logged and left out)."""
    from chalicelib.adapters.report_queries import configured_shops

    return configured_shops()


def report_recording_links(now: datetime) -> ReportRecordingLinks:
    """The CSV's recording links: signed, lasting the configured days from ``now``."""
    from chalicelib.services.recordings import ReportRecordingLinks

    config = settings()
    return ReportRecordingLinks(
        base_url=config.base_url, secret=config.recording_link_key, now=now, days=config.recording_link_days
    )


@functools.cache
def _report_once() -> PowertoolsOnce:
    from chalicelib.adapters.models import idempotency_table_name
    from chalicelib.adapters.powertools_once import PowertoolsOnce
    from chalicelib.services.reports.sending import REPORT_IDEMPOTENCY_SECONDS, REPORT_ONCE_KEY_PREFIX

    return PowertoolsOnce(
        table_name=idempotency_table_name(),
        key_prefix=REPORT_ONCE_KEY_PREFIX,
        expires_after_seconds=REPORT_IDEMPOTENCY_SECONDS,
    )


def report_once(lambda_context: Any = None) -> PowertoolsOnce:
    """Each report sent once per (shop, period); built on first use against the run's DynamoDB.
    Pass the schedule's Lambda context so a send cut off by a timeout is retried next run."""
    once = _report_once()
    if lambda_context is not None:
        once.register_lambda_context(lambda_context)
    return once


def forget_report_once() -> None:
    """Tests and the local stack switch tables or endpoints: build it again next time."""
    _report_once.cache_clear()


# ---- end of the owner's reports ----------------------------------------------------------
