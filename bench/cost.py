"""AWS cost per 1,000 calls and per 1,000 confirmed orders, from a simulated day on the local
stack priced at published on-demand prices.

The day: ``calls`` inbound calls of three minutes (language menu, the queue, an agent who
talks 150 s after the whisper, the survey) and ``orders`` orders confirmed by the robot (the
customer presses 1). Everything the app does is counted while it happens: every HTTP request
(one API Gateway request and one Lambda invocation each), every batch the stream poller hands
a stream handler (one Lambda invocation each; Lambda reads the stream for free), their
durations as measured here, and the DynamoDB capacity units every request consumed (asked with
``ReturnConsumedCapacity=TOTAL``). The schedules (two every minute, one every hour) are a
fixed cost per deployment and day, priced apart from their measured durations.

Durations are this machine's wall time at full CPU, billed as if at the configured memory;
a 512 MB Lambda has about a third of a vCPU, so CPU-bound work runs longer there, while
DynamoDB itself answers faster than DynamoDB Local. The figure is an estimate of the order of
magnitude, which is what the target asks.

Twilio's telephony is not AWS cost and is priced apart, from what the Twilio stand-in saw in
the same day: each call leg's answered duration rounded up to whole minutes per leg (as Twilio
bills), by direction (the caller's inbound leg on the shop's local number, the robot's
outbound calls; the leg to the agent's browser is counted, not priced), and each text sent.
The inbound calls are also priced at the nominal three minutes, the minutes Amazon Connect is
priced for beside them. Amazon Connect is shown with its service price and its telephony
price apart.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from bench.ddb_counter import DynamoDBRequestCounter
from bench.local_stack import api_call, customer_phone, local_stack, order_body, post_order
from bench.stats import markdown_table

SHOP_NUMBER = "+380441234567"  # config/demo.toml, the sales group
AGENT = "client:oleh"
CONFIGURED_MEMORY_MB = 512  # infra/stack.py: StackSettings.lambda_memory_mb
CALL_MINUTES = 3
SCHEDULED_PER_DAY = {"dial_due": 24 * 60, "live_alerts": 24 * 60, "daily_reports": 24}
TARGET_USD_PER_1000_CALLS = 0.25

PRICES_READ_ON = "2026-11-23"
# Published on-demand prices, US East (N. Virginia), looked up on PRICES_READ_ON (sources in
# PRICE_SOURCES and the README).
PRICES_USD = {
    "lambda_per_request": 0.20 / 1e6,
    "lambda_per_gb_second": 0.0000166667,  # x86
    "api_gateway_rest_per_request": 3.50 / 1e6,  # first 333 million a month
    "api_gateway_http_per_request": 1.00 / 1e6,  # for comparison: Chalice deploys a REST API
    "dynamodb_per_write_unit": 0.625 / 1e6,  # on-demand, since the November 2024 price cut
    "dynamodb_per_read_unit": 0.125 / 1e6,
    "ses_per_message": 0.10 / 1000,
    "amazon_connect_voice_per_minute": 0.018,  # service usage, telephony extra
    "amazon_connect_us_did_inbound_per_minute": 0.0022,  # telephony: a US DID number, inbound
}
# Twilio pay-as-you-go list prices, United States, looked up on PRICES_READ_ON (sources below).
TWILIO_PRICES_USD = {
    "inbound_local_per_minute": 0.0085,  # receive a call on a local number
    "outbound_per_minute": 0.013,  # make a call to a US number
    "local_number_per_month": 1.15,
    "sms_per_segment": 0.0083,  # before carrier fees
}
# One local number's rent spread over this many calls a month (100 calls a day): the rent is
# per number, not per call, so its share per 1,000 calls depends on the volume it is spread on.
NUMBER_CALLS_PER_MONTH = 3000
PRICE_SOURCES = {
    "lambda": "https://aws.amazon.com/lambda/pricing/ (x86 request and GB-second prices; the figures were "
    "confirmed on secondary copies of the page, the stored copy of the page itself renders its tables by script)",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/ (figures confirmed on airbyte.com's copy, "
    "which gives $0.625/$0.125 per million for US East)",
    "api_gateway": "https://aws.amazon.com/api-gateway/pricing/ (figures from AWS's whitepaper 'Best Practices for "
    "Designing Amazon API Gateway Private APIs and Private Integration', table 4: REST $3.50, HTTP $1.00 per million)",
    "ses": "https://aws.amazon.com/ses/pricing/ ($0.10 per 1,000 emails)",
    "amazon_connect": "https://aws.amazon.com/connect/pricing/ (voice service $0.018 a minute billed per second "
    "after the first 10 s, telephony apart; a US DID inbound minute $0.0022, not confirmed on a stored copy. "
    "Secondary: serverworks.co.jp 2020-03-10 for the $0.018 service price and its billing; "
    "api-evangelist's transcription of the page on 2026-10-07 lists the newer bundled voice price, "
    "$0.038 a minute, standard telephony rates apply)",
    "twilio": "https://www.twilio.com/en-us/voice/pricing/us and https://www.twilio.com/en-us/sms/pricing/us "
    "(inbound local $0.0085 and outbound $0.013 a minute as Twilio's support article 223183328 'How Volume "
    "Pricing works at Twilio' quotes them; whole minutes per leg: support article 223132307; local number "
    "$1.15 a month and SMS $0.0083 a segment from secondary copies: api-evangelist, 2026-11-12, read Twilio's "
    "US SMS page on 2026-11-09)",
}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class Meter:
    """Lambda invocations and their durations, API Gateway requests, DynamoDB units."""

    def __init__(self, counter: DynamoDBRequestCounter) -> None:
        self.counter = counter
        self.durations: dict[str, list[float]] = {}
        self.http_requests = 0
        self._lock = threading.Lock()

    def record(self, function: str, seconds: float, http: bool) -> None:
        with self._lock:
            self.durations.setdefault(function, []).append(seconds)
            self.http_requests += int(http)

    def timed(self, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def invoke(event: Any, context: Any) -> Any:
            start = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                self.record(function, time.perf_counter() - start, http=False)

        return invoke

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "durations": {name: list(values) for name, values in self.durations.items()},
                "http": self.http_requests,
                "units": Counter(self.counter.capacity_units),
            }


@contextlib.contextmanager
def _metered_http(meter: Meter) -> Iterator[None]:
    """Every request the local API server handles: one API Gateway request, one invocation of
    the API function."""
    from chalice.local import LocalGateway

    original = LocalGateway.handle_request

    def handle_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            meter.record("api", time.perf_counter() - start, http=True)

    LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalGateway.handle_request = original  # type: ignore[method-assign]


def _phase_usage(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    invocations = {
        name: values[len(before["durations"].get(name, [])) :] for name, values in after["durations"].items()
    }
    units: Counter[str] = after["units"] - before["units"]
    write_units = sum(v for op, v in units.items() if op in WRITE_OPERATIONS)
    return {
        "lambda_invocations": sum(len(v) for v in invocations.values()),
        "lambda_invocations_by_function": {name: len(v) for name, v in sorted(invocations.items()) if v},
        "lambda_seconds": sum(sum(v) for v in invocations.values()),
        "api_gateway_requests": after["http"] - before["http"],
        "dynamodb_write_units": write_units,
        "dynamodb_read_units": sum(units.values()) - write_units,
    }


def price(usage: dict[str, Any], ses_messages: int = 0) -> dict[str, float]:
    gb_seconds = usage["lambda_seconds"] * CONFIGURED_MEMORY_MB / 1024
    parts = {
        "lambda_requests": usage["lambda_invocations"] * PRICES_USD["lambda_per_request"],
        "lambda_duration": gb_seconds * PRICES_USD["lambda_per_gb_second"],
        "api_gateway": usage["api_gateway_requests"] * PRICES_USD["api_gateway_rest_per_request"],
        "dynamodb": usage["dynamodb_write_units"] * PRICES_USD["dynamodb_per_write_unit"]
        + usage["dynamodb_read_units"] * PRICES_USD["dynamodb_per_read_unit"],
        "ses": ses_messages * PRICES_USD["ses_per_message"],
    }
    parts["total"] = sum(parts.values())
    return parts


def _per_1000(parts: dict[str, float], count: int) -> dict[str, float]:
    return {name: round(value * 1000 / count, 4) for name, value in parts.items()}


class TelephonyTally:
    """The Twilio stand-in's call legs and texts, counted phase by phase."""

    def __init__(self, standin: Any) -> None:
        self.standin = standin
        self.seen_calls: set[str] = set()
        self.seen_messages: set[str] = set()
        self.phase()  # whatever happened before the first phase (setup) is not counted

    def phase(self) -> dict[str, Any]:
        """Legs and texts since the last call: per direction, legs, answered legs and billed
        minutes (each answered leg's duration rounded up to whole minutes, as Twilio bills)."""
        legs: dict[str, dict[str, int]] = {}
        for leg in self.standin.calls:
            if leg.sid in self.seen_calls:
                continue
            self.seen_calls.add(leg.sid)
            counts = legs.setdefault(leg.direction, {"legs": 0, "answered": 0, "billed_minutes": 0, "seconds": 0})
            counts["legs"] += 1
            if leg.duration > 0:
                counts["answered"] += 1
                counts["seconds"] += leg.duration
                counts["billed_minutes"] += math.ceil(leg.duration / 60)
        texts = 0
        for message in self.standin.messages:
            if message.sid not in self.seen_messages:
                self.seen_messages.add(message.sid)
                texts += int(message.direction.startswith("outbound"))
        return {"call_legs_by_direction": dict(sorted(legs.items())), "texts_sent": texts}


