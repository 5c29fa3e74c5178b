"""``make demo``: a simulated business day of the demo shop on the local stack, ending in the
daily report in the outbox.

Orders are posted over HTTP through the day (some twice by mistake, some retried with the
same Idempotency-Key, a few obviously fake); the Twilio stand-in plays each customer (confirms,
cancels, is busy, never answers, has voicemail, stays silent); the robot dials, retries and
records results. A few orders ask for a call from a person: the shop dials them customer-first
(predictive pacing), bridges each customer who answers to a free agent, and the agent records
the outcome through the API. Callers reach the agents (Oleh takes his in the browser, as a
Twilio Client); one is transferred warm from one agent to the other through the desk API.
The next morning the hourly schedule emails the report. The demo then checks every figure of
the email against what it simulated, and the transfer in the call's record and the agents'
rows, and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
import tomllib
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import requests

from devtools.demo_inbound import (
    AGENTS,
    BROWSER_AGENT,
    InboundLog,
    InboundPlan,
    answered_by,
    issue_agent_tokens,
    plan_inbound,
    start_inbound_day,
)
from devtools.simclock import SimClock
from devtools.stack import DEMO_CONFIG, PROJECT_ROOT, LocalStack, StackOptions
from devtools.twilio_standin import Callee, CallerScript, Press, Silence

SHOP_ZONE = ZoneInfo("Europe/Kyiv")
API_KEY = "demo-shop-key-0001"
Behaviour = Literal["confirms", "cancels", "busy", "no-answer", "voicemail", "silent"]
BEHAVIOUR_WEIGHTS: dict[Behaviour, int] = {
    "confirms": 50,
    "cancels": 14,
    "busy": 9,
    "no-answer": 9,
    "voicemail": 9,
    "silent": 9,
}
REACHES_A_PERSON: tuple[Behaviour, ...] = ("confirms", "cancels", "silent")
NAMES = ["Olena", "Taras", "Iryna", "Andrii", "Oksana", "Dmytro", "Kateryna", "Serhii", "Nataliia", "Bohdan"]
ITEMS = [
    ("ROSE-RED", "Red roses", "85.00"),
    ("TULIP-MIX", "Tulips", "42.50"),
    ("BOUQ-SPRING", "Spring bouquet", "690.00"),
]


@dataclass(frozen=True)
class PlannedOrder:
    at: datetime  # when the shop posts it (UTC)
    order_number: str
    phone: str
    customer_name: str
    behaviour: Behaviour
    total: Decimal
    items: list[dict[str, str | int]]
    fake: bool = False
    posted_again_after: timedelta | None = None  # the site sends it twice: a duplicate
    retried_with_same_key: bool = False  # a network retry: must not create anything
    needs_agent: bool = False  # asks for a call from a person: an agent task, dialed customer-first

    def body(self) -> dict[str, object]:
        return {
            "order_number": self.order_number,
            "phone": self.phone,
            "customer_name": self.customer_name,
            "items": self.items,
            "total": str(self.total),
            "delivery": {"address": "Kyiv, Khreshchatyk 22"},
        } | ({"needs_call": True} if self.needs_agent else {})


@dataclass
class DayPlan:
    day: date
    orders: list[PlannedOrder]

    def expected(self) -> dict[str, str]:
        """The report's figures this day must produce, by the report's row labels."""
        real = [o for o in self.orders if not o.fake]
        duplicates = sum(1 for o in self.orders if o.posted_again_after is not None)
        fakes = sum(1 for o in self.orders if o.fake)
        by_behaviour = Counter(o.behaviour for o in real)
        confirmed_total = sum((o.total for o in real if o.behaviour == "confirms"), Decimal(0))
        return {
            "Orders received": str(len(self.orders) + duplicates),
            "Duplicates": str(duplicates),
            "Fakes": str(fakes),
            "Unique orders": str(len(real)),
            "Customer reached by phone": str(sum(by_behaviour[b] for b in REACHES_A_PERSON)),
            "Confirmed": str(by_behaviour["confirms"]),
            "Cancelled": str(by_behaviour["cancels"]),
            "Unreachable": str(len(real) - by_behaviour["confirms"] - by_behaviour["cancels"]),
            "Still open": "0",
            "Confirmed orders' total": f"{confirmed_total:,.2f}".replace(",", "\u00a0") + "\u00a0UAH",
        }


def plan_day(
    day: date,
    orders: int,
    seed: int,
    first: day_time = day_time(9, 40),
    last: day_time = day_time(18, 30),
    agent_orders: int = 0,  # need the agents of the inbound plan (10:00-16:00)
) -> DayPlan:
    rng = random.Random(seed)
    start = datetime.combine(day, first, tzinfo=SHOP_ZONE).astimezone(UTC)
    span = (datetime.combine(day, last, tzinfo=SHOP_ZONE).astimezone(UTC) - start).total_seconds()
    behaviours = list(BEHAVIOUR_WEIGHTS)
    planned = []
    for index in range(orders):
        quantity = rng.randint(1, 3)
        sku, name, price = rng.choice(ITEMS)
        fake = index % 20 == 7  # about one in twenty
        planned.append(
            PlannedOrder(
                at=start + timedelta(seconds=rng.uniform(0, span)),
                order_number=f"KV-{10_000 + index}",
                phone="12-34" if fake and index % 40 == 7 else f"+38067{1_000_000 + index:07d}",
                customer_name="Test" if fake else rng.choice(NAMES),
                behaviour=rng.choices(behaviours, weights=list(BEHAVIOUR_WEIGHTS.values()))[0],
                total=Decimal(price) * quantity,
                items=[{"sku": sku, "name": name, "quantity": quantity, "price": price}],
                fake=fake,
                posted_again_after=timedelta(minutes=rng.randint(2, 40)) if rng.random() < 0.15 else None,
                retried_with_same_key=rng.random() < 0.1,
            )
        )
    # While the agents are in (10:00-16:00), between the inbound callers (on the hour and half hour).
    first_agent_order = datetime.combine(day, day_time(10, 10), tzinfo=SHOP_ZONE).astimezone(UTC)
    for index in range(agent_orders):
        quantity = rng.randint(1, 3)
        sku, name, price = rng.choice(ITEMS)
        planned.append(
            PlannedOrder(
                at=first_agent_order + timedelta(minutes=30 * index),
                order_number=f"KV-{20_000 + index}",
                phone=f"+38068{1_000_000 + index:07d}",
                customer_name=rng.choice(NAMES),
                behaviour="cancels" if index % 3 == 2 else "confirms",
                total=Decimal(price) * quantity,
                items=[{"sku": sku, "name": name, "quantity": quantity, "price": price}],
                needs_agent=True,
            )
        )
    return DayPlan(day, sorted(planned, key=lambda o: o.at))


def callee_for(behaviour: Behaviour, rng: random.Random) -> Callee:
    ring = rng.uniform(2, 12)
    if behaviour == "confirms":
        return Callee(answer="human", ring_seconds=ring, script=CallerScript([Press("1")]))
    if behaviour == "cancels":
        return Callee(
            answer="human", ring_seconds=ring, script=CallerScript([Press("2"), Press("1")])
        )  # 2, then 1 to the read-back
    if behaviour == "silent":
        return Callee(answer="human", ring_seconds=ring, script=CallerScript([Silence(), Silence()]))
    if behaviour == "voicemail":
        return Callee(answer="machine", ring_seconds=ring)
    return Callee(answer=behaviour, ring_seconds=ring)


@dataclass
class DayResult:
    posts: Counter[int] = field(default_factory=Counter)  # HTTP status -> count
    report_html: Path | None = None
    report_figures: dict[str, str] = field(default_factory=dict)
    report_agent_rows: list[str] = field(default_factory=list)  # "Agent anna  6 calls  talk ..."
    decided_by_agents: int = 0
    inbound: InboundLog = field(default_factory=InboundLog)
    browser_agent_calls: int = 0  # calls the browser agent answered (the stand-in's device)


def play_day(
    stack: LocalStack,
    clock: SimClock,
    plan: DayPlan,
    *,
    progress: bool,
    call_window_end: day_time = day_time(22, 0),
    inbound: InboundPlan | None = None,
) -> DayResult:
    result = DayResult()
    # One token per agent for the whole day: issuing again would revoke the one in use.
    tokens = issue_agent_tokens(clock.now())
    callers = start_inbound_day(stack, clock, inbound, tokens, result.inbound) if inbound else None
    rng = random.Random(plan.day.toordinal())
    for order in plan.orders:
        if not order.fake:
            stack.standin.set_callee(order.phone, callee_for(order.behaviour, rng))
    posts: list[tuple[datetime, PlannedOrder, str | None]] = []
    for order in plan.orders:
        posts.append((order.at, order, f"checkout-{order.order_number}"))
        if order.posted_again_after is not None:
            posts.append((order.at + order.posted_again_after, order, None))
    posts.sort(key=lambda post: post[0])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {API_KEY}"
    last_report = clock.now()
    decided_by_agents: set[str] = set()
    for at, order, key in posts:
        _sleep_until(clock, at)
        record_agent_outcomes(stack, session, plan, tokens, decided_by_agents)
        headers = {"Idempotency-Key": key} if key else {}
        response = session.post(f"{stack.api_url}/v1/orders", json=order.body(), headers=headers, timeout=15)
        result.posts[response.status_code] += 1
        if key and order.retried_with_same_key:
            retry = session.post(f"{stack.api_url}/v1/orders", json=order.body(), headers=headers, timeout=15)
            result.posts[retry.status_code] += 1
        if progress and clock.now() - last_report >= timedelta(hours=1):
            last_report = clock.now()
            _print_progress(stack, clock, plan)
    if callers is not None:
        callers.join()
    end_of_calls = datetime.combine(plan.day, call_window_end, tzinfo=SHOP_ZONE).astimezone(UTC)
    while clock.now() < end_of_calls:
        _sleep_until(clock, min(end_of_calls, clock.now() + timedelta(hours=1)))
        if progress:
            _print_progress(stack, clock, plan)
    stack.wait_quiet(timeout=60)
    record_agent_outcomes(stack, session, plan, tokens, decided_by_agents)
    result.decided_by_agents = len(decided_by_agents)
    result.browser_agent_calls = answered_by(stack, AGENTS[BROWSER_AGENT])
    # The next morning the hourly schedule sends yesterday's report at the shop's report hour.
    clock.advance_to(
        datetime.combine(plan.day + timedelta(days=1), day_time(7, 59, 30), tzinfo=SHOP_ZONE).astimezone(UTC)
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reports = [m for m in stack.ses.messages() if plan.day.isoformat() in str(m.message["Subject"])]
        if reports:
            result.report_html = reports[0].html_path
            result.report_figures = report_figures(reports[0].message)
            result.report_agent_rows = report_agent_rows(reports[0].message)
            break
        time.sleep(0.2)
    return result


def record_agent_outcomes(
    stack: LocalStack, session: requests.Session, plan: DayPlan, tokens: dict[str, str], done: set[str]
) -> None:
    """The agents' side of each customer-first call that reached them: confirmed or cancelled,
    as the customer told them, saved through the outcome API (SPEC A4)."""
    from chalicelib.adapters.dynamo.schema import CallItem

    behaviours = {o.phone: o.behaviour for o in plan.orders if o.needs_agent}
    for call in CallItem.by_shop_day.query(f"demo#{plan.day.isoformat()}"):
        if call.call_sid in done or call.direction != "outbound-predictive" or call.result != "agent-talked":
            continue
        if call.agent_id not in tokens:
            continue
        outcome = "confirmed" if behaviours.get(call.customer_phone) == "confirms" else "cancelled"
        response = session.post(
            f"{stack.api_url}/v1/calls/{call.call_sid}/outcome",
            json={"outcome": outcome},
            headers={"Authorization": f"Bearer {tokens[call.agent_id]}"},  # the agent's own desk token
            timeout=15,
        )
        if response.status_code in (200, 201):  # 201: saved; 200: a correction of an earlier save
            done.add(call.call_sid)


def dialer_day_figures(day: date) -> tuple[int, int, int]:
    """The predictive dialer's stored day: (dials, live answers, drops)."""
    from chalicelib.adapters.dynamo.store import store as dynamo_store

    counts = dynamo_store().day_counts("demo", day.isoformat())
    return counts.dials, counts.live_answers, counts.drops


