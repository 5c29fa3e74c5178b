"""What ``LocalStack.wait_quiet`` answers: true once the stack settled, else what was still busy
at the deadline, in words, so that a test's ``assert stack.wait_quiet()`` failing in CI names
the call, conference or stream record that kept it busy (#19: a CI-only timeout said nothing)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quiet:
    busy: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return not self.busy

    def __repr__(self) -> str:
        return "Quiet()" if not self.busy else "NotQuiet(" + "; ".join(self.busy) + ")"


def poller_busy(poller: Any) -> list[str]:
    """The stream records the poller still holds: deliveries running, shards with records
    fetched and not yet handled, records failing and waiting for their retry. Read from the
    poller's workers (devtools.stream_poller has no public view of them)."""
    if poller is None:
        return []
    lines = []
    in_flight = int(getattr(poller, "_deliveries_in_flight", 0))
    if in_flight:
        lines.append(f"{in_flight} stream deliveries running")
    now = time.monotonic()
    for worker in list(getattr(poller, "_workers", [])):
        for shard in list(worker.shards.values()):
            if not shard.buffer and shard.failing_sequence is None:
                continue
            line = f"stream {worker.consumer.name} shard {shard.shard_id}: {len(shard.buffer)} records waiting"
            if shard.failing_sequence is not None:
                line += f", record {shard.failing_sequence} failed {shard.attempts} times"
                line += f", next try in {max(0.0, shard.retry_at - now):.1f} s"
            lines.append(line)
    return lines
