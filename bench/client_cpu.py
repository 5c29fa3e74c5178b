"""The app's own CPU per DynamoDB request, around botocore's HTTP send (#19).

``python -m bench.client_cpu [--requests N] [--rounds N]`` prints, for each pair, the CPU time
(``time.process_time``) per request of the way before and the way now, measured in the same
process, interleaved round by round, and their ratio:

- ``user agent``: a GetItem through a client with botocore's default User-Agent (a structured
  header rebuilt twice a request) and through the app's shared client (one fixed string,
  ``connection.user_agent()``);
- ``update_call`` and ``apply_call_status``: the call record's updates through
  ``CallItem.update`` (PynamoDB's actions, conditions and ALL_NEW deserialisation, the code
  before #19) and through the repository's raw UpdateItem.

Every request is answered in-process by a canned DynamoDB answer at botocore's ``before-send``
event, after the request was built, serialised and signed, so the figures are the app's and
botocore's CPU without a network or a database (moto only creates the tables first). Only the
ratios mean something across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse

T0 = datetime(2003, 6, 2, 9, 30, tzinfo=UTC)  # a fixed business time
CALL_SID = "CAbench"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def _canned(answers: dict[str, dict[str, Any]]) -> Callable[..., AWSResponse]:
    """A ``before-send`` handler answering each operation (by X-Amz-Target) with its body."""
    bodies = {operation: json.dumps(body).encode() for operation, body in answers.items()}

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[1]
        headers = {"x-amzn-RequestId": "bench", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, _Raw(bodies[operation]))

    return answer


def _cpu_per_call(work: Callable[[], object], requests: int) -> float:
    start = time.process_time()
    for _ in range(requests):
        work()
    return (time.process_time() - start) / requests


@contextmanager
def _tables() -> Iterator[None]:
    """Moto's tables while the call is first stored and the clients learn the table's schema;
    the timed requests come after, moto's stubber off (it would answer them too)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
    }.items():
        os.environ[name] = value
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)
    from moto import mock_aws

    from chalicelib.adapters.dynamo.schema import create_tables, reset_connections

    reset_connections()
    with mock_aws():
        create_tables(wait=False)
        yield


def _pairs() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """The requests of each pair, before and now, all answered by canned answers."""
    import botocore.session
    from botocore.config import Config

    from chalicelib.adapters.dynamo.items import setting, updated
    from chalicelib.adapters.dynamo.schema import CallItem
    from chalicelib.domain.entities import Call
    from chalicelib.wiring import repository

    store = repository()
    call = Call(
        call_sid=CALL_SID,
        shop_id="demo",
        direction="inbound",
        customer_phone="+380671112233",
        shop_number="+380441234567",
        created_at=T0,
        day="2003-06-02",
        status="ringing",
    )
    store.upsert_call(call, group="sales", language="uk")
    shared = CallItem._get_connection().connection.client
    item = shared.get_item(TableName=CallItem.Meta.table_name, Key={"call_sid": {"S": CALL_SID}})["Item"]
    answers = {"GetItem": {"Item": item}, "UpdateItem": {"Attributes": item}}
    # botocore's default header: the client PynamoDB builds, from a session of its own
    default_client = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="eu-central-1",
        config=Config(parameter_validation=False, retries={"mode": "standard", "total_max_attempts": 4}),
    )
    for client in (shared, default_client):
        client.meta.events.register_first("before-send.dynamodb", _canned(answers))
    key = {"TableName": CallItem.Meta.table_name, "Key": {"call_sid": {"S": CALL_SID}}}

    def reference_update_call() -> None:
        CallItem(CALL_SID).update(
            actions=setting(CallItem, {"on_hold": True, "result": "queued"}), condition=CallItem.call_sid.exists()
        )

    def reference_apply_call_status() -> None:
        condition = CallItem.last_sequence.does_not_exist() | (CallItem.last_sequence < 3)
        actions = [CallItem.last_sequence.set(3), *setting(CallItem, {"status": "in-progress"})]
        updated(CallItem(CALL_SID), actions=actions, condition=condition)

    reference_update_call()  # the table's schema learnt while moto answers
    return {
        "user agent (GetItem)": (lambda: default_client.get_item(**key), lambda: shared.get_item(**key)),
        "update_call": (reference_update_call, lambda: store.update_call(CALL_SID, on_hold=True, result="queued")),
        "apply_call_status": (
            reference_apply_call_status,
            lambda: store.apply_call_status(CALL_SID, 3, status="in-progress"),
        ),
    }


def measure(requests: int, rounds: int) -> dict[str, dict[str, float]]:
    from chalicelib.adapters.dynamo.schema import reset_connections

    with _tables():
        pairs = _pairs()
    totals = {name: [0.0, 0.0] for name in pairs}
    for before, now in pairs.values():  # warm-up: caches, first-use imports
        _cpu_per_call(before, 20)
        _cpu_per_call(now, 20)
    for _ in range(rounds):
        for name, (before, now) in pairs.items():
            totals[name][0] += _cpu_per_call(before, requests)
            totals[name][1] += _cpu_per_call(now, requests)
    reset_connections()
    return {
        name: {
            "before_us": before * 1e6 / rounds,
            "now_us": now * 1e6 / rounds,
            "now_over_before": now / before,
        }
        for name, (before, now) in totals.items()
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.client_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per timed batch")
    parser.add_argument("--rounds", type=int, default=5, help="batches of each, interleaved")
    args = parser.parse_args(argv)
    figures = measure(args.requests, args.rounds)
    print("| Request | before µs CPU | now µs CPU | now / before |")
    print("|---|---:|---:|---:|")
    for name, row in figures.items():
        print(f"| {name} | {row['before_us']:.0f} | {row['now_us']:.0f} | {row['now_over_before']:.2f} |")


if __name__ == "__main__":
    main()
