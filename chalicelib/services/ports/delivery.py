"""Reaching the outside once: the shop's CRM (A6) through its outbox, and the keys that send a
text or an e-mail, run an action or answer an API request at most once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.crm import OutboxEvent


class Outbox(Protocol):
    def add(self, event: OutboxEvent) -> bool: ...
    def get(self, event_id: str) -> OutboxEvent | None: ...
    def claim(self, event_id: str, attempts: int, lease_until: datetime) -> bool: ...
    def delivered(self, event_id: str, now: datetime, status: int) -> None: ...
    def retry_at(self, event_id: str, at: datetime, error: str, status: int | None) -> None: ...
    def park(self, event_id: str, shop_id: str, now: datetime, error: str, status: int | None) -> None: ...
    def replay(self, event_id: str, now: datetime) -> bool: ...
    def due(self, shop_id: str, now: datetime, limit: int) -> list[str]: ...
    def parked(self, shop_id: str) -> list[OutboxEvent]: ...


class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


SecretOf = Callable[[str], bytes]


# ---- "once" ---------------------------------------------------------------------------------
# once(key, send): runs ``send`` (returning the provider's message id) unless a message with this
# key went before; True when this call sent it.
SendOnce = Callable[[dict[str, str], Callable[[], str]], bool]

# once(key, action): ``action()``'s result from the first run for ``key``; later runs return it.
Once = Callable[[str, Callable[[], Any]], Any]

# idempotent(request, action, lambda_context): ``action()``'s answer for the first request with
# its key; the same key again gets the stored answer (another body for it is refused).
Idempotent = Callable[[dict[str, Any], Callable[[], dict[str, Any]], Any], dict[str, Any]]
