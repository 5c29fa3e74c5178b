"""The dial_due schedule with many shops (#19): it reads only the shops with due tasks, dials
them, and one shop's failure does not stop the others."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamo.items import day_key
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import DialTaskItem, OrderItem
from chalicelib.clock import FixedClock
from chalicelib.domain.entities import DialTask
from chalicelib.events import dialing
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from tests.fakes.twilio import FakeTelephony
from tests.integration.test_order_pipeline_moto import telephony  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def shop_with_a_due_task(shop_id: str, phone: str, clock: FixedClock) -> str:
    now = clock.now()
    demo = repository().get_shop("demo")
    assert demo is not None
    repository().save_shop(demo.model_copy(update={"shop_id": shop_id, "name": shop_id}), now)
    order_id = f"ord-{shop_id}"
    OrderItem(
        *order_keys(shop_id, order_id),
        shop_id=shop_id,
        phone=phone,
        payload={},
        total="10",
        currency="UAH",
        status="queued",
        received_at=now,
        shop_day=day_key(shop_id, now.date().isoformat()),
        shop_phone=f"{shop_id}#{phone}",
    ).save()
    task_id = f"tsk-{shop_id}"
    task = DialTask(task_id, shop_id, phone, [order_id], "uk", now, due_at=now)
    assert repository().insert_task(task)
    return task_id


def test_a_task_stored_before_the_index_is_dialed_after_the_one_off_command(
    aws: None,
    clock: FixedClock,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    # GIVEN a due task stored before the cross-shop index (no work_shard)
    task_id = shop_with_a_due_task("old-shop", "+380671000009", clock)
    DialTaskItem(task_id).update(actions=[DialTaskItem.work_shard.remove()])
    dialing.dial_due(None)
    assert telephony.placed == []  # invisible to the minute's search
    # WHEN the operator runs the command (twice: safe to repeat)
    assert admin_cli(["index-dial-tasks"]) == 0
    assert admin_cli(["index-dial-tasks"]) == 0
    # THEN the next minute dials it
    dialing.dial_due(None)
    assert [call["to"] for call in telephony.placed] == ["+380671000009"]


def test_dial_due_visits_only_shops_with_work_and_one_failing_shop_stops_no_other(
    aws: None,
    clock: FixedClock,
    telephony: FakeTelephony,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN 20 idle shops and three with a due robot task, one of which fails when visited
    demo = repository().get_shop("demo")
    assert demo is not None
    for n in range(20):
        repository().save_shop(demo.model_copy(update={"shop_id": f"idle-{n:02d}"}), clock.now())
    tasks = {
        shop_id: shop_with_a_due_task(shop_id, f"+38067{1_000_000 + n:07d}", clock)
        for n, shop_id in enumerate(("busy-a", "busy-b", "busy-c"))
    }
    dial_shop = dialing.dial_shop

    def failing_for_b(shop: Any, now: Any) -> None:
        if shop.shop_id == "busy-b":
            raise RuntimeError("this shop's settings are broken")
        dial_shop(shop, now)

    monkeypatch.setattr(dialing, "dial_shop", failing_for_b)

    # WHEN the minute's dial_due runs
    run = dialing.dial_due(None)

    # THEN only the three shops with work were visited; the failing one is reported and the
    # other two were dialed
    assert sorted(run.visited) == ["busy-a", "busy-c"] and run.failed == ["busy-b"] and run.left == []
    assert sorted(call["to"] for call in telephony.placed) == ["+380671000000", "+380671000002"]
    states = {shop_id: DialTaskItem.get(task_id).state for shop_id, task_id in tasks.items()}
    assert states == {"busy-a": "dialing", "busy-b": "queued", "busy-c": "dialing"}
