"""A local stand-in for Twilio's side of the wire.

It serves the REST calls the app makes through the real ``twilio`` SDK (point the SDK at
``TwilioStandIn.base_url``) and drives the app's webhooks as Twilio does: form-encoded,
signed with ``X-Twilio-Signature``, Twilio's parameter names, following the TwiML the app
returns, with scripted callers, callees and agents. Every call leaves a ``Transcript``.

Virtual time: each call has its own clock. Says take time by their length, Pauses and
Gathers by their attributes, ringing and talking by the parties' settings. Real sleeping is
``virtual seconds / speed``; speed 0 never sleeps (tests). Durations reported to the app
are the virtual ones.

Scripted parties (see ``parties``): a ``CallerScript``'s steps are used one per request for
input (Gather, Record); a ``HangUp`` step also ends a wait on hold after a round of wait
music. When the steps run out the party is silent, and hangs up once two Gathers in a row
timed out on that silence (Gathers on hold do not count: people on hold are patient).

Where calls meet (a ``<Dial><Queue>`` taking a caller out of a queue) real time matters even
at speed 0: a caller on hold waits 50 ms of real time between rounds of wait music, and an
empty queue is watched for ``rendezvous_grace_seconds`` of real time. An endless
``loop="0"`` Say or Play plays one round per wait document at speed 0.

``<Play>`` lasts the audio's own length (``audio``): WAV files served on this machine are read,
a test may set a URL's length (``set_audio_seconds``), unread hold music lasts three minutes.
With ``hold_music_on_clock`` (the local stack) wait music at speed 0 lasts its length on the
stand-in's clock (the stack's simulated clock, which tests move), so as on Twilio the next wait
round starts only when the music ended, and a REST redirect cuts it at once.

Faults are visible: a TwiML webhook that fails (non-2xx, no answer within 15 s, not XML,
not ``<Response>``, over 64 kB, invalid attributes) makes the caller hear Twilio's
application-error sentence and hang up, and leaves an ``application_error`` event.
Unknown verbs are recorded the same way but skipped, as Twilio skips them. A failing
status or action callback whose answer Twilio ignores leaves a ``callback_error`` event.

Conferences (``<Dial><Conference>`` and the Conferences and Participants REST resources):
see ``conferences``, ``conference_attend`` and ``conference_rest``, each saying where it
differs from Twilio.

``<Record>``: nothing said, no action (the next verb runs); a hang-up before speaking ends
the call; otherwise the action gets ``RecordingUrl``/``RecordingSid``/``RecordingDuration``
(``Digits`` the key or ``hangup``). Then, as Twilio once the file and the text are ready, the
``recordingStatusCallback`` (``RecordingStatus=completed``) and, with ``transcribe="true"`` or a
``transcribeCallback``, the transcription (``TranscriptionText`` is what the script said;
``failed`` over two minutes). Where it differs: both come right after the action's answer, in
that order, and never ``absent``; Twilio posts them seconds to minutes later, in any order
with the call's own callbacks, and its text is a machine's guess.
"""

from devtools.twilio_standin.legs import CallLeg
from devtools.twilio_standin.messages import MessageRecord
from devtools.twilio_standin.parties import (
    AgentBehaviour,
    Callee,
    CallerScript,
    HangUp,
    Press,
    Silence,
    Speak,
    Step,
)
from devtools.twilio_standin.standin import TwilioStandIn
from devtools.twilio_standin.transcript import APPLICATION_ERROR_SENTENCE, Transcript, TranscriptEvent

__all__ = [
    "APPLICATION_ERROR_SENTENCE",
    "AgentBehaviour",
    "CallLeg",
    "Callee",
    "CallerScript",
    "HangUp",
    "MessageRecord",
    "Press",
    "Silence",
    "Speak",
    "Step",
    "Transcript",
    "TranscriptEvent",
    "TwilioStandIn",
]