def twilio_price(
    telephony: dict[str, Any], count: int, *, nominal_inbound_minutes: float | None = None
) -> dict[str, Any]:
    """Twilio charges per 1,000 (calls or orders) from one phase's legs and texts."""
    legs = telephony["call_legs_by_direction"]
    inbound_minutes = legs.get("inbound", {}).get("billed_minutes", 0)
    if nominal_inbound_minutes is not None:
        inbound_minutes = nominal_inbound_minutes * count
    parts = {
        "inbound_minutes": inbound_minutes * TWILIO_PRICES_USD["inbound_local_per_minute"],
        "outbound_minutes": legs.get("outbound-api", {}).get("billed_minutes", 0)
        * TWILIO_PRICES_USD["outbound_per_minute"],
        "texts": telephony["texts_sent"] * TWILIO_PRICES_USD["sms_per_segment"],
    }
    per_1000 = {name: round(value * 1000 / count, 2) for name, value in parts.items()}
    if nominal_inbound_minutes is not None:
        per_1000["number_rent_share"] = round(
            TWILIO_PRICES_USD["local_number_per_month"] * 1000 / NUMBER_CALLS_PER_MONTH, 2
        )
    per_1000["total"] = round(sum(per_1000.values()), 2)
    return per_1000


def _scheduled_seconds(app: Any, meter: Meter, runs: int) -> dict[str, float]:
    """Median measured duration of each scheduled function, fired as EventBridge would."""
    from chalicelib.clock import current_clock
    from devtools.scheduler import scheduled_event

    medians = {}
    for name in SCHEDULED_PER_DAY:
        handler = meter.timed(name, app.handler_map[name])
        for _ in range(runs):
            # Fired at the stack's simulated instant, as its scheduler would, not the wall clock's.
            handler(scheduled_event(name, current_clock().now(), region="eu-central-1"), None)
        values = sorted(meter.durations[name][-runs:])
        medians[name] = values[len(values) // 2]
    return medians


def _agent_ready(stack: Any) -> None:
    from chalicelib.wiring import repository
    from devtools.twilio_standin import AgentBehaviour

    store = repository()
    shop = store.get_shop("demo")
    assert shop is not None
    inbound = shop.inbound.model_copy(update={"wrap_up_seconds": 0})  # the next caller meets a free agent
    store.save_shop(shop.model_copy(update={"inbound": inbound}), stack.options.clock.now())
    stack.standin.register_agent(AGENT, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=150))
    api_call("PUT", f"{stack.api_url}/v1/agents/oleh/status", {"status": "available"})


