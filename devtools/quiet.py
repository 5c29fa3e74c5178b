"""What ``LocalStack.wait_quiet`` answers: true once the stack settled, else what was still busy
at the deadline, in words, so that a test's ``assert stack.wait_quiet()`` failing in CI names
the call, conference or stream record that kept it busy (#19: a CI-only timeout said nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quiet:
    busy: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return not self.busy

    def __repr__(self) -> str:
        return "Quiet()" if not self.busy else "NotQuiet(" + "; ".join(self.busy) + ")"


def poller_busy(poller: Any) -> list[str]:
    """The stream records the poller still holds (``StreamPoller.pending``)."""
    return [] if poller is None else list(poller.pending())
