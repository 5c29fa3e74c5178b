"""The shop's CRM push (A6), the pure part: stable event ids, the JSON bodies, the signature
header, the retry schedule and which URLs a CRM may have.

Signature header (``X-Callcenter-Signature``): ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` where
the HMAC is keyed by the shop's CRM secret over ``"<t>." + raw body``. A CRM checks it with
``verify_signature`` (or the same few lines in its own language) and refuses a timestamp more
than ``REPLAY_WINDOW`` away from its clock, then drops event ids it has already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Callcenter-Signature"
EVENT_ID_HEADER = "X-Callcenter-Event-Id"
REPLAY_WINDOW = timedelta(minutes=5)
# Retries: 1, 2, 4, ... minutes, at most 4 hours apart, for a day after the first try.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=4)
GIVE_UP_AFTER = timedelta(days=1)
# Statuses an order reaches by a decision (robot, SMS, agent, dedup); a change into one of
# them, or out of one (a correction), is news for the CRM. received -> queued is not.
DECIDED_STATUSES = frozenset({"confirmed", "cancelled", "unreachable", "duplicate", "fake"})


class SignatureRefused(ValueError):
    pass


class CrmUnreachable(Exception):
    """No HTTP answer: DNS, refused connection, TLS, timeout. Worth retrying."""


class CrmAddressRefused(Exception):
    """The CRM's host resolves to an address it must not have. No retry fixes it."""


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One event for a shop's CRM as the outbox keeps it."""

    event_id: str
    shop_id: str
    kind: str  # call.outcome | order.status_changed | order.route_changed
    subject: str  # the call sid or order id
    body: str  # the exact JSON POSTed
    created_at: datetime
    state: str = "pending"  # pending | delivered | parked
    attempts: int = 0
    retrying_since: datetime | None = None
    next_attempt_at: datetime | None = None
    parked_at: datetime | None = None
    delivered_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    customer: str | None = None  # ``domain.erasure.customer_hash`` of the phone the body names


def _digest(*parts: str) -> str:
    return "evt_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def outcome_event_id(shop_id: str, call_sid: str, first_saved_key: str) -> str:
    """One id per outcome as the agent meant it: the save that first said it (a second
    identical save, or the stream delivering it again, gives the same id; a correction that
    changes anything starts a new one)."""
    return _digest("outcome", shop_id, call_sid, first_saved_key)


def order_event_id(shop_id: str, order_id: str, previous: str | None, status: str, decided_at: datetime | None) -> str:
    """One id per change of an order's status; every transition stamps ``decided_at``, so
    a confirmation corrected and confirmed again is two events, a redelivered record one."""
    stamp = decided_at.isoformat() if decided_at else ""
    return _digest("order", shop_id, order_id, previous or "", status, stamp)


def route_event_id(shop_id: str, order_id: str, previous_route: str, route: str) -> str:
    """One id per change of an open order's route (a robot order the customer gave to an agent):
    a redelivered record gives the same id."""
    return _digest("route", shop_id, order_id, previous_route, route)


def route_change_is_news(previous_route: str | None, route: str | None) -> bool:
    """An order already routed (O5) that goes another way; the first route, set with the
    order's queueing, is not news."""
    return bool(previous_route and route and previous_route != route)


def order_change_is_news(previous: str | None, status: str) -> bool:
    if previous is None or previous == status:
        return False
    return status in DECIDED_STATUSES or previous in DECIDED_STATUSES


@dataclass(frozen=True, slots=True)
class OutcomeFacts:
    """One save of an outcome, as the CRM event describes it."""

    call_sid: str
    saved_key: str  # ordered and unique per call
    agent_id: str
    outcome: str
    comment: str
    callback_at: datetime | None
    saved_at: datetime

    def content(self) -> tuple[str, str, str, str]:
        return (self.agent_id, self.outcome, self.comment, self.callback_at.isoformat() if self.callback_at else "")


