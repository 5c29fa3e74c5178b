"""Count the DynamoDB requests a piece of code makes, by operation, whichever client makes them.

The app talks to DynamoDB through two kinds of botocore client: PynamoDB's (one per model,
each from its own botocore session, created on first use) and the boto3 client of
Powertools' idempotency layer. botocore copies a session's event handlers into each client
when the client is created, so a hook registered on some session later never reaches them,
and the clients are private to their owners. The counter therefore:

1. wraps ``botocore.session.Session.create_client`` (which boto3 sessions call too) so that
   every DynamoDB client created while it is installed gets two handlers, through botocore's
   public event API (``client.meta.events.register``):
   ``before-call.dynamodb`` (once per API call: the count reported) and
   ``before-send.dynamodb`` (once per HTTP attempt: differs from the calls only on retries);
2. as a cross-check, counts every HTTP request that leaves botocore at its one HTTP session
   class (``botocore.httpsession.URLLib3Session.send``) by its ``X-Amz-Target`` header, so a
   client that escaped step 1 (created before installation, or by some other route) shows up
   as a disagreement instead of silently going uncounted.

Clients created before ``install()`` are not hooked: drop them first (the benchmark calls
``reset_connections()`` and clears the idempotency layer's cache after installing).
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.httpsession
import botocore.session

from bench.raw_floor import Recorded

_TARGET_PREFIX = "DynamoDB_20120810."


@dataclass(frozen=True)
class Tally:
    """DynamoDB API calls, HTTP attempts and wire requests, each by operation name."""

    calls: Counter[str]
    attempts: Counter[str]
    wire: Counter[str]

    def __sub__(self, earlier: Tally) -> Tally:
        return Tally(self.calls - earlier.calls, self.attempts - earlier.attempts, self.wire - earlier.wire)


class DynamoDBRequestCounter:
    def __init__(self, *, consumed_capacity: bool = False) -> None:
        # consumed_capacity: ask DynamoDB for ReturnConsumedCapacity=TOTAL on every request that
        # takes it and add up the units by operation (bench/cost.py); off, requests go unchanged.
        self.consumed_capacity = consumed_capacity
        self.capacity_units: Counter[str] = Counter()  # floats: an eventually consistent read is half a unit
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.wire: Counter[str] = Counter()
        self.hooked_clients = 0
        # While a list: every DynamoDB call's operation, parameters and outcome is appended to it
        # (bench/raw_floor.py replays them raw as the service-time floor).
        self.recording: list[Any] | None = None
        self._undo: list[Callable[[], None]] = []

    # -- what callers read ------------------------------------------------------------------

    def snapshot(self) -> Tally:
        return Tally(Counter(self.calls), Counter(self.attempts), Counter(self.wire))

    @contextmanager
    def measure(self) -> Iterator[list[Tally]]:
        """``with counter.measure() as out:`` ... then ``out[0]`` holds what the block made."""
        out: list[Tally] = []
        before = self.snapshot()
        try:
            yield out
        finally:
            out.append(self.snapshot() - before)

    # -- installation -----------------------------------------------------------------------

    def install(self) -> DynamoDBRequestCounter:
        if self._undo:
            return self
        original_create = botocore.session.Session.create_client
        original_send = botocore.httpsession.URLLib3Session.send
        counter = self

        @functools.wraps(original_create)
        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original_create(session, *args, **kwargs)
            if client.meta.service_model.service_name == "dynamodb":
                client.meta.events.register("before-call.dynamodb", counter._on_call)
                client.meta.events.register("before-send.dynamodb", counter._on_send)
                client.meta.events.register("before-parameter-build.dynamodb", counter._on_params)
                client.meta.events.register("after-call.dynamodb", counter._on_result)
                if counter.consumed_capacity:
                    client.meta.events.register("before-parameter-build.dynamodb", counter._ask_capacity)
                    client.meta.events.register("after-call.dynamodb", counter._on_capacity)
                counter.hooked_clients += 1
            return client

        @functools.wraps(original_send)
        def send(http_session: Any, request: Any) -> Any:
            target = request.headers.get("X-Amz-Target")
            if isinstance(target, bytes):
                target = target.decode("ascii", "replace")
            if isinstance(target, str) and target.startswith(_TARGET_PREFIX):
                counter.wire[target.removeprefix(_TARGET_PREFIX)] += 1
            return original_send(http_session, request)

        botocore.session.Session.create_client = create_client
        botocore.httpsession.URLLib3Session.send = send

        def undo() -> None:
            botocore.session.Session.create_client = original_create
            botocore.httpsession.URLLib3Session.send = original_send

        self._undo.append(undo)
        return self

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def __enter__(self) -> DynamoDBRequestCounter:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # -- botocore event handlers --------------------------------------------------------------

    def _on_call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _on_send(self, event_name: str, **_: Any) -> None:
        # event_name is "before-send.dynamodb.<Operation>"
        self.attempts[event_name.rpartition(".")[2]] += 1

    def _on_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.recording is not None:
            # A reference, not a copy: copying here would be timed as the app's. The callers
            # (PynamoDB, Powertools) build a new dict per call and botocore does not change it.
            entry = Recorded(model.name, params, started_ns=time.perf_counter_ns())
            context["bench_recorded"] = entry
            self.recording.append(entry)

    def _on_result(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        entry = context.get("bench_recorded")
        if entry is not None:
            entry.error_code = parsed.get("Error", {}).get("Code") if "Error" in parsed else None
            entry.ended_ns = time.perf_counter_ns()

    def _ask_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _on_capacity(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            self.capacity_units[model.name] += entry.get("CapacityUnits", 0)
