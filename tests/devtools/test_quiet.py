"""``LocalStack.wait_quiet`` failing names what was still busy (#19: an e2e test's wait timed
out in CI with nothing to say why): here the streams' part, a record failing and waiting for
its retry; the stand-in's part is in tests/standin/test_browser_agents.py."""

from __future__ import annotations

import time
from typing import Any

from devtools.quiet import Quiet, poller_busy
from devtools.stream_poller import StreamConsumer


def test_a_record_that_keeps_failing_is_named_with_its_stream_and_tries(dynamodb, stream_table, run_poller) -> None:
    table, stream_arn = stream_table()
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "poison"}})
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls.append(1)
        raise RuntimeError("CRM unreachable")

    poller = run_poller(StreamConsumer("crm_outbox_stream", stream_arn, handler, retry_delay=600))
    deadline = time.monotonic() + 30
    while not (calls and any("failed" in line for line in poller_busy(poller))):
        assert time.monotonic() < deadline, f"the record was never delivered: {poller_busy(poller)}"
        time.sleep(0.02)

    [line] = poller_busy(poller)
    assert line.startswith("stream crm_outbox_stream shard ")
    assert "1 records waiting, record " in line and " failed 1 times, next try in " in line


def test_an_idle_poller_has_nothing_to_say_and_the_answer_is_true_only_when_nothing_is_busy() -> None:
    assert poller_busy(None) == []
    assert Quiet() and repr(Quiet()) == "Quiet()"
    busy = Quiet(("call CA1 outbound-api +380441234567 -> client:oleh ringing",))
    assert not busy
    assert repr(busy) == "NotQuiet(call CA1 outbound-api +380441234567 -> client:oleh ringing)"
