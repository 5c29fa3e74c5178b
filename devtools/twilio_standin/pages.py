"""Browser agents' pages (``AgentBehaviour(on_page=True)``), as a test relays them.

On Twilio a call to ``client:<identity>`` rings the agent's browser until its page accepts or
rejects it (or the ring time runs out), and the whisper's ``<Gather>`` then waits for the key the
agent presses there. The stand-in's scripted agent would answer by itself after ``ring_seconds``
and press ``accept_digits``: a browser test's page would be too late to matter. An ``on_page``
agent's leg placed through the REST API instead rings until the test relays what the page did
(``TwilioStandIn.page_accepts(call_sid, digits)`` / ``page_rejects(call_sid)``).

Where it differs from Twilio: the ring time is not applied to such a leg (the page acts in real
time, the call's clock is virtual and fast); it ends ``no-answer`` when the test relays that
the ring time ran out (``TwilioStandIn.page_rings_out``), or after ``PAGE_PATIENCE_SECONDS`` of
real time without an action. The key pressed at the whisper comes
with the relayed accept, and the whisper's Gather takes it whenever it asks. A rejected call
ends ``busy``. A ``<Dial><Client>`` child leg still follows ``ring_seconds`` and
``accept_digits``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from devtools.twilio_standin.legs import CallLeg

PAGE_PATIENCE_SECONDS = 60.0  # real seconds: a test that never relays the page is not left hanging
_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class PageAction:
    accepted: bool
    digits: str | None = None  # the keys pressed at the whisper once accepted
    rang_out: bool = False  # nobody acted before the ring time ran out: the leg ends no-answer


class AgentPages:
    """The page actions relayed by tests, by the SID of the leg that rang the page."""

    def __init__(self) -> None:
        self._actions: dict[str, PageAction] = {}
        self._changed = threading.Condition()

    def relay(self, call_sid: str, action: PageAction) -> None:
        with self._changed:
            self._actions[call_sid] = action
            self._changed.notify_all()

    def wait(self, leg: CallLeg) -> PageAction | None:
        """What ``leg``'s page did; None after ``PAGE_PATIENCE_SECONDS`` without an action. A
        REST hang-up or redirect of the ringing leg raises from ``leg.check_interrupts``."""
        deadline = time.monotonic() + PAGE_PATIENCE_SECONDS
        while time.monotonic() < deadline:
            leg.check_interrupts()
            with self._changed:
                action = self._actions.pop(leg.sid, None)
                if action is not None:
                    return action
                self._changed.wait(_POLL_SECONDS)
        return None
