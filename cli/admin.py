"""Admin CLI (P3): ``python -m cli.admin <command>`` against the tables of the configured
account (or DynamoDB Local when ``AWS_ENDPOINT_URL_DYNAMODB`` points at it)."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from chalicelib.adapters.dynamo.crm_outbox import crm_outbox
from chalicelib.adapters.dynamo.schema import create_tables
from chalicelib.adapters.usage_plan import usage_plan_from_env
from chalicelib.clock import current_clock
from chalicelib.domain.shop import ShopSettings, merged_settings
from chalicelib.services import admin
from chalicelib.services.crm_push import parked_view
from chalicelib.wiring import repository, text_outbox
from cli import copy_orders, erase, live_counts, texts, twilio_numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-tables", help="create every table (local stack, first deploy checks)")
    load = commands.add_parser("load", help="create or update shops, numbers, agents and keys from a TOML file")
    load.add_argument("path", type=Path)
    load.add_argument(
        "--replace",
        action="store_true",
        help="a shop's settings are the file's alone (default: merged over the stored)",
    )
    shop = commands.add_parser(
        "create-shop",
        help="create a shop, or update one: only what is given changes (--replace: the given settings are all)",
    )
    shop.add_argument("--id", required=True)
    shop.add_argument("--name", help="required to create a shop")
    shop.add_argument("--region", help="phone region (new shop: UA)")
    shop.add_argument("--timezone", help="new shop: Europe/Kyiv")
    shop.add_argument("--languages", help="comma-separated, e.g. uk,ru,en (new shop: uk)")
    shop.add_argument("--currency", help="new shop: UAH")
    shop.add_argument(
        "--settings",
        metavar="JSON",
        help='more settings as a JSON object, e.g. \'{"caller_id": "+380441234567", "robot": {"max_attempts": 3}}\'',
    )
    shop.add_argument("--settings-file", type=Path, metavar="PATH", help="more settings from a .json or .toml file")
    shop.add_argument(
        "--replace",
        action="store_true",
        help="the given settings are the whole of them: anything not given takes its default",
    )
    number = commands.add_parser("add-number", help="route a phone number to a shop's agent group")
    number.add_argument("--shop", required=True)
    number.add_argument("--number", required=True)
    number.add_argument("--group", default="main")
    agent = commands.add_parser("add-agent", help="add or update an agent")
    agent.add_argument("--shop", required=True)
    agent.add_argument("--id", required=True)
    agent.add_argument("--name", required=True)
    agent.add_argument("--phone")
    agent.add_argument("--client-identity")
    agent.add_argument("--groups", default="main")
    agent.add_argument("--languages", default="")
    agent.add_argument(
        "--language", choices=["uk", "ru", "en"], help="what the agent hears (default: the shop's first)"
    )
    agent.add_argument("--sees-phone-numbers", action="store_true", help="callers' numbers in full on the desk")
    remove_agent = commands.add_parser(
        "remove-agent", help="delete an agent (their softphone identity is free at once) and revoke their desk tokens"
    )
    remove_agent.add_argument("--shop", required=True)
    remove_agent.add_argument("--id", required=True)
    key = commands.add_parser(
        "create-api-key", help="create a shop API key (printed once; in the usage plan when USAGE_PLAN_ID is set)"
    )
    key.add_argument("--shop", required=True)
    revoke_key = commands.add_parser(
        "revoke-api-key", help="revoke a shop API key (and disable it in the usage plan when USAGE_PLAN_ID is set)"
    )
    revoke_key.add_argument("--key-id", required=True, help="the key's id as create-api-key printed it (key_...)")
    commands.add_parser(
        "register-api-keys", help="put every shop API key in the usage plan USAGE_PLAN_ID names (after a load)"
    )
    token = commands.add_parser(
        "issue-agent-token", help="issue (or rotate) an agent's desk token (printed once; the old one stops working)"
    )
    token.add_argument("--shop", required=True)
    token.add_argument("--agent", required=True)
    token.add_argument(
        "--supervisor", action="store_true", help="reads every customer's timeline (else: the agent's own calls')"
    )
    revoke = commands.add_parser("revoke-agent-token", help="revoke an agent's desk token")
    revoke.add_argument("--shop", required=True)
    revoke.add_argument("--agent", required=True)
    commands.add_parser("list-shops", help="print every shop's settings as JSON")
    runs = commands.add_parser("report-runs", help="per shop, the last report run: sent, or skipped/failed and why")
    runs.add_argument("--shop", help="only this shop")
    parked = commands.add_parser("crm-parked", help="list the CRM events given up on (JSON lines)")
    parked.add_argument("--shop", help="one shop only")
    replay = commands.add_parser("crm-replay", help="deliver parked CRM events again (a fresh day of retries)")
    replay.add_argument("event_ids", nargs="*", help="event ids as crm-parked prints them")
    replay.add_argument("--all-parked", action="store_true", help="every parked event (of --shop, if given)")
    replay.add_argument("--shop")
    twilio_numbers.add_parser(commands)
    texts.add_parsers(commands)
    erase.add_parser(commands)
    live_counts.add_parser(commands)
    copy_orders.add_parser(commands)
    commands.add_parser(
        "index-dial-tasks",
        help="once after upgrading: key the open dial tasks stored before the minute's cross-shop search (a Scan)",
    )
    commands.add_parser(
        "index-order-numbers",
        help="once after upgrading: key the orders stored before GET /v1/orders?order_number= (a Scan)",
    )
    commands.add_parser(
        "claim-softphone-identities",
        help="once after upgrading: claim the softphone identity of every agent saved before identities were claimed",
    )
    args = parser.parse_args(argv)

    store, now = repository(), current_clock().now()  # the system clock, unless a test or simulation set one
    usage_plan = usage_plan_from_env()  # API Gateway's per-key limits: only against a deployment
    try:
        if args.command == "create-tables":
            create_tables()
            print("tables ready")
        elif args.command == "load":
            summary = admin.load_config(args.path, store=store, now=now, usage_plan=usage_plan, replace=args.replace)
            print(
                f"loaded shops {summary.shops}, numbers {summary.numbers}, "
                f"agents {summary.agents}, {summary.api_keys} API keys"
            )
        elif args.command == "create-shop":
            created = admin.create_shop(_shop_settings(args), store=store, now=now, replace=args.replace)
            print(f"shop {created.shop_id} saved")
        elif args.command == "add-number":
            routed = admin.add_number(args.shop, args.number, args.group, store=store, now=now)
            print(f"number {routed} routes to {args.shop}/{args.group}")
        elif args.command == "add-agent":
            fields = {
                "agent_id": args.id,
                "name": args.name,
                "phone": args.phone,
                "client_identity": args.client_identity,
            }
            fields |= {"groups": _list(args.groups), "languages": _list(args.languages)}
            fields["language"] = args.language
            fields["sees_phone_numbers"] = args.sees_phone_numbers
            saved = admin.add_agent(args.shop, {k: v for k, v in fields.items() if v is not None}, store=store)
            print(f"agent {saved.agent_id} saved")
        elif args.command == "remove-agent":
            revoked = admin.remove_agent(args.shop, args.id, store=store)
            print(f"agent {args.shop}/{args.id} removed, {revoked} desk token(s) revoked")
        elif args.command == "claim-softphone-identities":
            claimed, conflicts = admin.claim_softphone_identities(store=store)
            print(f"{claimed} softphone identit{'y' if claimed == 1 else 'ies'} claimed")
            for conflict in conflicts:
                print(f"conflict: {conflict}", file=sys.stderr)
            if conflicts:
                return 1
        elif args.command == "create-api-key":
            key_id, api_key = admin.create_api_key(args.shop, store=store, now=now, usage_plan=usage_plan)
            print(f"{key_id}: {api_key}\n(store it now: only its digest is kept)")
            if usage_plan is not None:
                print(f"{key_id} is in usage plan {usage_plan.usage_plan_id}")
        elif args.command == "revoke-api-key":
            shop_id = admin.revoke_api_key(args.key_id, store=store, usage_plan=usage_plan)
            where = f" and disabled in usage plan {usage_plan.usage_plan_id}" if usage_plan else ""
            print(f"revoked {args.key_id} of {shop_id}{where}")
        elif args.command == "register-api-keys":
            if usage_plan is None:
                print("error: set USAGE_PLAN_ID to the stack's UsagePlanId output", file=sys.stderr)
                return 2
            registered = admin.register_api_keys(store=store, usage_plan=usage_plan)
            print(f"{len(registered)} API key(s) in usage plan {usage_plan.usage_plan_id}")
        elif args.command == "issue-agent-token":
            token_id, token_value = admin.issue_agent_token(
                args.shop, args.agent, store=store, now=now, supervisor=args.supervisor
            )
            days = admin.token_days(args.shop, store=store)
            print(f"{token_id}: {token_value}\n(give it to the agent now: only its digest is kept; valid {days} days)")
        elif args.command == "revoke-agent-token":
            revoked = admin.revoke_agent_token(args.shop, args.agent, store=store)
            print(f"revoked {revoked} token(s) of {args.shop}/{args.agent}")
        elif args.command == "crm-parked":
            for event in admin.parked_crm_events(args.shop, store=store, outbox=crm_outbox()):
                print(json.dumps(parked_view(event), ensure_ascii=False))
        elif args.command == "crm-replay":
            ids = list(args.event_ids)
            if args.all_parked:
                ids += [e.event_id for e in admin.parked_crm_events(args.shop, store=store, outbox=crm_outbox())]
            if not ids:
                print("error: give event ids or --all-parked", file=sys.stderr)
                return 2
            replayed = admin.replay_crm_events(ids, outbox=crm_outbox(), now=now)
            for event_id, done in replayed.items():
                print(f"{event_id}: {'replayed' if done else 'not parked (unknown, pending or delivered)'}")
            if not all(replayed.values()):
                return 1
        elif args.command == "index-dial-tasks":
            print(f"{store.index_open_tasks()} open task(s) keyed for the minute's dialing")
        elif args.command == "index-order-numbers":
            print(f"{store.index_order_numbers()} order(s) keyed by their order number")
        elif args.command == "list-shops":
            print(json.dumps([s.model_dump(mode="json") for s in store.list_shops()], indent=2, ensure_ascii=False))
        elif args.command == "report-runs":
            print(_report_runs(store.list_shops(), args.shop))
        elif args.command == "twilio-numbers":
            return twilio_numbers.run(args, routes=store)
        elif args.command == "erase-customer":
            return erase.run(args, shop=store.get_shop(args.shop), now=now)
        elif args.command == "copy-orders":
            return copy_orders.run(args)
        elif args.command == "rebuild-live-counts":
            return live_counts.run(args, shop=store.get_shop(args.shop), now=now)
        elif args.command in texts.COMMANDS:
            return texts.run(args, shops=store.list_shops(), outbox=text_outbox(), now=now)
    except (ValueError, RuntimeError) as error:  # AdminError, pydantic's ValidationError, a missing secret
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _report_runs(shops: list[ShopSettings], only: str | None) -> str:
    from chalicelib.services.reports.runs import format_report_runs, last_report_runs
    from chalicelib.wiring import report_runs

    chosen = [shop for shop in shops if only in (None, shop.shop_id)]
    if only is not None and not chosen:
        raise admin.AdminError(f"no shop {only!r}")
    return format_report_runs(last_report_runs(chosen, report_runs()))


def _shop_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What create-shop was given: --settings-file, then --settings over it, then the flags."""
    given: dict[str, Any] = {}
    if args.settings_file is not None:
        given = merged_settings(given, _settings_file(args.settings_file))
    if args.settings is not None:
        try:
            inline = json.loads(args.settings)
        except ValueError as error:
            raise admin.AdminError(f"--settings: not valid JSON ({error})") from None
        if not isinstance(inline, dict):
            raise admin.AdminError('--settings: give a JSON object, e.g. \'{"robot": {"max_attempts": 3}}\'')
        given = merged_settings(given, inline)
    flags = {
        "name": args.name,
        "default_region": args.region,
        "timezone": args.timezone,
        "languages": None if args.languages is None else _list(args.languages),
        "currency": args.currency,
    }
    return merged_settings(given, {k: v for k, v in flags.items() if v is not None}) | {"shop_id": args.id}


def _settings_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as error:  # tomllib.TOMLDecodeError and json's errors are ValueErrors
        raise admin.AdminError(f"--settings-file {path}: {error}") from None
    if not isinstance(data, dict):
        raise admin.AdminError(f"--settings-file {path}: give a JSON object or a TOML table")
    return data


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


if __name__ == "__main__":
    sys.exit(main())
