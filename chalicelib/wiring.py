"""Composition: the real adapters behind the services' ports, built on first use (never at
import), plus the names that tie tables to their stream handlers for infra/ and the local stack."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from chalicelib.adapters.crm_http import UrllibCrmSender
from chalicelib.adapters.dynamo.store import DynamoStore, store
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


def repository() -> DynamoStore:
    return store()


def telephony() -> PacedTelephony:
    """Twilio, with the account's calls-per-second limit shared by every placement path."""
    config = settings()
    return PacedTelephony(
        TwilioTelephony(config.twilio_account_sid, config.auth_token, config.twilio_api_base_url),
        slots=store(),
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
