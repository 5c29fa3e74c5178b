"""Service time of the shop API and the Twilio webhooks, in-process against DynamoDB Local.

Every request goes through ``chalice.test.Client(app)`` as in the integration tests (JSON
posts with the shop's API key; Twilio webhooks form-encoded and signed over the public
URL), against a private DynamoDB Local holding the demo shop. Each round prepares fresh
data outside the timed region (a new order, and a new robot task taken through the real
services to "dialing" with a CallSid), then times one request per endpoint, in a shuffled
order, each followed by its floor: the very DynamoDB calls the app just made, replayed raw
through one boto3 client, plus a fixed TwiML string (``bench.raw_floor``). Figures are each
endpoint's median and p99 as multiples of its own floor's, and the DynamoDB requests each
call made, by operation (see ``bench.ddb_counter``).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from bench import raw_floor
from bench.ddb_counter import DynamoDBRequestCounter, Tally
from bench.stats import Summary, markdown_table, per_call

ROOT = Path(__file__).resolve().parent.parent
AUTH_TOKEN = "bench-auth-token"  # noqa: S105 - signs the bench's own requests to a local app
PUBLIC_BASE = "https://calls.example.test/api"
API_KEY = "demo-shop-key-0001"
SHOP_ID = "demo"
SHOP_NUMBER = "+380441234567"
CUSTOMER = "+380671234567"
ACCOUNT_SID = "AC00000000000000000000000000000000"
# A Monday, 12:00 in Kyiv: inside the demo shop's calling hours, so the dialer dials at once.
OPEN_HOURS = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)

ORDERS = "POST /v1/orders"
ORDERS_KEY = "POST /v1/orders + Idempotency-Key (new key)"
ORDERS_REPLAY = "POST /v1/orders + Idempotency-Key (replayed key)"
INCOMING = "POST /twilio/voice/incoming"
ANSWER = "POST /twilio/voice/robot/{task_id} (answer)"
KEYPRESS = "POST /twilio/voice/robot/{task_id}/keypress"
STATUS = "POST /twilio/voice/status?task_id= (completed)"
ENDPOINTS = (ORDERS, ORDERS_KEY, ORDERS_REPLAY, INCOMING, ANSWER, KEYPRESS, STATUS)
# Service calls made while preparing a round: their DynamoDB requests are counted, not timed.
DECIDE = "intake.decide_new_order (orders stream, new order queued)"
DIAL = "dialer.dial_task (tasks stream, call placed)"
COUNTED_ONLY = (DECIDE, DIAL)


class BenchmarkError(RuntimeError):
    """A request did not do what the benchmark meant it to do: its timing would be meaningless."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


# ---- requests -------------------------------------------------------------------------------


def order_body(order_number: str, phone: str = CUSTOMER) -> dict[str, Any]:
    return {
        "order_number": order_number,
        "phone": phone,
        "customer_name": "Olena Kovalenko",
        "items": [
            {"sku": "ROSE-RED-51", "name": "Red roses, 51", "quantity": 1, "price": "2450"},
            {"sku": "CARD", "name": "Greeting card", "quantity": 1, "price": "50"},
        ],
        "total": "2500",
        "delivery": {"address": "Kyiv, Khreshchatyk 1"},
        "comment": "Call before delivery",
    }


def twilio_params(call_sid: str, from_: str, to: str, direction: str, **extra: str) -> dict[str, str]:
    """The parameters Twilio posts to a voice webhook (blank geography included: it is signed too)."""
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Direction": direction,
        "Called": to,
        "Caller": from_,
        "From": from_,
        "To": to,
    }
    for who in ("Called", "Caller", "From", "To"):
        params.update({f"{who}City": "", f"{who}State": "", f"{who}Zip": "", f"{who}Country": "UA"})
    params.update(extra)
    return params


@dataclass
class Request:
    """One prepared HTTP request (signed if a webhook) and the check its response must pass."""

    name: str
    path: str
    headers: dict[str, str]
    body: str
    check: Callable[[Any], None]


def json_post(name: str, body: dict[str, Any], check: Callable[[Any], None], key: str | None = None) -> Request:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
    if key:
        headers["Idempotency-Key"] = key
    return Request(name, "/v1/orders", headers, json.dumps(body), check)


