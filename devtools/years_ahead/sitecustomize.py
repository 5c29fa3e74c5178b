"""Loaded by every Python process of `make test-years-ahead` (it is first on PYTHONPATH there).

That run moves the wall clock a year ahead with Debian's libfaketime (0.9.10). CPython's timed
lock waits use sem_clockwait on CLOCK_MONOTONIC, which libfaketime does not translate, so with a
faked monotonic clock every `Event.wait(timeout)` would last a year: the run sets
FAKETIME_DONT_FAKE_MONOTONIC=1. Then libfaketime's clock_nanosleep refuses CPython's absolute
monotonic sleeps with EINVAL, so `time.sleep` waits on an Event instead, which measures the same
real seconds.
"""

import threading
import time
from typing import SupportsIndex


def _sleep(seconds: float | SupportsIndex) -> None:
    seconds = float(seconds)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


time.sleep = _sleep