def first_save_of_same(history: list[OutcomeFacts], saved_key: str) -> OutcomeFacts:
    """The earliest save, in the uninterrupted run of identical saves ending at ``saved_key``.
    ``history`` is the call's saves in order (at least up to ``saved_key``)."""
    upto = [fact for fact in history if fact.saved_key <= saved_key]
    if not upto or upto[-1].saved_key != saved_key:
        raise LookupError(f"save {saved_key!r} is not in the call's history")
    first = upto[-1]
    for fact in reversed(upto[:-1]):
        if fact.content() != first.content():
            break
        first = fact
    return first


def event_body(event_id: str, kind: str, shop_id: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (stored as such, so every retry sends the same body)."""
    document = {"id": event_id, "type": kind, "shop_id": shop_id, "occurred_at": occurred_at.isoformat(), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# ---- signing ---------------------------------------------------------------------------------
def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(header: str, body: bytes, secret: bytes, now: datetime, window: timedelta = REPLAY_WINDOW) -> int:
    """The signed timestamp, or ``SignatureRefused``: what a CRM should do with each request."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        raise SignatureRefused("no timestamp") from None
    if abs(now.timestamp() - timestamp) > window.total_seconds():
        raise SignatureRefused("timestamp outside the replay window")
    if not hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body)):
        raise SignatureRefused("signature does not match")
    return timestamp


# ---- retries ---------------------------------------------------------------------------------
def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: exponential, capped. The exponent stops
    growing once past the cap (timedelta overflows near 2**40 minutes: a replayed event may
    carry any count)."""
    doublings = 0
    while doublings < attempts - 1 and FIRST_RETRY * (2**doublings) < LONGEST_RETRY:
        doublings += 1
    return min(FIRST_RETRY * (2**doublings), LONGEST_RETRY)


def next_attempt_at(attempts: int, retrying_since: datetime, now: datetime) -> datetime | None:
    """When to try again after a failure, or None: a day of failures parks the event."""
    at = now + retry_delay(attempts)
    return at if at <= retrying_since + GIVE_UP_AFTER else None


def retryable_status(status: int) -> bool:
    """5xx, 408 and 429 are the CRM's trouble and pass; other answers are refusals that no
    retry fixes (the event is parked for an operator to look at and replay)."""
    return status >= 500 or status in (408, 429)


# ---- where a CRM may be --------------------------------------------------------------------
def crm_url_problem(url: str, *, local: bool) -> str | None:
    """Why the URL cannot be a CRM endpoint, or None. In the cloud: https and a public host;
    locally http is allowed too, on loopback only."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a URL: {error}"
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    if port == 0:
        return "bad port"
    loopback = host == "localhost" or host.endswith(".localhost")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        problem = address_problem(address, local=local)
        if problem:
            return problem
        loopback = address.is_loopback
    elif loopback and not local:
        return "must not point at a loopback address"
    if parts.scheme == "http" and not (local and loopback):
        return "must be https (http only on loopback in local mode)"
    return None


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, local: bool) -> str | None:
    """Why a resolved address must not be connected to, or None (checked again at delivery,
    so a name that resolves to a private address is refused too). An IPv6 address that
    stands for an IPv4 one (IPv4-mapped or -compatible, NAT64, 6to4) is judged by that one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL_USE:
            return "must not point at a private or reserved address"
        address = embedded_ipv4(address) or address
    if address.is_loopback:
        return None if local else "must not point at a loopback address"
    if address.is_link_local:
        return "must not point at a link-local address"
    if not address.is_global or address.is_multicast:  # private, shared (CGNAT), reserved, documentation, Teredo
        return "must not point at a private or reserved address"
    return None


# RFC 6052's well-known NAT64 prefix carries the IPv4 address in its last 32 bits; RFC 8215's
# local-use prefix belongs to a private translator; ::/96 is RFC 4291's deprecated IPv4-compatible form.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, or None: '::ffff:10.0.0.1', '::127.0.0.1',
    '64:ff9b::a9fe:a9fe' and '2002:a9fe:a9fe::1' all lead to an IPv4 host."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):  # '::' and '::1' are IPv6's own
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None
