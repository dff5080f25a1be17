"""The injected clock and the backoff every bounded retry uses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mediastack.supervisor.backoff import Backoff
from mediastack.supervisor.clock import FakeClock, SystemClock, require_aware


def test_fake_clock_moves_only_when_advanced() -> None:
    clock = FakeClock()
    start = clock.now()
    assert clock.now() == start
    clock.advance(90)
    clock.advance(timedelta(minutes=1))
    assert clock.now() - start == timedelta(seconds=150)
    assert clock.monotonic() == 150.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_system_clock_is_utc_and_monotonic() -> None:
    clock = SystemClock()
    assert clock.now().utcoffset() == timedelta(0)
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_a_naive_time_is_refused_where_it_enters() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        require_aware(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 1, 1))


def test_backoff_doubles_up_to_its_cap_and_is_deterministic() -> None:
    backoff = Backoff(timedelta(seconds=5), timedelta(seconds=30), max_attempts=6)
    assert [delay.total_seconds() for delay in backoff.schedule()] == [5, 10, 20, 30, 30]
    assert backoff.schedule() == backoff.schedule()


def test_backoff_attempts_are_bounded() -> None:
    backoff = Backoff(timedelta(seconds=5), timedelta(seconds=60), max_attempts=3)
    assert backoff.next_delay(0) == timedelta(0)
    assert backoff.next_delay(1) == timedelta(seconds=5)
    assert backoff.next_delay(2) == timedelta(seconds=10)
    assert backoff.next_delay(3) is None


@pytest.mark.parametrize(
    ("first", "cap", "attempts"),
    [(0, 10, 3), (10, 5, 3), (5, 10, 0)],
)
def test_backoff_refuses_unbounded_or_inverted_settings(
    first: int, cap: int, attempts: int
) -> None:
    with pytest.raises(ValueError):
        Backoff(timedelta(seconds=first), timedelta(seconds=cap), max_attempts=attempts)