def expected_drop_rate(live_answers: int, drops: int) -> str:
    """The report's "Drop rate" row, from the dialer's stored counters."""
    from chalicelib.domain.report.figures import Share
    from chalicelib.services.reports.render import format_percent

    return format_percent(Share(drops, live_answers, "live answers")) if live_answers else "0.0%"


def use_customer_first_dialing() -> None:
    """The demo shop dials its agent tasks customer-first (predictive pacing, SPEC O8)."""
    from chalicelib.wiring import repository

    shop = repository().get_shop("demo")
    assert shop is not None
    dialing = shop.dialing.model_copy(update={"agent_pacing": "predictive"})
    repository().save_shop(shop.model_copy(update={"dialing": dialing}), datetime.now(UTC))


def _plain_text(message: object) -> str:
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


def report_agent_rows(message: object) -> list[str]:
    """The report's rows of the agents ('Agent anna   6 calls   talk ...; transferred 1')."""
    return [" ".join(line.split()) for line in _plain_text(message).splitlines() if line.startswith("  Agent ")]


def transfer_checks(result: DayResult) -> list[tuple[str, str, bool]]:
    """What the demo checks of its warm transfers: done through the desk API, the call handled by
    both agents, and the report's row of the first agent counting the calls it handed on."""
    checks = []
    for transfer in result.inbound.transfers:
        by = " → ".join(transfer.handled_by) or "—"
        checks.append((f"transfer {transfer.caller}: {', '.join(transfer.steps)}", f"handled by {by}", transfer.done))
        both = transfer.handled_by == [transfer.from_agent, transfer.to_agent]
        checks.append((f"call record of {transfer.call_sid or '—'}", "handled by both agents", both))
    handed = Counter(t.from_agent for t in result.inbound.transfers if t.done)
    for agent_id, count in sorted(handed.items()):
        row = next((r for r in result.report_agent_rows if r.startswith(f"Agent {agent_id} ")), "")
        shown = f"transferred {count}"
        checks.append((f"the report's row Agent {agent_id}", shown if shown in row else row or "missing", shown in row))
    return checks


