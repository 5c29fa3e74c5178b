"""A process-wide, short-lived cache of configuration items: shops, the numbers that route to
them and the API keys that open them.

Every webhook and API call starts by resolving one of these, and they change a few times a
year while a warm Lambda serves thousands of requests, so a read per request is waste. The
price is staleness: a change made by another process (the admin CLI, another Lambda) reaches
a warm process after at most ``TTL_SECONDS``; changes made through the repository in this
process are seen at once (the writer forgets the item). Only found items are kept: a key or
number that does not exist is asked again every time (no cache of misses an attacker could
fill, and a new key works at once).
"""

from __future__ import annotations

import threading
import time
from typing import Any

TTL_SECONDS = 60.0
MAX_ITEMS = 2048  # per cache: far above any deployment's shops, numbers and keys


class TtlCache:
    def __init__(self, ttl_seconds: float = TTL_SECONDS, max_items: int = MAX_ITEMS) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_items = max_items
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()  # the local stack serves requests on several threads
        _ALL.append(self)

    def get(self, key: Any) -> Any | None:
        with self._lock:
            held = self._items.get(key)
            if held is None:
                return None
            if held[0] <= time.monotonic():
                del self._items[key]
                return None
            return held[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items.clear()  # crude, and never reached in practice
            self._items[key] = (time.monotonic() + self.ttl_seconds, value)

    def forget(self, key: Any) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_ALL: list[TtlCache] = []


def forget_cached_config() -> None:
    """Forget every cached item (tests and tools that switch databases)."""
    for cache in _ALL:
        cache.clear()