def run(calls: int = 20, orders: int = 20, progress: TextIO | None = None) -> dict[str, Any]:
    import app as application
    from devtools.twilio_standin import Callee, CallerScript, Press

    out = progress or sys.stderr
    counter = DynamoDBRequestCounter(consumed_capacity=True)
    meter = Meter(counter)
    handlers = application.app.handler_map
    originals = {name: handlers[name] for name in ("order_stream", "task_stream")}
    for name, handler in originals.items():
        handlers[name] = meter.timed(name, handler)
    try:
        with counter, _metered_http(meter), local_stack() as stack:
            _agent_ready(stack)
            stack.wait_quiet(timeout=30)
            telephony = TelephonyTally(stack.standin)
            print(f"cost: {calls} inbound calls, then {orders} orders confirmed by the robot", file=out, flush=True)
            start = meter.snapshot()
            for index in range(calls):
                script = CallerScript([Press("3"), Press("1")])  # English, then survey: solved
                stack.standin.place_inbound_call(customer_phone(50_000 + index), SHOP_NUMBER, script)
                stack.wait_quiet(timeout=60)
            after_calls = meter.snapshot()
            call_telephony = telephony.phase()
            stack.standin.set_default_callee(Callee(answer="human", script=CallerScript([Press("1")])))
            for index in range(orders):
                post_order(stack.api_url, order_body(f"CO-{index}", customer_phone(60_000 + index)))
                stack.wait_quiet(timeout=60)
            after_orders = meter.snapshot()
            order_telephony = telephony.phase()
            scheduled = _scheduled_seconds(application.app, meter, runs=3)
            from chalicelib.adapters.dynamo.schema import OrderItem

            confirmed = sum(1 for record in OrderItem.scan() if record.status == "confirmed")
    finally:
        handlers.update(originals)
    if confirmed != orders:
        raise RuntimeError(f"expected {orders} confirmed orders, found {confirmed}")
    call_usage = _phase_usage(start, after_calls)
    order_usage = _phase_usage(after_calls, after_orders)
    per_call = _per_1000(price(call_usage), calls)
    per_order = _per_1000(price(order_usage), orders)
    fixed_seconds = sum(SCHEDULED_PER_DAY[name] * seconds for name, seconds in scheduled.items())
    fixed = price(
        {
            "lambda_invocations": sum(SCHEDULED_PER_DAY.values()),
            "lambda_seconds": fixed_seconds,
            "api_gateway_requests": 0,
            "dynamodb_write_units": 0,
            "dynamodb_read_units": 0,
        },
        ses_messages=1,  # the daily report of one shop
    )
    connect_service = 1000 * CALL_MINUTES * PRICES_USD["amazon_connect_voice_per_minute"]
    connect_telephony = 1000 * CALL_MINUTES * PRICES_USD["amazon_connect_us_did_inbound_per_minute"]
    twilio_calls = twilio_price(call_telephony, calls, nominal_inbound_minutes=CALL_MINUTES)
    twilio_calls_measured = twilio_price(call_telephony, calls)
    twilio_orders = twilio_price(order_telephony, orders)
    for usage in (call_usage, order_usage):
        usage["lambda_seconds"] = round(usage["lambda_seconds"], 3)
    return {
        "benchmark": "cost",
        "what": "local stack, a simulated day: inbound 3-minute calls to an agent, robot-confirmed orders; "
        "counted invocations, API requests and DynamoDB consumed capacity, measured durations billed at "
        f"{CONFIGURED_MEMORY_MB} MB, published US East on-demand prices",
        "calls": calls,
        "orders": orders,
        "configured_memory_mb": CONFIGURED_MEMORY_MB,
        "prices_usd": PRICES_USD,
        "usage_inbound_calls": call_usage,
        "usage_confirmed_orders": order_usage,
        "cost_per_1000_calls_usd": per_call["total"],
        "cost_per_1000_calls_by_service_usd": per_call,
        "target_cost_per_1000_calls_usd": TARGET_USD_PER_1000_CALLS,
        "target_met": per_call["total"] < TARGET_USD_PER_1000_CALLS,
        "cost_per_1000_confirmed_orders_usd": per_order["total"],
        "cost_per_1000_confirmed_orders_by_service_usd": per_order,
        "fixed_cost_per_day_usd": round(fixed["total"], 4),
        "scheduled_median_s": {name: round(seconds, 4) for name, seconds in scheduled.items()},
        "twilio_prices_usd": TWILIO_PRICES_USD,
        "prices_read_on": PRICES_READ_ON,
        "price_sources": PRICE_SOURCES,
        "telephony_inbound_calls": call_telephony,
        "telephony_confirmed_orders": order_telephony,
        "twilio_per_1000_calls_usd": twilio_calls,
        "twilio_per_1000_calls_as_measured_usd": twilio_calls_measured,
        "twilio_per_1000_confirmed_orders_usd": twilio_orders,
        "twilio_number_calls_per_month_assumed": NUMBER_CALLS_PER_MONTH,
        "twilio_not_priced": "the agent's browser leg (Voice SDK minutes), answering machine detection on robot "
        "calls, call recording and storage, SMS carrier fees",
        "amazon_connect_service_per_1000_calls_usd": round(connect_service, 2),
        "amazon_connect_telephony_per_1000_calls_usd": round(connect_telephony, 2),
        "amazon_connect_minutes_per_call": CALL_MINUTES,
    }


