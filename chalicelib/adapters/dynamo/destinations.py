"""A shop's new destinations of a local day, counted against its cap (toll fraud, SMS pumping),
in the dedup claims table: a claim per shop, day and number (the number hashed: keys show up in
logs and consoles) and the day's counter. One TransactWriteItems claims the number and counts it
while the counter is under the cap, so two requests racing never count one number twice nor
let the day go over the cap; a number claimed earlier that day is not new."""

from __future__ import annotations

import hashlib
import random
import time
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters.dynamo.items import Write, transact
from chalicelib.adapters.dynamo.schema import DedupClaimItem
from chalicelib.clock import storage_expiry

KEPT_FOR = timedelta(days=3)  # a local day and its time zones, with room to spare
CLAIM_OWNER = "destination"
CONFLICT_ROUNDS = 5  # each of them ``transact``'s own few tries


def _day_key(shop_id: str, day: str) -> str:
    return f"{shop_id}#dest#{day}"


def _number_key(shop_id: str, day: str, number: str) -> str:
    digest = hashlib.sha256(f"{shop_id}#{number}".encode()).hexdigest()[:32]
    return f"{_day_key(shop_id, day)}#{digest}"


class DestinationRepository:
    def claim_destination(self, shop_id: str, day: str, number: str, cap: int, now: datetime) -> bool:
        """True when ``number`` may be contacted on the shop's ``day``: claimed already that day,
        or new and counted under ``cap``. False (nothing written) when it is new and the day
        has counted ``cap`` new numbers."""
        expires = storage_expiry(KEPT_FOR)
        claim = DedupClaimItem(_number_key(shop_id, day, number))
        counter = DedupClaimItem(_day_key(shop_id, day))
        writes: list[Write] = [
            (
                claim,
                [
                    DedupClaimItem.order_id.set(CLAIM_OWNER),
                    DedupClaimItem.claimed_at.set(now),
                    DedupClaimItem.expires_ttl.set(expires),
                ],
                DedupClaimItem.claim_key.does_not_exist(),
            ),
            (
                counter,
                [
                    DedupClaimItem.new_numbers.add(1),
                    DedupClaimItem.order_id.set(CLAIM_OWNER),
                    DedupClaimItem.claimed_at.set(DedupClaimItem.claimed_at | now),
                    DedupClaimItem.expires_ttl.set(expires),
                ],
                DedupClaimItem.new_numbers.does_not_exist() | (DedupClaimItem.new_numbers < cap),
            ),
        ]
        for round_ in range(CONFLICT_ROUNDS):
            try:
                failed = transact(writes)
            except TransactWriteError as error:
                # Orders of one shop arriving together meet on the day's counter: wait a little, again.
                codes = {reason.code for reason in error.cancellation_reasons if reason}
                if "TransactionConflict" not in codes or round_ == CONFLICT_ROUNDS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (round_ + 1))  # noqa: S311 (jitter, not a secret)
                continue
            return 0 in failed or not failed
        raise AssertionError("unreachable")  # pragma: no cover
