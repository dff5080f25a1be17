"""Notification throttle: one message per (stage, subject) per window; the rest are counted.

The first notice of a kind goes out at once. Look-alikes (same stage and subject) within the
window after it are held back and counted; when the window ends, the latest of them goes out
carrying the count ("+2 more like this"). So a flapping container makes one message per
window, not one per flap, and nothing is silently lost. Pure: the runtime calls ``admit`` for
each notice and ``flush`` at ``next_wakeup()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mediastack.supervisor.actions import Notify, Stage
from mediastack.supervisor.clock import require_aware

DEFAULT_WINDOW = timedelta(minutes=10)


@dataclass
class _Tally:
    last_sent: datetime
    held: int = 0
    latest: Notify | None = None


class NotificationThrottle:
    """Deduplicates notices per (stage, subject) within a window."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        if window <= timedelta(0):
            raise ValueError("the throttle window must be positive")
        self._window = window
        self._tallies: dict[tuple[Stage, str], _Tally] = {}

    def admit(self, notice: Notify, now: datetime) -> Notify | None:
        """Given a notice and the time, return the notice to send (carrying the count of look-
        alikes held back before it), or None when it is held back."""
        now = require_aware(now)
        key = (notice.stage, notice.subject)
        tally = self._tallies.get(key)
        if tally is not None and now - tally.last_sent < self._window:
            tally.held += 1
            tally.latest = notice
            return None
        self._tallies[key] = _Tally(now)
        return notice.with_repeats(tally.held if tally is not None else 0)

    def flush(self, now: datetime) -> list[Notify]:
        """Given the time, return one summary per kind whose window ended with notices held
        back: the latest of them, counting the others; forget kinds that went quiet."""
        now = require_aware(now)
        summaries: list[Notify] = []
        for key, tally in list(self._tallies.items()):
            if now - tally.last_sent < self._window:
                continue
            if tally.latest is None:
                del self._tallies[key]
                continue
            summaries.append(tally.latest.with_repeats(tally.held - 1))
            self._tallies[key] = _Tally(now)
        return summaries

    def next_wakeup(self) -> datetime | None:
        """Return when a held-back notice is due to be flushed, or None."""
        due = [tally.last_sent + self._window for tally in self._tallies.values() if tally.held]
        return min(due) if due else None
