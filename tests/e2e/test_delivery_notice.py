"""The shop's delivery notice (O9) after every kind of confirmation, through the local stack and
the Twilio stand-in: the robot's call (key 1), a text "1" after the robot asked, an agent's
keypad outcome and the caller's own self-service each leave the customer one text about delivery
in their language, with the order number and the time or address known; the orders stream
delivering the confirmation again sends nothing more; a do-not-call customer and a cancelled
order get none."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo.schema import AgentItem, OrderItem
from devtools.simclock import SimClock
from devtools.stack import LOCAL_REGION, LocalStack
from devtools.stream_poller import LambdaContext, to_lambda_record
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, Press, Silence
from tests.e2e.conftest import ShopApi
from tests.e2e.test_agent_dialer import ANNA, SHOP, set_status, tick_until_called

SLOT = {"start": "2015-11-24T10:00:00+02:00", "end": "2015-11-24T14:00:00+02:00"}


def texts_to(stack: LocalStack, phone: str) -> list[str]:
    """What the shop texted the customer on its own (not the replies to their texts)."""
    return [m.body for m in stack.standin.messages if m.to == phone and m.direction == "outbound-api"]


def confirmation_records(stack: LocalStack, order_id: str) -> list[dict[str, Any]]:
    """The orders stream's records of the order becoming confirmed, as Lambda delivers them."""
    client = stack.dynamodb.client("dynamodbstreams")
    orders = stack.dynamodb.client("dynamodb").describe_table(TableName=OrderItem.Meta.table_name)
    arn = orders["Table"]["LatestStreamArn"]
    records = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        position = iterator.get("ShardIterator")
        for _ in range(100):  # an open shard hands out iterators for ever: stop at its first empty page
            if not position:
                break
            page = client.get_records(ShardIterator=position)
            if not page["Records"]:
                break
            records += page["Records"]
            position = page.get("NextShardIterator")
    return [
        to_lambda_record(r, region=LOCAL_REGION, stream_arn=arn)
        for r in records
        if r["dynamodb"]["Keys"]["order_id"]["S"] == order_id
        and r["eventName"] == "MODIFY"
        and r["dynamodb"]["NewImage"]["status"]["S"] == "confirmed"
        and r["dynamodb"]["OldImage"]["status"]["S"] != "confirmed"
    ]