def signed_post(name: str, path: str, params: dict[str, str], check: Callable[[Any], None]) -> Request:
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + path, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return Request(name, path, headers, urlencode(params), check)


def _created(response: Any) -> None:
    _expect(response.status_code == 201, f"order not created: {response.status_code} {response.body[:300]!r}")
    _expect(str(response.json_body.get("id", "")).startswith("ord_"), "no order id in the response")


def _twiml_with(*fragments: str) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        body = response.body.decode("utf-8")
        _expect(response.status_code == 200, f"webhook answered {response.status_code}: {body[:300]}")
        missing = [fragment for fragment in fragments if fragment not in body]
        _expect(not missing, f"TwiML lacks {missing}: {body[:300]}")

    return check


def _gathers_to(action: str, *fragments: str) -> Callable[[Any], None]:
    """TwiML with ``fragments`` whose <Gather> posts the keypress to ``action``."""
    has_fragments = _twiml_with("<Gather", *fragments)

    def check(response: Any) -> None:
        import xml.etree.ElementTree as ET

        has_fragments(response)
        gather = ET.fromstring(response.body).find("./Gather")  # noqa: S314 - the app's own TwiML
        found = gather.get("action") if gather is not None else None
        _expect(found == action, f"the keypress goes to {found}, not {action}")

    return check


def _public_path(url: str) -> str:
    """The path and query of one of the app's public URLs, as the test client takes it."""
    _expect(url.startswith(PUBLIC_BASE), f"{url} is not under {PUBLIC_BASE}")
    return url[len(PUBLIC_BASE) :]


def _keypress_path(answer_path: str) -> str:
    """The keypress URL the answer's <Gather> names: the answer URL's path + /keypress, same query."""
    path, question, query = answer_path.partition("?")
    return f"{path}/keypress{question}{query}"


def _no_content(response: Any) -> None:
    _expect(response.status_code == 204, f"status callback answered {response.status_code}: {response.body[:300]!r}")


# ---- the run ----------------------------------------------------------------------------------


@dataclass
class Series:
    samples_ns: list[int] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    per_call_totals: set[int] = field(default_factory=set)
    attempts: int = 0
    wire: int = 0
    shapes: set[tuple[str, ...]] = field(default_factory=set)

    def add(self, elapsed_ns: int, tally: Tally) -> None:
        self.samples_ns.append(elapsed_ns)
        self.calls.update(tally.calls)
        self.per_call_totals.add(sum(tally.calls.values()))
        self.attempts += sum(tally.attempts.values())
        self.wire += sum(tally.wire.values())


@contextlib.contextmanager
def app_environment(ddb_env: dict[str, str]) -> Iterator[None]:
    """Point the app at DynamoDB Local with the bench's Twilio token and a fixed open-hours clock."""
    from chalicelib.adapters.dynamo.schema import reset_connections
    from chalicelib.clock import FixedClock, SystemClock, use_clock
    from chalicelib.config import reload_settings
    from chalicelib.wiring import forget_clients

    saved = dict(os.environ)
    os.environ.update(ddb_env)
    os.environ.update({"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": PUBLIC_BASE})

    def forget() -> None:
        reload_settings()
        reset_connections()
        forget_clients()

    forget()
    use_clock(FixedClock(OPEN_HOURS))
    try:
        yield
    finally:
        use_clock(SystemClock())
        os.environ.clear()
        os.environ.update(saved)
        forget()


@contextlib.contextmanager
def app_output_discarded() -> Iterator[None]:
    """The app's JSON log lines and metric blobs go to /dev/null (still formatted and written,
    as in Lambda), so the benchmark's own output stays readable."""
    from chalicelib.observability import logger

    handler = logger.registered_handler
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        previous = handler.setStream(sink) if isinstance(handler, logging.StreamHandler) else None
        try:
            yield
        finally:
            if previous is not None and isinstance(handler, logging.StreamHandler):
                handler.setStream(previous)


