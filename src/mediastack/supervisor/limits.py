"""The cascade rate limit: at most N cascades in any rolling window; beyond that, a loop pause.

The (N+1)th cascade requested within the window is refused as ``RateLimited`` and pauses
cascades until ``now + pause``; every request during the pause is refused as ``Paused`` (the
caller already said so once). ``resume()`` lifts the pause and forgets the window, so the user
who fixed the cause gets a fresh budget. The state is plain data, to be persisted as it is.

A request names its gluetun container. A cascade counted for one container stays the open
charge until it reaches healing (``settle``): a burst of restarts of that container while it
never turned healthy, or its healthy event after the cascade gave up waiting, rides on that one
count. So one gluetun start costs one cascade however slow the VPN is; a container that turns
healthy and restarts again is counted again, which is what catches a restart loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mediastack.config.schema import Supervisor
from mediastack.supervisor.clock import require_aware

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class LimiterState:
    """When the cascades in the window started, and the end of a pause (None: not paused)."""

    cascade_times: tuple[datetime, ...] = ()
    pause_until: datetime | None = None
    open_charge: str | None = None  # the gluetun container counted and not yet healing


@dataclass(frozen=True)
class Allowed:
    """The cascade may run; it is now counted in the window."""

    cascades_in_window: int


@dataclass(frozen=True)
class RateLimited:
    """Refused: the limit is exceeded, which is a restart loop; cascades pause until ``until``."""

    until: datetime
    cascades_in_window: int


@dataclass(frozen=True)
class Paused:
    """Refused: cascades were already paused until ``until``."""

    until: datetime


LimitDecision = Allowed | RateLimited | Paused


@dataclass(frozen=True)
class LimiterStatus:
    """What ``mediastack status`` shows: watching, or paused until a time."""

    paused_until: datetime | None
    cascades_in_window: int

    @property
    def watching(self) -> bool:
        """Return True when cascades are allowed to run."""
        return self.paused_until is None


class CascadeLimiter:
    """Counts cascades in a rolling window and pauses them on a restart loop."""

    def __init__(
        self,
        max_per_window: int,
        pause: timedelta,
        window: timedelta = HOUR,
        state: LimiterState | None = None,
    ) -> None:
        if max_per_window < 1 or pause <= timedelta(0) or window <= timedelta(0):
            raise ValueError("a limiter needs max_per_window >= 1 and a positive pause and window")
        self._max = max_per_window
        self._pause = pause
        self._window = window
        self._state = state or LimiterState()

    @classmethod
    def from_settings(
        cls, settings: Supervisor, state: LimiterState | None = None
    ) -> CascadeLimiter:
        """Given the config's supervisor section, return a limiter with its limit and pause."""
        return cls(
            settings.max_cascades_per_hour,
            timedelta(seconds=settings.loop_pause_seconds),
            HOUR,
            state,
        )

    @property
    def state(self) -> LimiterState:
        """Return the current state, to persist."""
        return self._state

    def request(self, now: datetime, container_id: str | None = None) -> LimitDecision:
        """Given the time a cascade wants to start (for gluetun ``container_id``), return
        whether it may; count it if it may (unless that container's count is still open),
        start the loop pause if it exceeds the limit."""
        now = require_aware(now)
        self.expire_pause(now)
        if self._state.pause_until is not None:
            return Paused(self._state.pause_until)
        recent = self._recent(now)
        charged = container_id is not None and self._state.open_charge == container_id
        if charged and recent:
            return Allowed(len(recent))
        if len(recent) >= self._max:
            until = now + self._pause
            self._state = LimiterState(recent, until)
            return RateLimited(until, len(recent))
        self._state = LimiterState((*recent, now), None, container_id)
        return Allowed(len(recent) + 1)

    def settle(self) -> None:
        """The counted cascade reached healing: the next start is a cascade of its own."""
        if self._state.open_charge is not None:
            self._state = replace(self._state, open_charge=None)

    def expire_pause(self, now: datetime) -> bool:
        """Given the time, end a pause whose time is over; return True when one just ended."""
        until = self._state.pause_until
        if until is None or require_aware(now) < until:
            return False
        self._state = replace(self._state, pause_until=None)
        return True

    def resume(self) -> bool:
        """Lift the pause and forget the window; return True when cascades were paused."""
        was_paused = self._state.pause_until is not None
        self._state = LimiterState()
        return was_paused

    def status(self, now: datetime) -> LimiterStatus:
        """Given the time, return watching or paused-until, and the cascades in the window."""
        now = require_aware(now)
        until = self._state.pause_until
        paused_until = until if until is not None and now < until else None
        return LimiterStatus(paused_until, len(self._recent(now)))

    def _recent(self, now: datetime) -> tuple[datetime, ...]:
        start = now - self._window
        return tuple(moment for moment in self._state.cascade_times if moment > start)
