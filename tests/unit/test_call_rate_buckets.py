"""The account's calls per second as windows each taking ``calls_per_second`` calls (#19)."""

from __future__ import annotations

import pytest

from chalicelib.domain.call_rate import rate_buckets


def test_windows_of_a_second_take_the_limit_and_reach_no_further_than_the_wait():
    buckets = rate_buckets(100.4, 10.0, 2.0)

    assert [(b.index, b.start, b.capacity) for b in buckets] == [(100, 100.0, 10), (101, 101.0, 10), (102, 102.0, 10)]
    first, third = buckets[0].slot(1, 100.4, 10.0), buckets[1].slot(3, 100.4, 10.0)
    assert first.at == 100.4  # not before now
    assert third.at == pytest.approx(101.2)  # the third call of its window, spread a tenth apart


def test_below_one_call_a_second_a_window_is_one_interval_long():
    buckets = rate_buckets(100.0, 0.5, 5.0)

    assert [(b.start, b.width, b.capacity) for b in buckets] == [(100.0, 2.0, 1), (102.0, 2.0, 1), (104.0, 2.0, 1)]
    with pytest.raises(ValueError):
        rate_buckets(100.0, 0, 5.0)