class _Bench:
    def __init__(self, counter: DynamoDBRequestCounter, seed: int) -> None:
        from chalice.test import Client

        import app as application
        from tests.fakes.twilio import FakeTelephony

        self.counter = counter
        self.rng = random.Random(seed)
        self.client = Client(application.app, project_dir=str(ROOT))
        self.raw_client = raw_dynamodb_client()
        self.telephony = FakeTelephony()
        self.series: dict[str, Series] = {name: Series() for name in ENDPOINTS}
        self.floors: dict[str, Series] = {name: Series() for name in ENDPOINTS}
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in COUNTED_ONLY}
        self.count_calls: Counter[str] = Counter()
        self.round_no = 0

    def _send(self, request: Request) -> Any:
        return self.client.http.post(request.path, headers=request.headers, body=request.body)

    def _timed(self, request: Request, record: bool) -> Any:
        """The app's request, then its floor: the same DynamoDB calls raw, and fixed TwiML."""
        recorded: list[raw_floor.Recorded] = []
        self.counter.recording = recorded
        try:
            with self.counter.measure() as tally:
                _settle()
                start = time.perf_counter_ns()
                response = self._send(request)
                elapsed = time.perf_counter_ns() - start
        finally:
            self.counter.recording = None
        request.check(response)
        prepared = raw_floor.prepare(recorded)
        with self.counter.measure() as floor_tally:
            _settle()
            start = time.perf_counter_ns()
            raw_floor.replay(self.raw_client, prepared)
            floor_elapsed = time.perf_counter_ns() - start
        if record:
            self.series[request.name].add(elapsed, tally[0])
            self.series[request.name].shapes.add(tuple(call.shape() for call in recorded))
            self.floors[request.name].add(floor_elapsed, floor_tally[0])
        return response

    @contextlib.contextmanager
    def _counted(self, name: str, record: bool) -> Iterator[None]:
        """Count (never time) the DynamoDB requests of an untimed service call."""
        with self.counter.measure() as tally:
            yield
        if record:
            self.counts[name].update(tally[0].calls)
            self.count_calls[name] += 1

    def _dialing_task(self, record: bool) -> tuple[str, str, dict[str, Any]]:
        """A fresh order taken through the real services to a robot task in "dialing" with a
        CallSid; also the call as placed (its answer and status URLs, which Twilio calls)."""
        from chalicelib.clock import current_clock
        from chalicelib.domain.orders import OrderIn
        from chalicelib.services import dialer, intake
        from chalicelib.wiring import repository, urls

        store, now = repository(), current_clock().now()
        shop = store.get_shop(SHOP_ID)
        _expect(shop is not None, "the demo shop is not loaded")
        assert shop is not None
        order_in = OrderIn.model_validate(order_body(f"R-{self.round_no}"))
        order_id = intake.new_order_id(now, intake.stored_phone(shop, order_in))
        order = intake.accept_order(shop, order_in, store=store, now=now, order_id=order_id)
        with self._counted(DECIDE, record):
            outcome = intake.decide_new_order(shop, order.order_id, store=store, tasks=store, now=now)
        _expect(outcome == "queued", f"order {order.order_id} was decided {outcome!r}, not queued")
        decided = store.get_order(SHOP_ID, order.order_id)
        assert decided is not None and decided.task_id is not None
        task_id = decided.task_id
        with self._counted(DIAL, record):
            call_sid = dialer.dial_task(shop, task_id, store=store, telephony=self.telephony, urls=urls(), now=now)
        _expect(call_sid is not None, f"task {task_id} was not dialled")
        assert call_sid is not None
        return task_id, call_sid, self.telephony.placed[-1]

    def _task_finished(self, task_id: str) -> None:
        from chalicelib.wiring import repository

        task = repository().get_task(task_id)
        _expect(task is not None and (task.state, task.result) == ("done", "confirmed"), f"task {task_id}: {task}")

    def round(self, record: bool) -> None:
        self.round_no += 1
        n = self.round_no
        # Prepared outside the timed region: bodies, keys, signatures, the dialing task, and the
        # first use of the key that is then replayed.
        replay_key, replay_body = f"bench-replay-{n}", order_body(f"K-{n}")
        first = self._send(json_post(ORDERS_KEY, replay_body, _created, key=replay_key))
        _created(first)
        first_id = first.json_body["id"]

        def same_order(response: Any) -> None:
            _created(response)
            _expect(response.json_body["id"] == first_id, "a replayed Idempotency-Key created another order")

        task_id, call_sid, placed = self._dialing_task(record)
        # Twilio posts to the URLs the app gave it: the answer and status URLs of the placed call,
        # and the <Gather> action of the answer's TwiML (checked to be the URL posted here).
        answer_path, status_path = _public_path(placed["answer_url"]), _public_path(placed["status_url"])
        keypress_path = _keypress_path(answer_path)
        outbound = twilio_params(call_sid, SHOP_NUMBER, CUSTOMER, "outbound-api")
        inbound = twilio_params(f"CA{n:032x}", CUSTOMER, SHOP_NUMBER, "inbound", CallStatus="ringing")
        status = {**outbound, "CallStatus": "completed", "CallDuration": "37", "SequenceNumber": "3"}
        units: list[list[Request]] = [
            [json_post(ORDERS, order_body(f"N-{n}"), _created)],
            [json_post(ORDERS_KEY, order_body(f"I-{n}"), _created, key=f"bench-new-{n}")],
            [json_post(ORDERS_REPLAY, replay_body, same_order, key=replay_key)],
            [signed_post(INCOMING, "/twilio/voice/incoming", inbound, _twiml_with("<Gather", "<Say"))],
            [
                signed_post(
                    ANSWER,
                    answer_path,
                    {**outbound, "AnsweredBy": "human"},
                    _gathers_to(PUBLIC_BASE + keypress_path, f"R-{n}"),
                ),
                signed_post(
                    KEYPRESS,
                    keypress_path,
                    {**outbound, "Digits": "1"},
                    _twiml_with("<Say", "<Hangup"),
                ),
                signed_post(STATUS, status_path, status, _no_content),
            ],
        ]
        self.rng.shuffle(units)  # the robot call's three webhooks stay in the order Twilio sends them
        for unit in units:
            for request in unit:
                self._timed(request, record)
        self._task_finished(task_id)