def render(document: dict[str, Any]) -> str:
    calls = document["cost_per_1000_calls_by_service_usd"]
    orders = document["cost_per_1000_confirmed_orders_by_service_usd"]
    rows = [
        [
            label,
            f"${figures['total']:.4f}",
            f"${figures['lambda_requests'] + figures['lambda_duration']:.4f}",
            f"${figures['api_gateway']:.4f}",
            f"${figures['dynamodb']:.4f}",
        ]
        for label, figures in (("1,000 inbound 3-minute calls", calls), ("1,000 robot-confirmed orders", orders))
    ]
    table = markdown_table(["AWS cost of", "total", "Lambda", "API Gateway (REST)", "DynamoDB"], rows)
    twilio_calls, twilio_orders = (
        document["twilio_per_1000_calls_usd"],
        document["twilio_per_1000_confirmed_orders_usd"],
    )
    telephony = markdown_table(
        ["telephony (not AWS) for", "Twilio", "of which", "Amazon Connect service", "Amazon Connect telephony"],
        [
            [
                "1,000 inbound 3-minute calls",
                f"${twilio_calls['total']:.2f}",
                f"minutes ${twilio_calls['inbound_minutes']:.2f}, number rent ${twilio_calls['number_rent_share']:.2f}",
                f"${document['amazon_connect_service_per_1000_calls_usd']:.2f}",
                f"${document['amazon_connect_telephony_per_1000_calls_usd']:.2f}",
            ],
            [
                "1,000 robot-confirmed orders",
                f"${twilio_orders['total']:.2f}",
                f"calls ${twilio_orders['outbound_minutes']:.2f}, texts ${twilio_orders['texts']:.2f}",
                "",
                "",
            ],
        ],
    )
    return (
        f"### Cost\n\n{table}\n\n"
        f"Target: under ${document['target_cost_per_1000_calls_usd']} per 1,000 calls "
        f"({'met' if document['target_met'] else 'missed'}). Fixed: schedules and one daily report about "
        f"${document['fixed_cost_per_day_usd']:.4f} a day per deployment.\n\n{telephony}\n\n"
        f"Twilio prices read on {document['prices_read_on']}; not priced: {document['twilio_not_priced']}."
    )
