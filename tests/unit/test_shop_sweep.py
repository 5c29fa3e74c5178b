"""The minute schedules' walk over shops with work (#19): every shop once, from a moving
start, one shop's failure isolated, stopping while time is left."""

from __future__ import annotations

from chalicelib.services.shop_sweep import rotated, sweep

SHOPS = [f"shop-{n:02d}" for n in range(10)]


def test_the_walk_starts_where_it_is_told_and_visits_every_shop_once():
    firsts = {rotated(SHOPS, start)[0] for start in range(10)}

    assert firsts == set(SHOPS)  # no shop is always first, or always last
    assert sorted(rotated(SHOPS, 7)) == SHOPS
    assert rotated(SHOPS, 13) == rotated(SHOPS, 3)
    assert rotated([], 5) == []


def test_a_failing_shop_is_logged_and_the_others_are_still_visited():
    # GIVEN a shop whose visit raises
    seen: list[str] = []

    def visit(shop_id: str) -> None:
        seen.append(shop_id)
        if shop_id == "shop-03":
            raise RuntimeError("its table throttled")

    # WHEN the walk runs
    run = sweep(SHOPS, visit, start=0, seconds_left=lambda: 50.0, name="test")

    # THEN every shop was visited and only that one failed
    assert seen == SHOPS
    assert run.failed == ["shop-03"]
    assert run.visited == [shop for shop in SHOPS if shop != "shop-03"]
    assert run.left == []


def test_the_walk_stops_before_the_time_runs_out_and_leaves_the_rest():
    # GIVEN 30 s left, each visit taking 6 s of it, 10 s kept in reserve
    left = [30.0]

    def visit(shop_id: str) -> None:
        left[0] -= 6.0

    # WHEN the walk runs from the sixth shop
    run = sweep(SHOPS, visit, start=5, seconds_left=lambda: left[0], name="test", reserve_seconds=10.0)

    # THEN it visited four shops (30 -> 6 s left) and left the other six for the next minute
    assert run.visited == ["shop-05", "shop-06", "shop-07", "shop-08"]
    assert run.left == ["shop-09", *SHOPS[:5]]