def _settle() -> None:
    """Untimed, right before each timed call, the app's and its floor's alike: collect what the
    harness left behind (the round's preparation, the previous call's response and records), so
    a collection the harness's own garbage made due does not land in whichever call comes next
    (always an app's call after the preparation). A collection the timed call's own allocations
    trigger still happens inside it and counts. Cheap: the loaded modules were frozen out of
    the collector's sight after the warm-up (``_freeze``)."""
    gc.collect()


def _freeze() -> None:
    """Move everything alive now (the app's modules, clients, caches) to the permanent
    generation, so the full collection of ``_settle`` walks only what was made since."""
    gc.collect()
    gc.freeze()


def raw_dynamodb_client() -> Any:
    """One plain boto3 client, pointed at DynamoDB Local by the environment as the app's is."""
    import boto3

    return boto3.client("dynamodb")


def run(
    iterations: int = 300, warmup: int = 50, seed: int = 20261123, progress: TextIO | None = None
) -> dict[str, Any]:
    """Measure; return the result document (see ``render`` for its table)."""
    from devtools.dynamodb_local import DynamoDBLocal

    out = progress or sys.stderr
    counter = DynamoDBRequestCounter()
    with counter, DynamoDBLocal() as ddb, app_environment(ddb.env()), app_output_discarded():
        from chalicelib.adapters.dynamo.schema import create_tables
        from chalicelib.clock import current_clock
        from chalicelib.services.admin import load_config
        from chalicelib.wiring import repository

        create_tables()
        load_config(ROOT / "config" / "demo.toml", store=repository(), now=current_clock().now())
        bench = _Bench(counter, seed)
        print(f"service_time: {warmup} warm-up rounds, then {iterations} measured", file=out, flush=True)
        for _ in range(warmup):
            bench.round(record=False)
        _freeze()
        try:
            for done in range(1, iterations + 1):
                bench.round(record=True)
                if done % 50 == 0:
                    print(f"service_time: {done}/{iterations}", file=out, flush=True)
        finally:
            gc.unfreeze()
        hooked = counter.hooked_clients
    document = _document(bench.series, bench.floors, iterations, warmup, seed, hooked)
    document["counted_only"] = {
        name: {
            "dynamodb_requests_per_call": round(sum(bench.counts[name].values()) / bench.count_calls[name], 2),
            "dynamodb_requests_by_operation": per_call(dict(bench.counts[name]), bench.count_calls[name]),
        }
        for name in COUNTED_ONLY
    }
    return document


TARGET_P99_VS_FLOOR = 1.5


