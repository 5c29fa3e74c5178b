"""The live_alerts schedule with many shops (#19): the shops with calls today (found through the
live counters the calls stream keeps) are checked, the others never read; a queue over the
shop's limit is alerted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo.items import day_key
from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from chalicelib.events import live, reports
from chalicelib.wiring import repository
from tests.integration.conftest import StreamReader
from tests.integration.test_alerts_moto import NOW, aws, sent, shop  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_live_alerts_check_the_shops_with_calls_today_only(aws: None) -> None:  # noqa: F811
    # GIVEN ten shops with a queue-wait limit of 60 s, and a caller waiting 95 s at one of them
    use_clock(FixedClock(NOW))
    try:
        acme = shop()
        for n in range(10):
            repository().save_shop(acme.model_copy(update={"shop_id": f"quiet-{n}"}), NOW)
        repository().save_shop(acme, NOW)
        calls = StreamReader(CallItem.Meta.table_name)
        CallItem(
            "CA-waiting",
            shop_id="acme",
            direction="inbound",
            customer_phone="+380501112233",
            shop_number="+380441234567",
            status="in-progress",
            created_at=NOW - timedelta(seconds=100),
            queued_at=NOW - timedelta(seconds=95),
            shop_day=day_key("acme", NOW.astimezone(acme.zone).date().isoformat()),
        ).save()
        assert live.call_stream(calls.next_event(), None) == {"batchItemFailures": []}

        # WHEN the minute's live_alerts runs
        run = reports.live_alerts(None)

        # THEN only that shop was checked, and its managers got the queue-wait alert
        assert run.visited == ["acme"] and run.failed == []
        (message,) = sent()
        assert set(message.destinations) == {"manager@acme.example"}  # type: ignore[attr-defined]
    finally:
        use_wall_clock()
