"""The local stack (DynamoDB Local, the app on loopback, stream poller, scheduler, SES sink,
Twilio stand-in), one per test module, on a simulated clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, DialTaskItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from chalicelib.clock import wall_now
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions
from tests.storage_stamps import assert_ttl_stamped_by_the_wall_clock

API_KEY = "demo-shop-key-0001"
MONDAY_NOON_KYIV = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


@pytest.hookimpl(tryfirst=True)  # before xdist turns xdist_group marks into scheduling groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One worker runs every e2e test: the stack changes process-wide settings while it runs.
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(MONDAY_NOON_KYIV, speed=1.0)
    outbox = tmp_path_factory.mktemp("outbox")
    started = wall_now()
    with LocalStack(StackOptions(clock=clock, outbox_dir=Path(outbox))) as local:
        yield local
        assert_ttl_stamped_by_the_wall_clock(local.dynamodb.client("dynamodb"), started)


@pytest.fixture
def clock(stack: LocalStack) -> SimClock:
    assert isinstance(stack.options.clock, SimClock)
    return stack.options.clock


class ShopApi:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {API_KEY}"

    def post_order(self, body: dict[str, Any], key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.session.post(f"{self.base_url}/v1/orders", json=body, headers=headers, timeout=15)

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/v1/orders/{order_id}", timeout=15)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def shop_api(stack: LocalStack) -> ShopApi:
    return ShopApi(stack.api_url)


def fresh_inbound_day(clock: SimClock, *, wrap_up_seconds: int = 0) -> None:
    """The demo shop's agents both offline and free of reservations, nobody queued, no callback
    of an earlier test waiting for an agent (it would take the agent a test counts on), and the
    given wrap-up: where every inbound-call test starts."""
    store = dynamo_store()
    shop = store.get_shop("demo")
    assert shop is not None
    inbound = shop.inbound.model_copy(update={"wrap_up_seconds": wrap_up_seconds})
    store.save_shop(shop.model_copy(update={"inbound": inbound}), clock.now())
    for agent_id in ("anna", "oleh"):
        AgentItem("demo", agent_id).update(
            actions=[AgentItem.status.set("offline"), AgentItem.reserved_call_sid.remove()]
        )
    for entry in store.queue_entries("demo", "sales"):
        store.remove_queue_entry("demo", "sales", entry.queued_at, entry.ref)
    for due in store.due_tasks("demo", "callback", clock.now() + timedelta(days=365), 100):
        DialTaskItem(due.task_id).update(actions=[DialTaskItem.queue_key.remove(), DialTaskItem.state.set("done")])