def _document(
    series: dict[str, Series], floors: dict[str, Series], iterations: int, warmup: int, seed: int, hooked: int
) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    for name in ENDPOINTS:
        s, f = series[name], floors[name]
        calls = len(s.samples_ns)
        if f.calls != s.calls:
            raise BenchmarkError(f"{name}: the floor made {dict(f.calls)}, the app {dict(s.calls)}")
        summary, floor_summary = Summary.of(s.samples_ns), Summary.of(f.samples_ns)
        median_ratio, p99_ratio = summary.ratio_to(floor_summary)
        endpoints[name] = {
            "median_vs_floor": median_ratio,
            "p99_vs_floor": p99_ratio,
            "target_p99_vs_floor": TARGET_P99_VS_FLOOR,
            "target_met": p99_ratio <= TARGET_P99_VS_FLOOR,
            "dynamodb_requests_per_call": round(sum(s.calls.values()) / calls, 2),
            "dynamodb_requests_by_operation": per_call(dict(s.calls), calls),
            "dynamodb_requests_same_every_call": len(s.per_call_totals) == 1,
            "dynamodb_requests_shapes": sorted(" -> ".join(shape) for shape in s.shapes),
            "dynamodb_http_retries": s.attempts - sum(s.calls.values()),
            "context_only_ms": {
                "median": round(summary.median / 1e6, 3),
                "p99": round(summary.p99 / 1e6, 3),
                "floor_median": round(floor_summary.median / 1e6, 3),
                "floor_p99": round(floor_summary.p99 / 1e6, 3),
            },
        }
    wire_agrees = all(s.wire == s.attempts for s in (*series.values(), *floors.values()))
    if not wire_agrees:
        raise BenchmarkError("DynamoDB requests seen on the wire differ from those the client hooks counted")
    return {
        "benchmark": "service_time",
        "what": "in-process Chalice test client against DynamoDB Local; each endpoint's floor is the same "
        "DynamoDB calls the app made for that request, replayed raw through one boto3 client right after "
        "it, plus a fixed TwiML string (bench/raw_floor.py), in the same process and run",
        "iterations": iterations,
        "warmup_rounds": warmup,
        "shuffle_seed": seed,
        "percentiles": "linear interpolation between closest ranks",
        "target_p99_vs_floor": TARGET_P99_VS_FLOOR,
        "endpoints": endpoints,
        "request_counting": {
            "method": "before-call/before-send hooks on every botocore DynamoDB client, cross-checked "
            "against X-Amz-Target at botocore's HTTP session",
            "wire_matches_hooks": wire_agrees,
            "hooked_clients": hooked,
        },
    }


def render(document: dict[str, Any]) -> str:
    rows = []
    for name, figures in document["endpoints"].items():
        total = figures["dynamodb_requests_per_call"]
        ms = figures["context_only_ms"]
        rows.append(
            [
                name,
                f"{total:g}" if figures["dynamodb_requests_same_every_call"] else f"{total:g} (varies)",
                _ops(figures["dynamodb_requests_by_operation"]),
                f"{ms['floor_p99']:.1f}",
                f"{ms['p99']:.1f}",
                figures["median_vs_floor"],
                figures["p99_vs_floor"],
            ]
        )
    headers = ["Endpoint", "DynamoDB requests", "by operation", "floor p99 ms", "app p99 ms"]
    table = markdown_table([*headers, "median × floor", "p99 × floor"], rows)
    counted = markdown_table(
        ["Service call (untimed)", "DynamoDB requests / call", "by operation"],
        [
            [name, f"{f['dynamodb_requests_per_call']:g}", _ops(f["dynamodb_requests_by_operation"])]
            for name, f in document.get("counted_only", {}).items()
        ],
    )
    return (
        f"### Webhook and API service time ({document['iterations']} calls each, after "
        f"{document['warmup_rounds']} warm-up rounds)\n\n{table}\n\n"
        f"Floor: the same DynamoDB calls raw through boto3 + fixed TwiML; target p99 × floor "
        f"<= {document['target_p99_vs_floor']}. Milliseconds are context only: compare the ratios.\n\n{counted}"
    )


def _ops(by_operation: dict[str, float]) -> str:
    return ", ".join(f"{op} {count:g}" for op, count in by_operation.items())
