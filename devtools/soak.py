"""Fault-injection soak (issue #9): the local stack (DynamoDB Local, the app on loopback, the
stream poller, the Twilio stand-in, the SES sink) driven hard while things fail, then every
order, task, call, text and report counted.

* **Orders**: ``orders`` POSTs from ``senders`` threads to two shops (dedup variant A and B):
  30% exact repeats (same Idempotency-Key and body), 10% variant-B near-duplicates (the same
  phone, another order). 5% of DynamoDB calls fail (throttled, 500, connect timeout, or a read
  timeout *after* DynamoDB applied the write, so botocore's retry meets its own write as a
  conditional-check race), injected through botocore's ``before-send`` hook; 10% of stream
  batches are delivered again after being handled, and one handler crashes mid-batch.
  Every accepted order must end in exactly one dial task or as a duplicate naming a stored order.
* **Calls**: ``customers`` robot tasks dialed while 10% of Twilio REST requests fail (429, 503,
  connect timeout, or a read timeout after the call was placed) and the DynamoDB faults go on:
  each customer is dialed exactly as often as their attempts allow, every task ends, every
  unreached customer is texted exactly once, every confirmed one gets one delivery notice.
  Then every status callback is sent again, in reverse order: call records, tasks and orders
  must not change.
* **Reports**: the report schedule fired twice at once while SES throttles half the requests,
  failed firings retried as Lambda retries them: exactly one email per shop and day.

``python -m devtools.soak`` (``make soak``) runs the large size and prints the figures; the
quick size runs in ``make test`` (tests/reliability/test_soak.py). Exit status 1 when a
guarantee failed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import logging
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from devtools.simclock import SimClock
from devtools.stack import LOCAL_AUTH_TOKEN

# 2015-11-23 00:30 UTC: 02:30 in Kyiv (the order shops' customers are not called at night)
# and 19:30 in New York (the call shop's customers are).
START = datetime(2015, 11, 23, 0, 30, tzinfo=UTC)
SHOP_A, KEY_A = "demo", "demo-shop-key-0001"
SHOP_B, KEY_B = "soak-b", "soak-shop-b-key-0001"
SHOP_C, KEY_C = "soak-calls", "soak-shop-c-key-0001"
BEHAVIOURS = {"confirms": 0.55, "cancels": 0.15, "busy": 0.15, "no-answer": 0.15}
# A shop's client: a 5xx or a dropped connection retried up to MAX_TRIES times; a 409
# request_in_progress for 5 minutes (five of the local stack's 60 s invocations: one lost
# idempotency write holds the key for one, and the write taking it over can lose its answer too).
MAX_TRIES = 30
IN_PROGRESS_PATIENCE_SECONDS = 300.0


@dataclass
class SoakOptions:
    orders: int = 1000
    senders: int = 8
    exact_repeats: float = 0.30
    near_duplicates: float = 0.10
    dynamodb_fault_rate: float = 0.05
    redelivery_rate: float = 0.10
    customers: int = 60
    twilio_fault_rate: float = 0.10
    ses_throttle_rate: float = 0.5
    seed: int = 9


# ---- faults --------------------------------------------------------------------------------
class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _aws_error(status: int, code: str, json_protocol: bool) -> Any:
    from botocore.awsrequest import AWSResponse

    if json_protocol:
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    else:  # SES speaks the query protocol: XML errors
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
            "<RequestId>injected</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    return AWSResponse("https://injected", status, headers, _Raw(body))


class AwsFaults:
    """Fails a share of the requests botocore clients send to one service, through the
    ``before-send`` event every client emits: what the app's retries and conditions see is what
    DynamoDB or SES would answer."""

    def __init__(self, service: str, rate: float, kinds: tuple[str, ...], seed: int) -> None:
        self.service, self.rate, self.kinds = service, rate, kinds
        self.active = False
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._http: Any = None

    def attach(self, client: Any) -> None:
        client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}", self._send)

    def _pick(self) -> str | None:
        with self._lock:
            self.requests += 1
            if not self.active or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.counts[kind] += 1
            return kind

    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        kind = self._pick()
        json_protocol = self.service == "dynamodb"
        if kind is None:
            return None
        if kind == "throttled":
            code = "ProvisionedThroughputExceededException" if json_protocol else "Throttling"
            return _aws_error(400, code, json_protocol)
        if kind == "server-error":
            return _aws_error(500, "InternalServerError" if json_protocol else "InternalFailure", json_protocol)
        if kind == "connect-timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        # The request reached the service and was applied; its answer was lost on the way back.
        from botocore.httpsession import URLLib3Session

        with self._lock:
            self._http = self._http or URLLib3Session()
        self._http.send(request)
        raise ReadTimeoutError(endpoint_url=request.url)


class TwilioFaults:
    """Fails a share of the Twilio SDK's REST requests: 429 and 503 answers (nothing done), a
    connect timeout (nothing sent), or a read timeout after Twilio did it (the call exists)."""

    KINDS = ("429", "503", "connect-timeout", "timeout-after-placed")

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.active = False
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def wrap(self, request: Callable[..., Any]) -> Callable[..., Any]:
        from twilio.http.response import Response

        def faulty(client: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.requests += 1
                kind = self._rng.choice(self.KINDS) if self.active and self._rng.random() < self.rate else None
                if kind:
                    self.counts[kind] += 1
            if kind in ("429", "503"):
                body = {"code": 20429 if kind == "429" else 20500, "message": "injected", "status": int(kind)}
                return Response(int(kind), json.dumps(body))
            if kind == "connect-timeout":
                raise requests.ConnectTimeout("injected: no connection")
            response = request(client, method, url, *args, **kwargs)
            if kind == "timeout-after-placed":
                raise requests.ReadTimeout("injected: Twilio's answer was lost")
            return response

        return faulty


class StreamFaults:
    """Wraps a stream handler as Lambda's event source mapping may misbehave: a share of batches
    handled and then delivered again (the invocation "failed" after its work was done), and once
    a crash halfway through a batch."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.active = False
        self.redelivered = 0
        self.crashed = 0
        self._rng = random.Random(seed)
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def wrap(self, handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
        def faulty(event: dict[str, Any], context: Any) -> Any:
            records = event.get("Records") or []
            first = records[0]["dynamodb"]["SequenceNumber"] if records else ""
            with self._lock:
                fresh = self.active and bool(records) and first not in self._seen
                self._seen.add(first)
                crash = fresh and not self.crashed and len(records) >= 2
                redeliver = fresh and not crash and self._rng.random() < self.rate
                self.crashed += crash
                self.redelivered += redeliver
            if crash:
                handler({**event, "Records": records[: len(records) // 2]}, context)
                raise RuntimeError("injected: handler crashed mid-batch")
            response = handler(event, context)
            if redeliver:
                raise RuntimeError("injected: batch handled, delivered again")
            return response

        return faulty


class _FastBackoff:
    """botocore sleeps between retries; the soak shortens those sleeps 20x (same retries, same
    order of events) so its minutes go to work, not to waiting."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        self._real.sleep(seconds / 20)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def injected(dynamodb: AwsFaults, ses: AwsFaults, twilio: TwilioFaults) -> Iterator[None]:
    """Attach the faults to every botocore client created meanwhile and to the Twilio SDK."""
    import botocore.endpoint
    import botocore.session
    from twilio.http.http_client import TwilioHttpClient

    create_client = botocore.session.Session.create_client
    twilio_request = TwilioHttpClient.request
    real_time = botocore.endpoint.time

    def create_and_attach(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(session, service_name, *args, **kwargs)
        for faults in (dynamodb, ses):
            if service_name == faults.service:
                faults.attach(client)
        return client

    botocore.session.Session.create_client = create_and_attach
    TwilioHttpClient.request = twilio.wrap(twilio_request)
    botocore.endpoint.time = _FastBackoff(real_time)
    try:
        yield
    finally:
        botocore.session.Session.create_client = create_client
        TwilioHttpClient.request = twilio_request
        botocore.endpoint.time = real_time


# ---- logs ------------------------------------------------------------------------------------
class LogWatch(logging.Handler):
    """Every log line written meanwhile (the app's JSON lines, formatted by Powertools' own
    formatter, and the libraries' lines with their tracebacks), searched for a customer's full
    phone number, an API key or the Twilio auth token; written to ``log_file`` if given."""

    _DIGITS = re.compile(r"\+?\d[\d\s().-]{7,}\d")

    def __init__(self, secrets: list[str], log_file: Path | None) -> None:
        super().__init__(level=logging.INFO)
        self.secrets = secrets
        self.phones: set[str] = set()  # customers' numbers, digits only with the country code
        self.lines = 0
        self.leaks: list[str] = []
        self._file = log_file.open("a", encoding="utf-8") if log_file else None

    def leaked(self, line: str) -> str | None:
        for secret in self.secrets:
            if secret in line:
                return "a secret"
        for match in self._DIGITS.finditer(line):
            digits = re.sub(r"\D", "", match.group(0))
            if digits in self.phones or ("380" + digits[1:]) in self.phones:
                return "a phone number"
        return None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is not written anywhere either
            return
        with self.lock or contextlib.nullcontext():
            self.lines += 1
            # What would run in Lambda is checked; the local stand-ins (Twilio, Lambda's poller)
            # play the outside world, whose logs may name the numbers they dial.
            what = None if record.name.startswith("devtools.") else self.leaked(line)
            if what and len(self.leaks) < 5:
                self.leaks.append(f"{what}: {line[:300]}")
            elif what:
                self.leaks.append(what)
            if self._file:
                self._file.write(line + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()
        super().close()


@contextmanager
def watched_logs(watch: LogWatch) -> Iterator[None]:
    """The app's logger (Powertools) and the root logger write to ``watch`` instead of the
    terminal, at INFO, as in Lambda."""
    import chalicelib.observability  # noqa: F401  # the app's Powertools logger exists before its handlers are swapped

    app_logger, root = logging.getLogger("callcenter"), logging.getLogger()
    saved = (app_logger.handlers[:], app_logger.level, app_logger.propagate, root.handlers[:], root.level)
    app_watch = LogWatch(watch.secrets, None)
    app_watch.phones, app_watch.leaks = watch.phones, watch.leaks
    if saved[0] and saved[0][0].formatter:
        app_watch.setFormatter(saved[0][0].formatter)  # Powertools' JSON lines, extras included
    app_logger.handlers, app_logger.propagate = [app_watch], False
    app_logger.setLevel(logging.INFO)
    watch.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.handlers = [watch]
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        watch.lines += app_watch.lines
        app_logger.handlers, app_logger.level, app_logger.propagate = saved[0], saved[1], saved[2]
        root.handlers, root.level = saved[3], saved[4]


# ---- the plan of orders ----------------------------------------------------------------------
@dataclass(frozen=True)
class OrderPost:
    shop_id: str
    api_key: str
    key: str
    body: dict[str, Any]
    kind: str  # new, repeat, near-duplicate


def _phone_forms(number: int, rng: random.Random) -> str:
    digits = f"{number:07d}"
    return rng.choice(
        [
            f"067 {digits[:3]}-{digits[3:5]}-{digits[5:]}",
            f"+380 (67) {digits}",
            f"38067{digits}",
            f"+38067{digits}",
        ]
    )


def plan_orders(options: SoakOptions) -> list[OrderPost]:
    rng = random.Random(options.seed)
    repeats = int(options.orders * options.exact_repeats)
    near = int(options.orders * options.near_duplicates)
    new = options.orders - repeats - near
    customers_a = max(1, int(new / 2 * 0.7))  # shop A: some customers order twice (one task)
    posts: list[OrderPost] = []
    originals_b: list[OrderPost] = []
    for index in range(new):
        shop_b = index % 2 == 1
        phone = 2_000_000 + index if shop_b else 1_000_000 + rng.randrange(customers_a)
        body = {
            "order_number": f"S-{index:06d}",
            "phone": _phone_forms(phone, rng),
            "customer_name": rng.choice(["Olena", "Taras", "Iryna", "Ostap", "Mariia"]),
            "items": [{"sku": "ROSE-RED", "name": "Red roses", "quantity": 3, "price": "85.00"}],
            "total": "255.00",
        }
        post = OrderPost(SHOP_B if shop_b else SHOP_A, KEY_B if shop_b else KEY_A, f"soak-{index}", body, "new")
        posts.append(post)
        if shop_b:
            originals_b.append(post)
    for index in range(near):
        original = rng.choice(originals_b)
        digits = int("".join(c for c in original.body["phone"] if c.isdigit())[-7:])
        body = {**original.body, "order_number": f"N-{index:06d}", "phone": _phone_forms(digits, rng)}
        posts.insert(rng.randrange(len(posts) + 1), OrderPost(SHOP_B, KEY_B, f"near-{index}", body, "near-duplicate"))
    for _ in range(repeats):
        at = rng.randrange(len(posts))
        original = posts[rng.randrange(at + 1)]
        posts.insert(at + 1, OrderPost(original.shop_id, original.api_key, original.key, original.body, "repeat"))
    return posts


# ---- results ----------------------------------------------------------------------------------
@dataclass
class Figures:
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def lines(self) -> list[str]:
        width = max(len(name) for name in self.figures) if self.figures else 0
        lines = [f"  {name:<{width}}  {value}" for name, value in self.figures.items()]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems] or ["  every guarantee held"]
        return lines


class Soak:
    def __init__(self, options: SoakOptions, *, outbox: Path, log_file: Path | None = None) -> None:
        self.options = options
        self.outbox = outbox
        self.logs = LogWatch([KEY_A, KEY_B, KEY_C, LOCAL_AUTH_TOKEN], log_file)
        seed = options.seed
        self.dynamodb_faults = AwsFaults(
            "dynamodb",
            options.dynamodb_fault_rate,
            ("throttled", "server-error", "connect-timeout", "timeout-after-write"),
            seed,
        )
        self.ses_faults = AwsFaults("ses", options.ses_throttle_rate, ("throttled",), seed + 1)
        self.twilio_faults = TwilioFaults(options.twilio_fault_rate, seed + 2)
        self.stream_faults = StreamFaults(options.redelivery_rate, seed + 3)
        self.clock = SimClock(START, speed=0)
        self.result = Figures()
        self.stack: Any = None

    # -- running ------------------------------------------------------------------------------
    def run(self) -> Figures:
        from devtools.stack import StackOptions

        stack_options = StackOptions(clock=self.clock, outbox_dir=self.outbox, run_schedules=False)
        # The soak's clock stands still while it settles: Twilio's calls-per-second pacing is not
        # under test here, so every placement of one instant gets a slot.
        calls_per_second = os.environ.get("TWILIO_CALLS_PER_SECOND")
        os.environ["TWILIO_CALLS_PER_SECOND"] = "100"
        try:
            return self._run(stack_options)
        finally:
            if calls_per_second is None:
                os.environ.pop("TWILIO_CALLS_PER_SECOND", None)
            else:
                os.environ["TWILIO_CALLS_PER_SECOND"] = calls_per_second

    def _run(self, stack_options: Any) -> Figures:
        from devtools.stack import LocalStack

        with (
            injected(self.dynamodb_faults, self.ses_faults, self.twilio_faults),
            watched_logs(self.logs),
            LocalStack(stack_options) as stack,
        ):
            self.stack = stack
            self._add_shops()
            assert stack.poller is not None
            for consumer in stack.poller.consumers:
                consumer.handler = self.stream_faults.wrap(consumer.handler)
            self._faults(on=True)
            started = time.monotonic()
            self._orders_phase()
            self.result.figures["orders phase, seconds"] = round(time.monotonic() - started, 1)
            started = time.monotonic()
            self._calls_phase()
            self.result.figures["calls phase, seconds"] = round(time.monotonic() - started, 1)
            self._reports_phase()
            self._faults(on=False)
            self.result.figures["DynamoDB requests / failed"] = (
                f"{self.dynamodb_faults.requests} / {sum(self.dynamodb_faults.counts.values())} "
                f"{dict(sorted(self.dynamodb_faults.counts.items()))}"
            )
            self.result.figures["stream batches redelivered / crashed"] = (
                f"{self.stream_faults.redelivered} / {self.stream_faults.crashed}"
            )
            stats = stack.poller.stats()
            self.result.figures["stream records handled / given up"] = f"{stats['records']} / {stats['failures']}"
            self.result.check(stats["failures"] == 0, f"{stats['failures']} stream record(s) given up")
        self.logs.close()
        self.result.figures["log lines / with a full phone number, API key or token"] = (
            f"{self.logs.lines} / {len(self.logs.leaks)}"
        )
        self.result.check(not self.logs.leaks, f"logs leak: {self.logs.leaks[:3]}")
        return self.result

    def _faults(self, *, on: bool) -> None:
        for faults in (self.dynamodb_faults, self.twilio_faults, self.stream_faults):
            faults.active = on

    def _add_shops(self) -> None:
        from chalicelib.services.admin import add_number, create_api_key, create_shop
        from chalicelib.wiring import repository

        store, now = repository(), self.clock.now()
        # Thousands of customers in one simulated day: far over a shop's usual limit of new numbers.
        create_shop({"shop_id": SHOP_A, "destinations": {"new_numbers_per_day": 1_000_000}}, store=store, now=now)
        demo = store.get_shop(SHOP_A)
        assert demo is not None
        base = demo.model_dump(mode="json")
        create_shop(
            {**base, "shop_id": SHOP_B, "name": "Soak Shop B", "caller_id": "+380441234500", "dedup": {"variant": "B"}},
            store=store,
            now=now,
        )
        robot = {
            **base["robot"],
            "max_concurrent_calls": 10,
            "retry_minutes": dict.fromkeys(base["robot"]["retry_minutes"], 2),
        }
        # Shop C's customers are stand-in callees in New York (the calls phase).
        destinations = {**base["destinations"], "countries": ["UA", "US"]}
        create_shop(
            {
                **base,
                "shop_id": SHOP_C,
                "name": "Soak Shop C",
                "caller_id": "+380441234511",
                "robot": robot,
                "destinations": destinations,
            },
            store=store,
            now=now,
        )
        for shop_id, key, number in ((SHOP_B, KEY_B, "+380441234500"), (SHOP_C, KEY_C, "+380441234511")):
            create_api_key(shop_id, store=store, now=now, api_key=key)
            add_number(shop_id, number, "sales", store=store, now=now)
            api = self.stack.api_url
            self.stack.standin.register_number(
                number,
                voice_url=f"{api}/twilio/voice/incoming",
                status_callback_url=f"{api}/twilio/voice/status",
                sms_url=f"{api}/twilio/sms/incoming",
            )

    def _post_all(self, posts: list[OrderPost]) -> dict[str, list[tuple[int, Any]]]:
        """Send every post from ``senders`` threads; a sender retries a 5xx, a 409
        request_in_progress or a dropped connection as a shop's client would (same key, same
        body). Returns, per key, the final (status, body) of each post."""
        work: collections.deque[OrderPost] = collections.deque(posts)
        lock = threading.Lock()
        finals: dict[str, list[tuple[int, Any]]] = collections.defaultdict(list)
        statuses: collections.Counter[int] = collections.Counter()
        url = f"{self.stack.api_url}/v1/orders"

        def sender() -> None:
            session = requests.Session()
            while True:
                with lock:
                    if not work:
                        return
                    post = work.popleft()
                headers = {"Authorization": f"Bearer {post.api_key}", "Idempotency-Key": post.key}
                status, body = 0, None
                started = time.monotonic()
                for attempt in itertools.count():
                    try:
                        response = session.post(url, json=post.body, headers=headers, timeout=30)
                        status, body = response.status_code, response.json()
                    except (requests.RequestException, ValueError):
                        status, body = 0, None
                    with lock:
                        statuses[status] += 1
                    error = body.get("error") if isinstance(body, dict) else None
                    in_progress = status == 409 and error == "request_in_progress"
                    if not (status == 0 or status >= 500 or in_progress):
                        break
                    # A request whose first try is still "in progress" (its Lambda died, or its
                    # answer was lost) is taken over once the invocation's time is up (60 s), and
                    # the takeover's own write may lose its answer too: a 409 in progress is
                    # retried for IN_PROGRESS_PATIENCE_SECONDS, anything else MAX_TRIES times.
                    patient = in_progress and time.monotonic() - started < IN_PROGRESS_PATIENCE_SECONDS
                    if attempt + 1 >= MAX_TRIES and not patient:
                        break
                    time.sleep(min(5.0, 0.05 * 2 ** min(attempt, 10)))
                with lock:
                    finals[post.key].append((status, body))

        threads = [threading.Thread(target=sender, name=f"soak-sender-{i}") for i in range(self.options.senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.result.figures[f"HTTP answers to {posts[0].shop_id if posts else ''} posts (every try)"] = dict(
            sorted(statuses.items())
        )
        return finals

    def _settle(self, timeout: float = 900.0) -> None:
        if not self.stack.wait_quiet(timeout=timeout):
            self.result.problems.append("the stack did not settle in time")

    # -- orders ---------------------------------------------------------------------------------
    def _orders_phase(self) -> None:
        from chalicelib.adapters.dynamo.orders import shop_orders
        from chalicelib.adapters.dynamo.schema import DialTaskItem
        from chalicelib.domain.phones import normalise_phone

        posts = plan_orders(self.options)
        self.logs.phones |= {str(normalise_phone(p.body["phone"], "UA").e164).lstrip("+") for p in posts}
        started = time.monotonic()
        finals = self._post_all(posts)
        self.result.figures["orders posted in, seconds"] = round(time.monotonic() - started, 1)
        self._settle()
        self._faults(on=False)
        kinds = collections.Counter(post.kind for post in posts)
        stored = [o for shop in (SHOP_A, SHOP_B) for o in shop_orders(shop)]
        by_id = {o.order_id: o for o in stored}
        tasks_of: dict[str, list[str]] = collections.defaultdict(list)
        for task in DialTaskItem.scan():
            for order_id in task.order_ids or ():
                tasks_of[order_id].append(task.task_id)
        accepted_ids: set[str] = set()
        not_accepted = 0
        for key, answers in finals.items():
            ids = {body["id"] for status, body in answers if status == 201}
            not_accepted += not ids
            if not ids:
                self.result.problems.append(f"key {key} never accepted: {answers}")
            self.result.check(len(ids) <= 1, f"key {key}: answered with {len(ids)} different orders {sorted(ids)}")
            accepted_ids |= ids
        lost = sorted(i for i in accepted_ids if i not in by_id)
        statuses = collections.Counter(o.status for o in stored)
        not_in_one_task = [o.order_id for o in stored if o.status == "queued" and len(tasks_of[o.order_id]) != 1]
        bad_duplicates = [
            o.order_id
            for o in stored
            if o.status == "duplicate" and (o.duplicate_of not in by_id or by_id[o.duplicate_of].phone != o.phone)
        ]
        undecided = [o.order_id for o in stored if o.status not in ("queued", "duplicate")]
        # Doubled: one request stored as two live orders (same shop and order number, neither a duplicate).
        live = collections.Counter((o.shop_id, o.order_number) for o in stored if o.status != "duplicate")
        doubled = [key for key, count in live.items() if count > 1]
        # Variant B: one live order per phone; variant A: one per (phone, order number).
        live_b = collections.Counter(o.phone for o in stored if o.shop_id == SHOP_B and o.status != "duplicate")
        self.result.figures.update(
            {
                "order posts (new / exact repeats / near-duplicates)": (
                    f"{len(posts)} ({kinds['new']} / {kinds['repeat']} / {kinds['near-duplicate']})"
                ),
                "orders accepted (distinct keys answered 201)": len(accepted_ids),
                "keys never accepted (30 tries, 409 in progress for 5 minutes)": not_accepted,
                "orders stored": len(stored),
                "orders by status": dict(sorted(statuses.items())),
                "dial tasks": len({t for ts in tasks_of.values() for t in ts}),
                "orders lost": len(lost),
                "orders doubled": len(doubled),
            }
        )
        self.result.check(not lost, f"accepted orders not stored: {lost[:5]}")
        self.result.check(not_accepted == 0, f"{not_accepted} key(s) never accepted")
        self.result.check(not not_in_one_task, f"queued orders not in exactly one task: {not_in_one_task[:5]}")
        self.result.check(not bad_duplicates, f"duplicates without a stored original: {bad_duplicates[:5]}")
        self.result.check(not undecided, f"orders neither queued nor duplicate: {undecided[:5]}")
        self.result.check(not doubled, f"requests stored as two live orders: {doubled[:5]}")
        self.result.check(all(count == 1 for count in live_b.values()), "variant B: a phone with two live orders")
        self.result.check(
            statuses["duplicate"] >= kinds["near-duplicate"], "fewer duplicates than near-duplicates posted"
        )
        self._faults(on=True)

    # -- calls ----------------------------------------------------------------------------------
    def _calls_phase(self) -> None:
        from devtools.scheduler import Scheduler
        from devtools.twilio_standin import Callee, CallerScript, Press

        rng = random.Random(self.options.seed + 4)
        behaviour_of: dict[str, str] = {}
        for index in range(self.options.customers):
            phone = f"+1212555{index:04d}"
            behaviour = rng.choices(list(BEHAVIOURS), weights=list(BEHAVIOURS.values()))[0]
            behaviour_of[phone] = behaviour
            self.logs.phones.add(phone.lstrip("+"))
            keys = {"confirms": ["1"], "cancels": ["2", "1"]}.get(behaviour, [])  # 2, then 1 to the read-back
            answer = behaviour if behaviour in ("busy", "no-answer") else "human"
            script = CallerScript([Press(key) for key in keys])
            self.stack.standin.set_callee(phone, Callee(answer=answer, ring_seconds=5, script=script))
        posts = [
            OrderPost(SHOP_C, KEY_C, f"call-{i}", {"order_number": f"C-{i}", "phone": phone, "total": "99.00"}, "new")
            for i, phone in enumerate(behaviour_of)
        ]
        self._post_all(posts)
        scheduler = Scheduler(self.clock, self.stack._scheduled_jobs(), region="eu-central-1")
        # Minute by minute: the schedules fire, retries come due, the sweep looks at stuck calls.
        for _ in range(40):
            self._settle()
            if self._call_tasks_finished():
                break
            self.clock.advance(timedelta(minutes=1))
            self._run_jobs(scheduler)
        # Twenty more minutes without faults: anything stuck must be settled by the sweep.
        self._faults(on=False)
        for _ in range(20):
            self.clock.advance(timedelta(minutes=1))
            self._run_jobs(scheduler)
            self._settle()
        self._check_calls(behaviour_of)
        self._replay_status_callbacks()
        self._faults(on=True)

    def _run_jobs(self, scheduler: Any) -> None:
        # A job failing under faults (its error kept on the firing) runs again next minute, as on AWS.
        scheduler.run_due()

    def _call_tasks_finished(self) -> bool:
        from chalicelib.adapters.dynamo.schema import DialTaskItem

        tasks = [t for t in DialTaskItem.scan(DialTaskItem.shop_id == SHOP_C)]
        return bool(tasks) and all(t.state in ("done", "failed") for t in tasks)

    def _check_calls(self, behaviour_of: dict[str, str]) -> None:
        from chalicelib.adapters.dynamo.orders import shop_orders
        from chalicelib.adapters.dynamo.schema import DialTaskItem

        max_attempts = 3
        tasks = list(DialTaskItem.scan(DialTaskItem.shop_id == SHOP_C))
        orders = {o.phone: o for o in shop_orders(SHOP_C)}
        calls_to = collections.Counter(leg.to for leg in self.stack.standin.calls if leg.direction == "outbound-api")
        texts_to = collections.Counter(m.to for m in self.stack.standin.messages if m.to in behaviour_of)
        expected_status = {
            "confirms": "confirmed",
            "cancels": "cancelled",
            "busy": "unreachable",
            "no-answer": "unreachable",
        }
        stuck = [t.task_id for t in tasks if t.state not in ("done", "failed")]
        over_dialed = [
            p
            for p in behaviour_of
            if calls_to[p] > max_attempts or (behaviour_of[p] in ("confirms", "cancels") and calls_to[p] > 1)
        ]
        wrong = [p for p, b in behaviour_of.items() if p not in orders or orders[p].status != expected_status[b]]
        unreached = [p for p, b in behaviour_of.items() if expected_status[b] == "unreachable"]
        texted_wrong = [p for p in unreached if texts_to[p] != 1]
        confirmed = [p for p, b in behaviour_of.items() if b == "confirms"]
        noticed_wrong = [p for p in confirmed if texts_to[p] != 1]  # the delivery notice (O9), once
        self.result.figures.update(
            {
                "customers dialed": f"{len(behaviour_of)} ({dict(collections.Counter(behaviour_of.values()))})",
                "Twilio REST requests / failed": (
                    f"{self.twilio_faults.requests} / {sum(self.twilio_faults.counts.values())} "
                    f"{dict(sorted(self.twilio_faults.counts.items()))}"
                ),
                "calls placed": sum(calls_to[p] for p in behaviour_of),
                "customers dialed more than their attempts": len(over_dialed),
                "tasks stuck": len(stuck),
                "orders not ending as the customer chose": len(wrong),
                "unreached customers texted": f"{sum(1 for p in unreached if texts_to[p] == 1)} of {len(unreached)}",
                "confirmed customers texted": f"{sum(1 for p in confirmed if texts_to[p] == 1)} of {len(confirmed)}",
            }
        )
        self.result.check(not over_dialed, f"dialed too often: {[(p, calls_to[p]) for p in over_dialed[:5]]}")
        self.result.check(not stuck, f"tasks stuck: {stuck[:5]}")
        self.result.check(
            not wrong,
            f"orders ended wrong: {[(p, behaviour_of[p], orders[p].status) for p in wrong[:5] if p in orders]}",
        )
        self.result.check(
            not texted_wrong,
            f"unreached customers not texted exactly once: {[(p, texts_to[p]) for p in texted_wrong[:5]]}",
        )
        self.result.check(
            not noticed_wrong,
            f"confirmed customers not sent one delivery notice: {[(p, texts_to[p]) for p in noticed_wrong[:5]]}",
        )

    def _snapshot(self) -> dict[str, Any]:
        from chalicelib.adapters.dynamo.orders import shop_orders
        from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem

        return {
            "calls": sorted(
                json.dumps(c.serialize(), sort_keys=True, default=str)
                for c in CallItem.scan(CallItem.shop_id == SHOP_C)
            ),
            "tasks": sorted(
                json.dumps(t.serialize(), sort_keys=True, default=str)
                for t in DialTaskItem.scan(DialTaskItem.shop_id == SHOP_C)
            ),
            "orders": sorted(json.dumps(o.serialize(), sort_keys=True, default=str) for o in shop_orders(SHOP_C)),
        }

    def _replay_status_callbacks(self) -> None:
        """Every robot call's status callbacks again, duplicated and in reverse order (final
        first), signed as Twilio signs them: nothing may change."""
        from twilio.request_validator import RequestValidator

        before = self._snapshot()
        validator = RequestValidator(self.stack._auth_token())
        session = requests.Session()
        replays = []
        for leg in self.stack.standin.calls:
            if leg.direction != "outbound-api" or leg.status_callback is None:
                continue
            base = {
                "CallSid": leg.sid,
                "AccountSid": leg.account_sid,
                "From": leg.from_,
                "To": leg.to,
                "Direction": "outbound-api",
            }
            # As Twilio numbered them: the final callback last; a duplicate keeps its number.
            last = leg.sequence_number - 1
            final = {**base, "CallStatus": leg.status, "CallDuration": str(leg.duration), "SequenceNumber": str(last)}
            replays.append((leg.status_callback.url, final))
            earlier = ["in-progress", "ringing", "initiated"] if leg.duration else ["ringing", "initiated"]
            for sequence, status in zip(range(last - 1, -1, -1), earlier, strict=False):
                replays.append(
                    (leg.status_callback.url, {**base, "CallStatus": status, "SequenceNumber": str(sequence)})
                )
            replays.append((leg.status_callback.url, final))
        answers: collections.Counter[int] = collections.Counter()
        for url, params in replays:
            signature = validator.compute_signature(url, params)
            response = session.post(
                url,
                data=urlencode(params),
                headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
                timeout=30,
            )
            answers[response.status_code] += 1
        self._settle()
        after = self._snapshot()
        changed = {
            name: sum(1 for a, b in zip(before[name], after[name], strict=False) if a != b)
            + abs(len(before[name]) - len(after[name]))
            for name in before
        }
        self.result.figures["status callbacks replayed (answers)"] = f"{len(replays)} {dict(answers)}"
        self.result.figures["records changed by the replay"] = changed
        examples = [(a, b) for name in before for a, b in zip(before[name], after[name], strict=False) if a != b][:2]
        self.result.check(not any(changed.values()), f"replayed status callbacks changed records: {changed} {examples}")
        self.result.check(set(answers) <= {200, 204}, f"replayed status callbacks answered {dict(answers)}")

    # -- reports --------------------------------------------------------------------------------
    def _reports_phase(self) -> None:
        from email import message_from_bytes
        from email.header import decode_header, make_header

        from devtools.scheduler import scheduled_event
        from devtools.stream_poller import LambdaContext

        self.clock.advance_to(datetime(2015, 11, 23, 6, 0, 30, tzinfo=UTC))  # 08:00 in Kyiv: report hour
        daily_reports = self.stack.app_module.app.handler_map["daily_reports"]
        self.ses_faults.active = True
        failures = 0
        errors: list[str] = []
        event = scheduled_event("daily_reports", datetime(2015, 11, 23, 6, 0, tzinfo=UTC), region="eu-central-1")

        def fire() -> None:
            nonlocal failures
            for _ in range(3):  # Lambda retries a failed asynchronous invocation twice
                try:
                    daily_reports(event, LambdaContext("daily_reports", region="eu-central-1", timeout_seconds=20))
                    return
                except Exception as error:
                    failures += 1
                    errors.append(repr(error)[:300])
                    time.sleep(0.2)

        firings = [threading.Thread(target=fire) for _ in range(2)]
        for thread in firings:
            thread.start()
        for thread in firings:
            thread.join()
        # An hour later the hourly schedule fires again (a report still due is sent then); the
        # invocations above have long timed out by then (their Lambda context gave them 20 s).
        time.sleep(20.5)
        self.clock.advance(timedelta(hours=1))
        event = scheduled_event("daily_reports", datetime(2015, 11, 23, 7, 0, tzinfo=UTC), region="eu-central-1")
        fire()
        self.ses_faults.active = False
        emails: collections.Counter[str] = collections.Counter()
        for path in self.outbox.glob("*.eml"):
            message = message_from_bytes(path.read_bytes())
            emails[str(make_header(decode_header(str(message["Subject"]))))] += 1
        shops = 3
        self.result.figures["report firings (08:00 twice, 09:00) / failed tries"] = f"3 / {failures}"
        self.result.figures["SES requests / throttled"] = (
            f"{self.ses_faults.requests} / {sum(self.ses_faults.counts.values())}"
        )
        self.result.figures["report emails"] = sum(emails.values())
        self.result.figures["report errors"] = errors
        self.result.check(
            sum(emails.values()) == shops and all(c == 1 for c in emails.values()), f"report emails: {dict(emails)}"
        )


def run_soak(options: SoakOptions, outbox: Path, log_file: Path | None = None) -> Figures:
    return Soak(options, outbox=outbox, log_file=log_file).run()


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m devtools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)
    # The figures on the terminal; the app's and the stack's logs in a file.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    log_file = Path(__file__).resolve().parents[1] / ".local" / "soak.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.unlink(missing_ok=True)
    options = SoakOptions(orders=args.orders, customers=args.customers, senders=args.senders, seed=args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-outbox-") as outbox:
        result = run_soak(options, Path(outbox), log_file)
    print(f"Soak: {options.orders} orders from {options.senders} senders, {options.customers} customers dialed")
    print("\n".join(result.lines()))
    print(f"  took {time.monotonic() - started:.0f} s (logs: {log_file})")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
