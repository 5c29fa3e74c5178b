"""What a robot call's webhooks need to know about the attempt they belong to, carried in the
webhook URLs the app gives Twilio.

When the dialer claims a task it fixes the attempt: the shop, the customer's language, the
orders this call is about and the attempt number never change while the call lasts. The
answer URL (and the keypress URL built from it) carry them, so the webhooks need not read the
task back to learn them. Twilio signs the full URL, query included, with the account's auth
token, and the signature is checked before any handler runs: the values are as trustworthy as
the task id in the path. Every write still names the attempt in its condition, so a URL of an
earlier attempt changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_SHOP, _LANGUAGE, _ORDERS, _ATTEMPT = "shop", "lang", "orders", "attempt"
_MAX_ORDERS = 50  # far beyond one customer's open orders; keeps URLs well under Twilio's limit


@dataclass(frozen=True)
class RobotCallRef:
    """One attempt of a robot task: what its webhooks would otherwise read from the task."""

    task_id: str
    shop_id: str
    language: str
    order_ids: tuple[str, ...]  # the orders this call is about (the task's call_order_ids)
    attempt: int

    def params(self) -> dict[str, str]:
        return {
            _SHOP: self.shop_id,
            _LANGUAGE: self.language,
            _ORDERS: ",".join(sorted(self.order_ids)),
            _ATTEMPT: str(self.attempt),
        }


def ref_from_params(task_id: str, params: Mapping[str, str | Sequence[str]] | None) -> RobotCallRef | None:
    """The attempt named by a webhook's query, or None when the URL carries none (a call placed
    before URLs carried it) or carries something malformed."""
    if not params:
        return None

    def one(name: str) -> str | None:
        value = params.get(name)
        if isinstance(value, str) or value is None:
            return value
        return value[0] if len(value) == 1 else None

    shop_id, language, orders, attempt = one(_SHOP), one(_LANGUAGE), one(_ORDERS), one(_ATTEMPT)
    if not (shop_id and language and orders is not None and attempt and attempt.isdigit()):
        return None
    order_ids = tuple(sorted(o for o in orders.split(",") if o))
    if len(order_ids) > _MAX_ORDERS:
        return None
    return RobotCallRef(task_id, shop_id, language, order_ids, int(attempt))
