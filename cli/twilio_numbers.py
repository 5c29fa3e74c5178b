"""``python -m cli.admin twilio-numbers``: set the shops' Twilio numbers to the deployed stack's
webhooks (voice, call status, SMS, voice fallback) through Twilio's API and check them;
``--check`` only reads and reports. Then the account's Voice Geo Permissions against the
countries the shops call (read only, either way). Exit status 1 when a number is wrong or not
the account's, a shop's country is closed, or high-risk ranges are open."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.twilio_numbers import wanted_settings
from chalicelib.services import twilio_numbers as service
from chalicelib.services.ports import ShopsAndRoutes
from chalicelib.wiring import deployed_stack_outputs, twilio_numbers

PLACEHOLDER_ACCOUNT = "AC" + "0" * 32


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "twilio-numbers",
        help="set the shops' Twilio numbers to the deployed stack's webhooks and check them (--check: only check)",
    )
    parser.add_argument("--stack", default="CallCenter", help="the deployed stack whose PublicBaseUrl to use")
    parser.add_argument("--public-base-url", help="use this base instead of the stack's output (e.g. a tunnel)")
    parser.add_argument("--shop", help="only this shop's numbers (default: every number the tables route)")
    parser.add_argument("--number", action="append", default=[], help="this number (E.164; repeat for more)")
    parser.add_argument("--check", action="store_true", help="read and report only; change nothing")
    parser.add_argument(
        "--voice-fallback-url",
        help="'Primary handler fails' URL, e.g. a TwiML Bin (default: the stack's static TwiML, "
        "<PublicBaseUrl>/twilio/fallback/voice: an apology and a voicemail recording, no Lambda)",
    )


def run(args: argparse.Namespace, routes: ShopsAndRoutes) -> int:
    config = settings()
    if config.twilio_account_sid == PLACEHOLDER_ACCOUNT:
        print("error: set TWILIO_ACCOUNT_SID (and TWILIO_AUTH_TOKEN or TWILIO_AUTH_TOKEN_PARAM)", file=sys.stderr)
        return 2
    base = args.public_base_url or deployed_stack_outputs(args.stack).get("PublicBaseUrl")
    if not base:
        print(f"error: stack {args.stack} has no PublicBaseUrl output", file=sys.stderr)
        return 2
    numbers = _numbers(args, routes)
    if not numbers:
        where = f"shop {args.shop!r}" if args.shop else "the tables"
        print(f"error: {where} route no number: load the shop first, or give --number", file=sys.stderr)
        return 2
    from twilio.base.exceptions import TwilioException  # the SDK: only when this command runs

    account = twilio_numbers()
    wanted = wanted_settings(base, args.voice_fallback_url)
    try:
        reports = service.configure_numbers(numbers, wanted, twilio=account, check_only=args.check)
        geo = service.geo_permissions(routes.list_shops(), twilio=account)
    except TwilioException as error:
        print(f"error: Twilio answered {_twilio_error(error)}", file=sys.stderr)
        return 2
    print(f"Twilio account {account.account_sid}, webhooks under {base.rstrip('/')}")
    for report in reports:
        print("\n".join(service.describe(report, account.account_sid)))
    print("Voice Geo Permissions (console: Voice > Settings > Geo permissions):")
    print("\n".join(f"    {finding.text}" for finding in geo))
    failed = [report for report in reports if report.failed]
    if failed:
        hint = " (run without --check to set them)" if args.check else ""
        print(f"{len(failed)} of {len(reports)} number(s) not as the app needs{hint}", file=sys.stderr)
    geo_failed = [finding for finding in geo if finding.failed]
    if geo_failed:
        print(f"{len(geo_failed)} Voice Geo Permission(s) to change in the Twilio console", file=sys.stderr)
    return 1 if failed or geo_failed else 0


def _numbers(args: argparse.Namespace, routes: ShopsAndRoutes) -> list[str]:
    if args.number:
        numbers = [normalise_phone(number, "ZZ").e164 for number in args.number]
        bad = [given for given, number in zip(args.number, numbers, strict=True) if number is None]
        if bad:
            raise ValueError(f"--number {bad[0]!r}: not a phone number (give it in E.164, +380...)")
        return [number for number in numbers if number]
    return [number for number, shop_id, _group in routes.routed_numbers() if args.shop in (None, shop_id)]


def _twilio_error(error: Exception) -> str:
    """``401: Authenticate``: the SDK raises its REST error on updates and a page's raw answer on lists."""
    status, message = getattr(error, "status", None), getattr(error, "msg", None)
    response = error.args[1] if len(error.args) > 1 else None
    if status is None and response is not None:
        status = getattr(response, "status_code", None)
        try:
            message = json.loads(getattr(response, "text", "") or "{}").get("message")
        except ValueError:
            message = None
    return f"{status}: {message or error}"
