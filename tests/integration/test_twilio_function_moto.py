"""The Twilio webhooks' own function (``chalicelib.twilio_webhooks.app``, issue #19) answers a
call end to end as the whole app does: TwiML for a signed webhook, 403 for a forged one, the
status callback stored; a route of the shop API is not its business."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem
from devtools.local_gateway import ApiTestClient
from tests.integration.conftest import signed_post

pytestmark = pytest.mark.integration


@pytest.fixture
def webhooks(aws: None) -> Iterator[Client]:
    from chalicelib.twilio_webhooks import app

    with ApiTestClient(app) as test_client:
        yield test_client


def test_a_call_is_answered_and_its_hang_up_stored_by_the_webhooks_function(webhooks: Client) -> None:
    call = {"CallSid": "CAW1", "From": "0671234567", "To": "+380441234567"}
    answer = signed_post(webhooks, "/twilio/voice/incoming", call)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert ET.fromstring(answer.body).tag == "Response"
    status = signed_post(
        webhooks,
        "/twilio/voice/status",
        {**call, "CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "7"},
    )
    assert status.status_code in (200, 204)
    record = CallItem.get("CAW1")
    assert (record.status, record.duration_seconds) == ("completed", 7)
    assert [t.task_id for t in DialTaskItem.scan() if t.kind == "callback"] == ["cb_CAW1"]


def test_a_forged_webhook_is_403_there_too(webhooks: Client) -> None:
    response = signed_post(webhooks, "/twilio/voice/incoming", {"CallSid": "CAWF", "To": "+380441234567"}, token="no")
    assert response.status_code == 403
    assert CallItem.count("CAWF") == 0


def test_the_shop_api_is_not_served_by_the_webhooks_function(webhooks: Client) -> None:
    response = webhooks.http.get("/v1/orders/any")
    assert response.status_code in (403, 404)
