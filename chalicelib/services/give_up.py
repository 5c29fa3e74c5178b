"""Ending the orders of a call attempt nobody will make again: the robot's, the agent-first's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.services.ports import AttemptStore, OrderStore


def orders_unreachable(store: OrderStore, shop_id: str, order_ids: Iterable[str], now: datetime, **fields: Any) -> None:
    """Every order still queued becomes unreachable; one decided meanwhile (by a text, an agent,
    the shop) is left as it is. Called BEFORE the task's end is written: while the task is
    still dialing a sweep applies the same end again if a write fails (the transitions, only
    from queued, change nothing the second time); a finished task is never looked at again,
    so orders left queued behind it would wait forever and their customer never be texted."""
    for order_id in order_ids:
        store.transition_order(shop_id, order_id, {"queued"}, "unreachable", decided_at=now, **fields)


def end_for_do_not_call(
    store: AttemptStore,
    shop_id: str,
    task_id: str,
    order_ids: Iterable[str],
    now: datetime,
    *,
    refused: str | None = None,
) -> None:
    """O11: the customer asked not to be contacted; the task and its orders end without a call.
    The same for a number the shop never calls (``refused``: why, e.g. premium-rate)."""
    result = "refused-number" if refused else "do-not-call"
    orders_unreachable(
        store, shop_id, order_ids, now, route_reason=f"number refused: {refused}" if refused else "do not call"
    )
    store.end_attempt(task_id, None, call_result=result, requeue_at=None, final_result="unreachable", now=now)
