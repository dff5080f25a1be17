"""Exponential backoff: deterministic (no jitter), capped, with a bounded number of attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """Delays before retries: ``first``, then multiplied by ``factor`` each time, never above
    ``cap``; at most ``max_attempts`` attempts in all (the first try included)."""

    first: timedelta
    cap: timedelta
    max_attempts: int
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.cap < self.first:
            raise ValueError("a backoff needs 0 < first <= cap")
        if self.max_attempts < 1 or self.factor < 1:
            raise ValueError("a backoff needs max_attempts >= 1 and factor >= 1")

    def delay(self, retry: int) -> timedelta:
        """Given the retry number (1 for the first retry), return the wait before it."""
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, got {retry}")
        seconds = self.first.total_seconds() * self.factor ** (retry - 1)
        return min(self.cap, timedelta(seconds=seconds))

    def next_delay(self, attempts_made: int) -> timedelta | None:
        """Given how many attempts were made (all failed), return the wait before the next one,
        or None when the attempts are used up. The first attempt (none made) waits nothing."""
        if attempts_made >= self.max_attempts:
            return None
        if attempts_made <= 0:
            return timedelta(0)
        return self.delay(attempts_made)

    def schedule(self) -> tuple[timedelta, ...]:
        """Return every wait a fully failing run goes through, in order."""
        return tuple(self.delay(retry) for retry in range(1, self.max_attempts))
