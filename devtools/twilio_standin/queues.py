"""Twilio call queues: ``<Enqueue>`` puts callers in, ``<Dial><Queue>`` takes the longest waiting out."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.twilio_standin.bridges import Bridge
from devtools.twilio_standin.legs import CallLeg

DEFAULT_MAX_QUEUE_SIZE = 1000


@dataclass
class CallQueue:
    name: str
    sid: str = field(default_factory=lambda: "QU" + secrets.token_hex(16))
    max_size: int = DEFAULT_MAX_QUEUE_SIZE
    members: list[QueueMember] = field(default_factory=list)
    served_count: int = 0
    served_wait_total: float = 0.0

    @property
    def average_wait(self) -> int:
        return int(self.served_wait_total / self.served_count) if self.served_count else 0


@dataclass(eq=False)
class QueueMember:
    leg: CallLeg
    queue: CallQueue
    joined_at: float  # on the member leg's virtual clock
    left_at: float | None = None
    offer: DequeueOffer | None = None


@dataclass
class DequeueOffer:
    """Handed to a waiting caller when another call dequeues it."""

    dequeuer: CallLeg
    member: QueueMember
    whisper_url: str | None
    whisper_method: str
    bridge: Bridge


class QueueRegistry:
    def __init__(self) -> None:
        self._queues: dict[str, CallQueue] = {}
        self._changed = threading.Condition()

    def join(self, name: str, leg: CallLeg) -> QueueMember | None:
        """Enqueue ``leg``; None when the queue is full."""
        with self._changed:
            queue = self._queues.get(name)
            if queue is None:
                queue = self._queues[name] = CallQueue(name)
            if len(queue.members) >= queue.max_size:
                return None
            member = QueueMember(leg, queue, leg.clock.now)
            queue.members.append(member)
            self._changed.notify_all()
            return member

    def position(self, member: QueueMember) -> tuple[int, int]:
        """1-based position of the member and the current size of its queue."""
        with self._changed:
            members = member.queue.members
            position = members.index(member) + 1 if member in members else 0
            return position, len(members)

    def leave(self, member: QueueMember) -> bool:
        """Take the member out; False when a dequeuer already took it (its offer is pending)."""
        with self._changed:
            if member in member.queue.members:
                member.queue.members.remove(member)
                return True
            return False

    def note_served(self, member: QueueMember, waited: float) -> None:
        with self._changed:
            member.queue.served_count += 1
            member.queue.served_wait_total += waited

    def get(self, name: str) -> CallQueue | None:
        with self._changed:
            return self._queues.get(name)

    def take(
        self,
        name: str,
        dequeuer: CallLeg,
        whisper_url: str | None,
        whisper_method: str,
        real_wait_seconds: float,
        give_up: Callable[[], bool],
    ) -> tuple[DequeueOffer | None, bool]:
        """Dequeue the longest waiting member, waiting up to ``real_wait_seconds`` for one.

        Returns the offer made to the member (None if nobody came) and whether the queue exists.
        """
        deadline = time.monotonic() + real_wait_seconds
        with self._changed:
            while True:
                queue = self._queues.get(name)
                if queue is not None and queue.members:
                    member = queue.members.pop(0)
                    offer = DequeueOffer(dequeuer, member, whisper_url, whisper_method, Bridge(dequeuer, member.leg))
                    member.offer = offer
                    member.leg.offer_dequeue(offer)
                    return offer, True
                remaining = deadline - time.monotonic()
                if queue is None or remaining <= 0 or give_up():
                    # Twilio fails a Dial to a queue that was never created at once.
                    return None, queue is not None
                self._changed.wait(min(remaining, 0.05))
