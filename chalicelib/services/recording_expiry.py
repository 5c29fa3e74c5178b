"""Recordings past the shop's retention (#18): DynamoDB's TTL removes the call's record when the
shop's ``privacy.retention_days`` are up; the calls stream sees the removal and this deletes the
recording at Twilio, which would otherwise keep it for ever."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.services.ports import RecordingDeletion


def delete_expired_recording(recording_sid: str, *, recordings: RecordingDeletion) -> bool:
    """False when Twilio had none (deleted before: a redelivery, an erasure). A Twilio failure
    raises: the stream tries the record again, and after its last try parks it on the consumer's
    failure queue (an alarm), never holding up the other records."""
    deleted = recordings.delete_recording(recording_sid)
    logger.info("expired recording deleted at Twilio", extra={"recording_sid": recording_sid, "found": deleted})
    return deleted
