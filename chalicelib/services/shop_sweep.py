"""The minute schedules' walk over the shops that have work (#19): only those shops, each on
its own (one shop's failure is logged and the walk goes on), from a different starting shop
each time (no shop is always last, so none always falls past the end of the time), and
stopping while the Lambda still has time to spare (the shops not reached are found again by
the next minute's search, since their work is still there)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chalicelib.observability import logger

# What a schedule keeps in hand when it stops: its last shop's work and the return.
RESERVE_SECONDS = 10.0


@dataclass
class SweepRun:
    visited: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # not reached in time: the next minute's


def rotated(shop_ids: Iterable[str], start: int) -> list[str]:
    """The shops in id order, beginning at ``start`` (modulo their number) and wrapping round."""
    ordered = sorted(set(shop_ids))
    if not ordered:
        return []
    cut = start % len(ordered)
    return ordered[cut:] + ordered[:cut]


def sweep(
    shop_ids: Iterable[str],
    visit: Callable[[str], object],
    *,
    start: int,
    seconds_left: Callable[[], float],
    name: str,
    reserve_seconds: float = RESERVE_SECONDS,
) -> SweepRun:
    """Visit each shop once, beginning at ``start``, while more than ``reserve_seconds`` are left."""
    run = SweepRun()
    order = rotated(shop_ids, start)
    for position, shop_id in enumerate(order):
        if seconds_left() <= reserve_seconds:
            run.left = order[position:]
            logger.warning(
                "schedule out of time: shops left for the next minute",
                extra={"schedule": name, "visited": len(run.visited), "left": len(run.left)},
            )
            break
        try:
            visit(shop_id)
        except Exception:  # one shop's fault must not stop the schedule for the others
            logger.exception("schedule failed for a shop", extra={"schedule": name, "shop_id": shop_id})
            run.failed.append(shop_id)
            continue
        run.visited.append(shop_id)
    return run