def report_figures(message: object) -> dict[str, str]:
    """Label -> value from the report's plain-text part ('  Confirmed      12   40% of ...')."""
    text = _plain_text(message)
    figures = {}
    for line in text.splitlines():
        if line.startswith("  ") and len(line) > 44:
            label, value = line[2:44].strip(), line[45:59].strip()  # "  %-42s %14s"
            if label and value:
                figures[label] = value
    return figures


def _sleep_until(clock: SimClock, instant: datetime) -> None:
    seconds = (instant - clock.now()).total_seconds()
    if seconds > 0:
        clock.sleep(seconds)


def _print_progress(stack: LocalStack, clock: SimClock, plan: DayPlan) -> None:
    from chalicelib.adapters.dynamo.schema import OrderItem

    statuses = Counter(o.status for o in OrderItem.by_shop_day.query(f"demo#{plan.day.isoformat()}"))
    calls = len(stack.standin.calls)
    local = clock.now().astimezone(SHOP_ZONE)
    print(
        f"  [{local:%H:%M}] orders {sum(statuses.values()):3d} | robot calls {calls:3d} | "
        f"confirmed {statuses['confirmed']:3d} | cancelled {statuses['cancelled']:3d} | "
        f"duplicates {statuses['duplicate']:2d} | fakes {statuses['fake']:2d} | "
        f"waiting {statuses['queued'] + statuses['received']:3d} | unreachable {statuses['unreachable']:2d}",
        flush=True,
    )


