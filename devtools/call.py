"""Place a call through a running Twilio stand-in and print what the caller heard.

    python -m devtools.call --from +380671112233 --to +380441234567 --digits 1,2
    python -m devtools.call --from ... --to ... --step press:1 --step "speak:yes please" --step hangup

The stand-in's control URL comes from ``--control-url`` or from ``standin_url`` in
``.local/stack.json`` (written by ``make run``); with neither, a throwaway local stack is
started for the one call. Exit status: 0 the call went through,
1 the app failed during the call (application error), 2 the stand-in refused the call
(unknown number, bad step), 3 no stand-in answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import requests

from devtools.twilio_standin.parties import CallerScript, Press, Speak, Step, parse_step
from devtools.twilio_standin.transcript import Transcript

DEFAULT_STACK_FILE = Path(".local/stack.json")
DEFAULT_CALLER = "+380671112233"
DEMO_SHOP_NUMBER = "+380441234567"  # the demo shop's number in config/demo.toml
CONTROL_TIMEOUT_SECONDS = 600.0  # a call at real speed can take minutes


class NoStandInError(RuntimeError):
    """No stand-in to talk to: none configured, or none answering."""


class CallRefusedError(RuntimeError):
    """The stand-in answered but would not place the call."""


def resolve_control_url(explicit: str | None, stack_file: Path = DEFAULT_STACK_FILE) -> str:
    """The stand-in's base URL: the argument, else ``standin_url`` from the local stack's file."""
    if explicit:
        return explicit.rstrip("/")
    try:
        stack = json.loads(stack_file.read_text())
    except FileNotFoundError:
        raise NoStandInError(
            f"No --control-url given and no {stack_file}: start the local stack with `make run`."
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise NoStandInError(f"Cannot read {stack_file}: {exc}") from exc
    url = stack.get("standin_url") if isinstance(stack, dict) else None
    if not url:
        raise NoStandInError(f"{stack_file} has no standin_url: is the local stack running?")
    return str(url).rstrip("/")


def build_steps(digits: str | None, speech: Sequence[str], steps: Sequence[str]) -> list[Step]:
    """``--digits 1,2`` then each ``--speech``, or the exact ``--step`` list."""
    if steps and (digits or speech):
        raise ValueError("use either --step, or --digits/--speech")
    if steps:
        return [parse_step(step) for step in steps]
    built: list[Step] = [Press(keys.strip()) for keys in (digits or "").split(",") if keys.strip()]
    built.extend(Speak(text) for text in speech)
    return built


def call_on_a_throwaway_stack(from_: str, to: str, steps: Sequence[Step], hangup_after: float | None) -> Transcript:
    import logging

    from devtools.stack import LocalStack, StackOptions

    logging.getLogger().setLevel(logging.WARNING)
    from chalicelib.observability import logger as app_logger

    app_logger.setLevel("WARNING")
    with LocalStack(StackOptions(outbox_dir=Path(".local/call-outbox"))) as stack:
        return stack.standin.place_inbound_call(
            from_=from_, to=to, script=CallerScript(list(steps), hangup_after_seconds=hangup_after)
        )


def run_call(
    control_url: str,
    from_: str,
    to: str,
    steps: Sequence[Step],
    hangup_after: float | None,
    timeout: float = CONTROL_TIMEOUT_SECONDS,
) -> Transcript:
    """Place the call through the stand-in's control API; returns once the call has ended."""
    script = CallerScript(list(steps), hangup_after_seconds=hangup_after)
    url = f"{control_url.rstrip('/')}/_standin/inbound-calls"
    try:
        response = requests.post(url, json={"from": from_, "to": to, **script.to_dict()}, timeout=timeout)
    except requests.ConnectionError as exc:
        raise NoStandInError(f"No Twilio stand-in answers at {control_url}: start it with `make run`.") from exc
    except requests.Timeout as exc:
        raise NoStandInError(f"The stand-in at {control_url} did not finish the call in {timeout:.0f} s.") from exc
    if response.status_code != 200:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        if 400 <= response.status_code < 500:
            raise CallRefusedError(f"The stand-in refused the call: {message}")
        raise NoStandInError(f"The stand-in at {control_url} failed ({response.status_code}): {message}")
    return Transcript.from_dict(response.json())


def render(transcript: Transcript, out: TextIO, verbose: bool = False) -> None:
    """What the caller heard and did, in order."""
    print(f"Call {transcript.call_sid}: {transcript.from_} -> {transcript.to}", file=out)
    for event in transcript.events:
        if event.kind in ("say", "play", "input", "application_error") or (
            verbose and event.kind not in ("webhook", "status")
        ):
            print(f"  {event.at:7.1f}s  {event.describe()}", file=out)
    print(f"Call {transcript.status} after {transcript.duration} s.", file=out)
    if verbose:
        print(transcript.pretty(), file=out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.call",
        description="Place a call through a running Twilio stand-in and print what the caller heard.",
    )
    parser.add_argument(
        "--from", dest="from_", default=DEFAULT_CALLER, metavar="NUMBER", help="the caller's number, E.164"
    )
    parser.add_argument("--to", default=DEMO_SHOP_NUMBER, metavar="NUMBER", help="the shop's number, E.164")
    parser.add_argument("--digits", help="keys to press at successive prompts, comma-separated: 1,2,123#")
    parser.add_argument("--speech", action="append", default=[], help="words to say (after the digits)")
    parser.add_argument("--step", action="append", default=[], help="press:KEYS, speak:TEXT, silence or hangup")
    parser.add_argument("--hangup-after", type=float, help="hang up after this many (virtual) seconds")
    parser.add_argument("--control-url", help="the stand-in's URL (default: standin_url in .local/stack.json)")
    parser.add_argument("--verbose", action="store_true", help="print the whole transcript")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = parse_args(argv)
    try:
        steps = build_steps(args.digits, args.speech, args.step)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        control_url = resolve_control_url(args.control_url)
        transcript = run_call(control_url, args.from_, args.to, steps, args.hangup_after)
    except NoStandInError as exc:
        if args.control_url:
            print(f"error: {exc}", file=err)
            return 3
        # No `make run` stack is serving: bring up a throwaway one for this call.
        print("No running local stack found; starting one for this call (about 5 s)...", file=err)
        transcript = call_on_a_throwaway_stack(args.from_, args.to, steps, args.hangup_after)
    except CallRefusedError as exc:
        print(f"error: {exc}", file=err)
        return 2
    render(transcript, out, verbose=args.verbose)
    if transcript.application_errors:
        for event in transcript.application_errors:
            print(f"error: the app failed: {event.describe()}", file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
