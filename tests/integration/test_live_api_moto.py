"""GET /v1/live on moto through the Chalice test client: the shop's API key, the queue, agents."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.dynamo.schema import CallItem
from tests.integration.conftest import StreamReader

pytestmark = pytest.mark.integration
API_KEY = "demo-shop-key-0001"


def get_live(client, api_key: str | None = API_KEY, query: str = ""):
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return client.http.get(f"/v1/live{query}", headers=headers)


def test_live_figures_need_the_shops_key(client):
    assert get_live(client, None).status_code == 401
    assert get_live(client, "not-a-key").status_code == 401
    assert get_live(client, query="?kpis=maybe").status_code == 400


def test_live_figures_show_the_caller_waiting_and_the_agents(client, clock):
    # GIVEN a caller in the demo shop's queue for 90 s, and one who has been answered (the calls
    # stream's consumer keeps the day's counters)
    calls = StreamReader(CallItem.Meta.table_name)
    now = clock.now()
    day = now.astimezone(ZoneInfo("Europe/Kyiv")).date().isoformat()
    for sid, agent in (("CA-waiting", None), ("CA-answered", "anna")):
        CallItem(
            call_sid=sid,
            shop_id="demo",
            direction="inbound",
            customer_phone="+380501112233",
            shop_number="+380441234567",
            status="in-progress",
            created_at=now - timedelta(seconds=100),
            queued_at=now - timedelta(seconds=90),
            agent_id=agent,
            wait_seconds=5 if agent else None,
            shop_day=f"demo#{day}",
        ).save()
    assert client.lambda_.invoke("call_stream", calls.next_event()).payload == {"batchItemFailures": []}

    # WHEN
    response = get_live(client)

    # THEN
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["shop_id"] == "demo"
    assert body["calls_waiting"] == 1
    assert 90 <= body["longest_wait_seconds"] < 150
    assert sorted(agent["id"] for agent in body["agents"]) == ["anna", "oleh"]
    assert sum(body["agents_by_status"].values()) == 2
    assert body["today"]["inbound_calls"] == 2 and body["today"]["inbound_answered"] == 1
    assert "today" not in json.loads(get_live(client, query="?kpis=false").body)