def demo_shop_holidays(config_path: Path = DEMO_CONFIG) -> frozenset[date]:
    """The demo shop's holidays from its config: the phones are closed, so no day is played on one."""
    from chalicelib.domain.shop import BusinessHours

    shops = tomllib.loads(config_path.read_text(encoding="utf-8"))["shops"]
    demo = next(shop for shop in shops if shop["shop_id"] == "demo")
    return frozenset(BusinessHours.model_validate(demo.get("business_hours", {})).holidays)


def last_working_day(day: date, holidays: frozenset[date]) -> date:
    """``day`` itself, or the last weekday before it that is not one of the shop's holidays."""
    while day.weekday() >= 5 or day in holidays:
        day -= timedelta(days=1)
    return day


def working_day_arg(text: str) -> date:
    """``--day``: an ISO date that falls on a weekday the demo shop is open (not one of its holidays)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if day.weekday() >= 5:
        raise argparse.ArgumentTypeError(f"{day:%A %Y-%m-%d} is not a weekday")
    if day in demo_shop_holidays():
        raise argparse.ArgumentTypeError(f"{day:%A %Y-%m-%d} is one of the shop's holidays (config/demo.toml)")
    return day


def compare(expected: dict[str, str], reported: dict[str, str]) -> list[tuple[str, str, str, bool]]:
    return [(label, value, reported.get(label, "—"), reported.get(label) == value) for label, value in expected.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--speed", type=float, default=450.0, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--outbox", type=Path, default=PROJECT_ROOT / "outbox")
    parser.add_argument(
        "--day",
        type=working_day_arg,
        default=None,
        help="the working day to play, YYYY-MM-DD (default: today in Kyiv, or the last working day before it)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The app's JSON log and metric lines stay out of the demo's progress; warnings still show.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    # Outside Lambda, Powertools' idempotency warns that it has no invocation deadline to use.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left", category=UserWarning)
    from chalicelib.observability import logger as app_logger

    app_logger.setLevel("WARNING")

    # The shop takes calls on working days; the wall clock is read only when no day is given.
    day: date = args.day or last_working_day(datetime.now(SHOP_ZONE).date(), demo_shop_holidays())
    plan = plan_day(day, args.orders, args.seed, agent_orders=6)
    inbound = plan_inbound(day, SHOP_ZONE, args.seed)
    # Paused while the stack starts: on a busy machine that takes long enough to skip hours of the day.
    clock = SimClock(datetime.combine(day, day_time(9, 30), tzinfo=SHOP_ZONE).astimezone(UTC), speed=0)
    print(
        f"Demo: {args.orders} orders and {len(inbound.calls)} callers for 'Kvitka Flowers' on {day:%A %Y-%m-%d} "
        f"(Kyiv), the day played {args.speed:g}x faster"
    )
    started = time.monotonic()
    with LocalStack(StackOptions(clock=clock, outbox_dir=args.outbox, standin_speed=args.speed)) as stack:
        up = time.monotonic() - started
        print(f"  local stack up in {up:.1f} s: API {stack.api_url}, Twilio stand-in {stack.standin.base_url}")
        use_customer_first_dialing()
        clock.set_speed(args.speed)
        result = play_day(stack, clock, plan, progress=True, inbound=inbound)
        dials, live_answers, drops = dialer_day_figures(day)
        failures = stack.poller.stats()["failures"] if stack.poller else 0
        errors = [e for call in stack.standin.calls for e in call.transcript.application_errors]
    print(f"  simulated day done in {time.monotonic() - started:.0f} s; HTTP answers to the shop: {dict(result.posts)}")
    if result.report_html is None:
        print("FAILED: no report email reached the outbox", file=sys.stderr)
        return 1
    print(
        f"  agent tasks dialed customer-first: {dials} calls, {live_answers} answered by a person, {drops} dropped; "
        f"orders decided by agents: {result.decided_by_agents}"
    )
    expected = plan.expected() | inbound.expected() | {"Drop rate": expected_drop_rate(live_answers, drops)}
    rows = compare(expected, result.report_figures)
    width = max(len(label) for label, *_ in rows)
    print(f"\n  {'figure':<{width}}  {'simulated':>16}  {'in the report':>16}")
    for label, simulated, reported, same in rows:
        print(f"  {label:<{width}}  {simulated:>16}  {reported:>16}  {'ok' if same else 'DIFFERENT'}")
    token = result.inbound.browser_token
    print(
        f"\n  browser agent: {BROWSER_AGENT} takes calls in the agent page as Twilio Client "
        f"{AGENTS[BROWSER_AGENT]!r} (token for {token.get('identity', token)!r}, {token.get('ttl_seconds', '?')} s; "
        f"the stand-in's scripted device answers in the page's place): {result.browser_agent_calls} calls answered"
    )
    checks = transfer_checks(result)
    if not result.inbound.transfers:
        checks.append(("warm transfer", "none played", False))
    print("  the report's agents' rows:")
    for row in result.report_agent_rows:
        print(f"    {row}")
    print("  warm transfers (desk API, as the agent's page does):")
    for what, value, same in checks:
        print(f"    {what}: {value}  {'ok' if same else 'DIFFERENT'}")
    print(f"\n  stream records given up: {failures}; calls that heard an application error: {len(errors)}")
    print(f"\nReport: {result.report_html}")
    print("        (open it in a browser; the .eml beside it is the email as sent)")
    checked = all(same for *_, same in rows) and all(same for *_, same in checks)
    browser = result.browser_agent_calls > 0 and token.get("identity") == BROWSER_AGENT
    return 0 if checked and browser and failures == 0 and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
