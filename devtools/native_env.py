"""The environment for the native programs the local tools start (DynamoDB Local's JVM, Chromium).

Under `make test-years-ahead` every process runs under libfaketime. Python needs
FAKETIME_DONT_FAKE_MONOTONIC=1 there (see devtools/years_ahead/sitecustomize.py); the JVM and
Chromium must not have it: with a faked wall clock and a real monotonic one, the JVM starts 80
times slower and Chromium does not come up at all. Outside that run this is just our environment.
"""

from __future__ import annotations

import os

PYTHON_ONLY = frozenset({"FAKETIME_DONT_FAKE_MONOTONIC"})


def native_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in PYTHON_ONLY}
