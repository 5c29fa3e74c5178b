"""The robot call's answer and keypress writes are one TransactWriteItems each: on DynamoDB Local
(AWS's own engine: conditions, cancellation reasons and all-or-nothing as in the cloud) a
transaction whose task condition fails writes nothing, an order decided meanwhile is left as
it is while the rest of the decision lands, and a repeated webhook changes nothing twice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.adapters.dynamo.orders import order_keys, order_ref
from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, OrderItem, create_tables, reset_connections
from chalicelib.config import reload_settings
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.wiring import repository
from devtools.dynamodb_local import DynamoDBLocal

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SHOP = "demo"


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    saved = dict(os.environ)
    with DynamoDBLocal(ROOT, region=REGION) as local:
        os.environ.update(local.env())
        os.environ.update({"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION})
        reload_settings()
        reset_connections()
        create_tables()
        yield
    os.environ.clear()
    os.environ.update(saved)
    reset_connections()
    reload_settings()


def dialing_task(name: str, orders: tuple[str, ...], *, attempt: int = 1) -> RobotCallRef:
    """A robot task dialing its first call (CallSid CA-<name>) about ``orders``, all queued."""
    task_id = f"tsk_{name}"
    for order_id in orders:
        OrderItem(
            *order_keys(SHOP, order_id),
            shop_id=SHOP,
            phone="+380671234567",
            payload={},
            total="10",
            currency="UAH",
            status="queued",
            received_at=NOW,
            shop_day=f"{SHOP}#2015-11-23",
            shop_phone=f"{SHOP}#+380671234567",
        ).save()
    DialTaskItem(
        task_id,
        shop_id=SHOP,
        phone="+380671234567",
        language="uk",
        created_at=NOW,
        state="dialing",
        attempts=attempt,
        order_ids=set(orders),
        call_order_ids=set(orders),
        last_call_sid=f"CA-{name}",
    ).save()
    return RobotCallRef(task_id, SHOP, "uk", orders, attempt)


def test_an_answer_on_another_attempt_writes_nothing(engine: None) -> None:
    ref = dialing_task("stale", ("o-stale",), attempt=2)
    earlier = RobotCallRef(ref.task_id, SHOP, "uk", ref.order_ids, 1)
    assert repository().answer_robot_call(earlier, "CA-stale", person=True, answered_by="human") is False
    assert DialTaskItem.get(ref.task_id).contacted is None
    assert OrderItem.get(*order_keys(SHOP, "o-stale")).reached is False
    with pytest.raises(CallItem.DoesNotExist):
        CallItem.get("CA-stale")  # not even the call record: all or nothing


def test_an_answer_marks_task_call_and_orders_and_a_repeat_is_harmless(engine: None) -> None:
    ref = dialing_task("answer", ("o-a1", "o-a2"))
    for _ in range(2):  # Twilio may post the answer again
        assert repository().answer_robot_call(ref, "CA-answer", person=True, answered_by="human", answered_at=NOW)
    assert DialTaskItem.get(ref.task_id).contacted is True
    assert [OrderItem.get(*order_keys(SHOP, o)).reached for o in ref.order_ids] == [True, True]
    call = CallItem.get("CA-answer")
    assert (call.answered_by, call.answered_at) == ("human", NOW)


def test_a_decision_leaves_an_order_decided_meanwhile_and_decides_the_rest(engine: None) -> None:
    ref = dialing_task("decide", ("o-d1", "o-d2"))
    order_ref(SHOP, "o-d1").update(actions=[OrderItem.status.set("cancelled")])  # by a text reply
    moved = repository().decide_robot_call(ref, "CA-decide", "confirmed", order_status="confirmed", now=NOW)
    assert moved == ["o-d2"]
    assert [OrderItem.get(*order_keys(SHOP, o)).status for o in ref.order_ids] == ["cancelled", "confirmed"]
    assert DialTaskItem.get(ref.task_id).result == "confirmed"
    assert CallItem.get("CA-decide").result == "confirmed"
    # The same keypress again: the task and call take it again, no order moves twice.
    assert repository().decide_robot_call(ref, "CA-decide", "confirmed", order_status="confirmed", now=NOW) == []


def test_a_decision_on_someone_elses_call_writes_nothing(engine: None) -> None:
    ref = dialing_task("other", ("o-x",))
    assert repository().decide_robot_call(ref, "CA-intruder", "cancelled", order_status="cancelled", now=NOW) is None
    assert OrderItem.get(*order_keys(SHOP, "o-x")).status == "queued"
    assert DialTaskItem.get(ref.task_id).result is None


def test_key_3_routes_the_open_orders_to_an_agent_and_the_calls_end_hands_the_task_over(engine: None) -> None:
    # GIVEN a robot call about two orders, one of them decided meanwhile by a text
    ref = dialing_task("agent", ("o-g1", "o-g2"))
    DialTaskItem(ref.task_id).update(
        actions=[DialTaskItem.kind.set("robot"), DialTaskItem.active_key.set("demo#robot")]
    )
    assert repository().answer_robot_call(ref, "CA-agent", person=True, answered_by="human", answered_at=NOW)
    assert [OrderItem.get(*order_keys(SHOP, o)).asked_by for o in ref.order_ids] == ["robot", "robot"]
    order_ref(SHOP, "o-g1").update(actions=[OrderItem.status.set("confirmed")])
    # WHEN the customer presses 3
    reason = "the customer asked for an agent"
    moved = repository().decide_robot_call(ref, "CA-agent", "agent", order_status=None, now=NOW, agent_reason=reason)
    # THEN the open order is a person's: route agent, no longer one a text decides
    assert moved == ["o-g2"]
    routed = OrderItem.get(*order_keys(SHOP, "o-g2"))
    assert (routed.status, routed.route, routed.route_reason, routed.asked_by) == ("queued", "agent", reason, None)
    assert OrderItem.get(*order_keys(SHOP, "o-g1")).route is None  # decided meanwhile: left as it was
    # WHEN the call ends: the task is due at once in the agent queue, for a new round
    seen = repository().get_task(ref.task_id)
    assert seen is not None and seen.result == "agent"
    handed = repository().hand_attempt_to_agents(seen, "CA-agent", NOW)
    assert handed is not None
    item = DialTaskItem.get(ref.task_id)
    assert (item.kind, item.state, item.queue_key, item.due_at, item.attempts) == (
        "agent",
        "queued",
        "demo#agent",
        NOW,
        0,
    )
    assert (item.active_key, item.result, item.last_call_result) == (None, None, "agent")
    assert [t.task_id for t in repository().due_tasks(SHOP, "agent", NOW, 10)] == [ref.task_id]
    # a repeated end changes nothing
    assert repository().hand_attempt_to_agents(seen, "CA-agent", NOW) is None
