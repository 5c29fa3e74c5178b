"""SMS: the app's outbound messages through the SDK, and people texting the shop."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from devtools.twilio_standin import TwilioStandIn
from tests.standin.conftest import CUSTOMER, SHOP_NUMBER, ReceivedRequest, Reply, WebhookApp, assert_all_signed, twiml


def test_create_message_then_delivery_callbacks_in_order(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    shop.route("/sms-status", "", content_type="text/plain")

    message = client.messages.create(
        to=CUSTOMER, from_=SHOP_NUMBER, body="Order 42 confirmed", status_callback=shop.url("/sms-status")
    )
    assert standin.wait_idle(timeout=10)

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.body == "Order 42 confirmed"
    callbacks = shop.to("/sms-status")
    assert [r.params["MessageStatus"] for r in callbacks] == ["queued", "sent", "delivered"]
    assert {r.params["MessageSid"] for r in callbacks} == {message.sid}
    assert client.messages(message.sid).fetch().status == "delivered"
    (recorded,) = standin.messages
    assert (recorded.from_, recorded.to, recorded.direction) == (SHOP_NUMBER, CUSTOMER, "outbound-api")
    assert_all_signed(shop)


def test_message_through_a_messaging_service(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    service = "MG" + "ab" * 16

    message = client.messages.create(to=CUSTOMER, messaging_service_sid=service, body="Привіт")

    assert message.messaging_service_sid == service
    assert message.num_segments == "1"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "067 111", "from_": SHOP_NUMBER, "body": "x"}, 21211),
        ({"to": CUSTOMER, "from_": SHOP_NUMBER, "body": ""}, 21602),
        ({"to": CUSTOMER, "from_": "+15005550006", "body": "x"}, 21606),
        ({"to": CUSTOMER, "body": "x"}, 21603),
        ({"to": CUSTOMER, "from_": SHOP_NUMBER, "body": "x" * 1601}, 21617),
    ],
)
def test_invalid_messages_get_twilio_errors(
    standin: TwilioStandIn, shop: WebhookApp, client: Client, kwargs: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(**kwargs)

    assert raised.value.status == 400
    assert raised.value.code == code
    assert standin.messages == []


def test_inbound_sms_gets_the_messaging_response_replies(standin: TwilioStandIn, shop: WebhookApp) -> None:
    def sms(request: ReceivedRequest) -> Reply:
        answer = "confirmed" if request.params["Body"].strip() == "1" else "noted"
        return Reply(twiml(f"<Message>Order 42 {answer}</Message>"))

    shop.route("/sms", sms)

    replies = standin.send_inbound_sms(from_=CUSTOMER, to=SHOP_NUMBER, body="1")

    (reply,) = replies
    assert (reply.from_, reply.to, reply.body) == (SHOP_NUMBER, CUSTOMER, "Order 42 confirmed")
    assert reply.direction == "outbound-reply"
    (request,) = shop.to("/sms")
    assert request.params["From"] == CUSTOMER
    assert request.params["SmsStatus"] == "received"
    assert request.params["MessageSid"].startswith("SM")
    assert "OptOutType" not in request.params
    assert_all_signed(shop)


def test_stop_opts_the_customer_out_until_start(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    shop.route("/sms", twiml(""))

    standin.send_inbound_sms(from_=CUSTOMER, to=SHOP_NUMBER, body="STOP")
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=CUSTOMER, from_=SHOP_NUMBER, body="Your order")
    standin.send_inbound_sms(from_=CUSTOMER, to=SHOP_NUMBER, body="start")
    after_start = client.messages.create(to=CUSTOMER, from_=SHOP_NUMBER, body="Your order")

    assert raised.value.code == 21610
    assert [r.params["OptOutType"] for r in shop.to("/sms")] == ["STOP", "START"]
    assert after_start.status == "queued"


def test_sms_webhook_failure_is_an_application_error(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/sms", "oops", status=500, content_type="text/plain")

    replies = standin.send_inbound_sms(from_=CUSTOMER, to=SHOP_NUMBER, body="hello")

    assert replies == []
    (error,) = standin.application_errors()
    assert error["status"] == 500
    assert error["url"] == shop.url("/sms")
