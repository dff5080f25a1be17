"""Time as an injected dependency: the decision core never reads the system clock itself.

Every pure function in the supervisor takes ``now`` (a timezone-aware UTC ``datetime``); the
runtime gets it from a :class:`Clock`. Tests drive hour-long windows with :class:`FakeClock`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the supervisor reads the time."""

    def now(self) -> datetime:
        """Return the current wall-clock time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Return seconds from an arbitrary start that never go backwards (for durations)."""
        ...


def require_aware(moment: datetime) -> datetime:
    """Given a datetime, return it converted to UTC; raise ValueError when it is naive.

    A naive datetime would be compared with aware ones later and fail far from its origin, so
    it is refused where it enters.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; the supervisor needs aware UTC times")
    return moment.astimezone(UTC)


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()


DEFAULT_FAKE_START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told: ``advance()`` moves wall and monotonic time together."""

    def __init__(self, start: datetime = DEFAULT_FAKE_START) -> None:
        self._now = require_aware(start)
        self._monotonic = 0.0

    def now(self) -> datetime:
        """Return the fake current time."""
        return self._now

    def monotonic(self) -> float:
        """Return the fake seconds elapsed since construction."""
        return self._monotonic

    def advance(self, amount: float | timedelta) -> datetime:
        """Given seconds or a timedelta (not negative), move time forward and return the new now."""
        step = amount if isinstance(amount, timedelta) else timedelta(seconds=amount)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._now += step
        self._monotonic += step.total_seconds()
        return self._now