def test_the_robots_confirmation_is_followed_by_one_notice_with_the_time_and_address_even_when_redelivered(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN an order the shop sent with a delivery time and address
    customer = "+380671270001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, script=CallerScript([Press("1")])))
    delivery = {"address": "Київ, Хрещатик 22", "slot": SLOT}
    order_id = shop_api.post_order(
        {"order_number": "DN-1", "phone": customer, "total": "480", "delivery": delivery}
    ).json()["id"]
    # WHEN the customer presses 1 on the robot's call
    assert stack.wait_quiet(timeout=60)
    [call] = [c for c in stack.standin.calls if c.to == customer]
    assert call.transcript.heard()[-1] == "Дякуємо! Ваше замовлення підтверджено."
    assert shop_api.order(order_id)["status"] == "confirmed"
    # THEN one text tells them when and where the order comes
    expected = (
        "Kvitka Flowers: замовлення DN-1 підтверджено. "
        "Доставка 24.11.2015 з 10:00 до 14:00 за адресою: Київ, Хрещатик 22."
    )
    assert texts_to(stack, customer) == [expected]

    # WHEN the orders stream delivers the confirmation again (Lambda's at-least-once)
    [record] = confirmation_records(stack, order_id)
    assert stack.app_module is not None
    context = LambdaContext("order_stream", region=LOCAL_REGION, account_id="123456789012")
    assert stack.app_module.order_stream({"Records": [record]}, context) == {"batchItemFailures": []}
    assert stack.wait_quiet(timeout=30)
    # THEN nothing more is sent
    assert texts_to(stack, customer) == [expected]


def test_a_text_1_after_the_robot_asked_is_answered_and_followed_by_one_notice(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN a customer who heard the robot read the order out and said nothing; no address, no time
    customer = "+380671270002"
    stack.standin.set_callee(
        customer, Callee(answer="human", ring_seconds=2, script=CallerScript([Silence(), Silence()]))
    )
    order_id = shop_api.post_order(
        {"order_number": "DN-2", "phone": customer, "total": "210", "language": "ru"}
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)
    # WHEN they text "1"
    [reply] = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="1")
    assert stack.wait_quiet(timeout=30)
    # THEN the reply says it is confirmed, and one text in their language says what about delivery
    assert reply.body == "Kvitka Flowers: заказ DN-2 подтверждён. Спасибо!"
    assert shop_api.order(order_id)["status"] == "confirmed"
    assert texts_to(stack, customer) == [
        "Kvitka Flowers: заказ DN-2 подтверждён. По поводу доставки мы с вами свяжемся."
    ]


def test_an_agents_keypad_confirmation_is_followed_by_one_notice_in_the_customers_language(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN an English-speaking customer's order that asks for a call, with an address and no time
    customer = "+380671270003"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(
        ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60, after_call=CallerScript([Press("1")]))
    )
    for agent_id in ("anna", "oleh"):
        AgentItem("demo", agent_id).update(actions=[AgentItem.status.set("offline")])
    order_id = shop_api.post_order(
        {
            "order_number": "DN-3",
            "phone": customer,
            "total": "700",
            "needs_call": True,
            "language": "en",
            "delivery": {"address": "Kyiv, Khreshchatyk 22"},
        }
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)
    assert shop_api.order(order_id)["status"] == "queued"
    # WHEN Anna calls, and presses 1 (confirmed) after the call
    set_status(shop_api, "anna", "available")
    agent_leg = tick_until_called(stack, clock, ANNA)
    assert agent_leg.transcript.heard()[-1] == "Збережено: підтверджено. До побачення."
    assert shop_api.order(order_id)["status"] == "confirmed"
    # THEN the customer gets one text: the address, and that the shop will say when
    assert texts_to(stack, customer) == [
        "Kvitka Flowers: order DN-3 is confirmed. "
        "We will deliver it to Kyiv, Khreshchatyk 22 and contact you about the time."
    ]
    set_status(shop_api, "anna", "offline")


def test_a_callers_own_confirmation_is_followed_by_one_notice(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN an order the robot could not reach (busy)
    customer = "+380671270004"
    stack.standin.set_callee(customer, Callee(answer="busy"))
    order_id = shop_api.post_order({"order_number": "DN-4", "phone": customer, "total": "99"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    # WHEN the customer calls the shop, picks English and presses 1 to confirm
    transcript = stack.standin.place_inbound_call(customer, SHOP, CallerScript([Press("3"), Press("1")]))
    assert transcript.heard()[-1] == "Thank you! Your order is confirmed. Goodbye."
    assert stack.wait_quiet(timeout=30)
    # THEN one notice follows (in the order's language: the shop's first, as the order gave none)
    assert shop_api.order(order_id)["status"] == "confirmed"
    assert texts_to(stack, customer) == [
        "Kvitka Flowers: замовлення DN-4 підтверджено. Щодо доставки ми з вами зв'яжемося."
    ]


def test_a_do_not_call_customers_order_confirmed_without_a_call_gets_no_notice(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN a customer on the shop's do-not-call list
    customer = "+380671270005"
    response = shop_api.session.post(f"{shop_api.base_url}/v1/do-not-call", json={"phone": customer}, timeout=15)
    assert response.status_code == 201, response.text
    # WHEN their prepaid order is confirmed without a call
    order_id = shop_api.post_order(
        {"order_number": "DN-5", "phone": customer, "total": "300", "prepaid": True, "delivery": {"slot": SLOT}}
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)
    # THEN it is confirmed, and neither a call nor a text reaches them
    assert shop_api.order(order_id)["status"] == "confirmed"
    assert [c for c in stack.standin.calls if c.to == customer] == []
    assert texts_to(stack, customer) == []


def test_an_order_cancelled_on_the_robots_call_gets_no_notice(stack: LocalStack, shop_api: ShopApi) -> None:
    customer = "+380671270006"
    script = CallerScript([Press("2"), Press("1")])  # cancel, and yes to the read-back
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, script=script))
    order_id = shop_api.post_order(
        {"order_number": "DN-6", "phone": customer, "total": "150", "delivery": {"address": "Kyiv", "slot": SLOT}}
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)
    assert shop_api.order(order_id)["status"] == "cancelled"
    assert texts_to(stack, customer) == []
