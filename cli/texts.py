"""``texts-parked`` and ``texts-replay``: the texts the outbox gave up on after a day of
failures (#18), and sending them again."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from chalicelib.domain.shop import ShopSettings
from chalicelib.services import text_outbox
from chalicelib.services.ports import TextOutbox

COMMANDS = ("texts-parked", "texts-replay")


def add_parsers(commands: Any) -> None:
    parked = commands.add_parser("texts-parked", help="list the texts given up on (JSON lines, no numbers)")
    parked.add_argument("--shop")
    replay = commands.add_parser("texts-replay", help="send parked texts again (a fresh day of retries)")
    replay.add_argument("text_ids", nargs="*", help="text ids as texts-parked prints them")
    replay.add_argument("--all-parked", action="store_true", help="every parked text (of --shop, if given)")
    replay.add_argument("--shop")


def run(args: argparse.Namespace, *, shops: list[ShopSettings], outbox: TextOutbox, now: datetime) -> int:
    chosen = [shop for shop in shops if args.shop in (None, shop.shop_id)]
    parked = text_outbox.parked_texts(chosen, outbox=outbox)
    if args.command == "texts-parked":
        for text in parked:
            view = {
                "text_id": text.text_id,
                "shop_id": text.shop_id,
                "kind": text.kind,
                "purpose": text.purpose,
                "created_at": text.created_at.isoformat(),
                "parked_at": text.parked_at.isoformat() if text.parked_at else None,
                "attempts": text.attempts,
                "last_error": text.last_error,
            }
            print(json.dumps(view, ensure_ascii=False))
        return 0
    ids = list(args.text_ids) + ([t.text_id for t in parked] if args.all_parked else [])
    if not ids:
        print("error: give text ids or --all-parked", file=sys.stderr)
        return 2
    replayed = text_outbox.replay(ids, outbox=outbox, now=now)
    for text_id, done in replayed.items():
        print(f"{text_id}: {'replayed: the next minute sends it' if done else 'not parked (unknown, pending or sent)'}")
    return 0 if all(replayed.values()) else 1
