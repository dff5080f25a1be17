"""Notification throttle: one message per (stage, subject) per window; the rest are counted.

The first notice of a kind goes out at once. Look-alikes (same stage and subject) within the
window after it are held back and counted; when the window ends, the latest of them goes out
carrying the count ("+2 more like this"). So a flapping container makes one message per
window, not one per flap, and nothing is silently lost.

A notice counts as sent only while its delivery is not known to have failed: the notifier
settles the ``DeliveryOutcome`` given with it. After one was never delivered (ntfy down, the
queue gave up), the next look-alike goes out at once, carrying the count of the undelivered
one and of what it stood for. Pure: the runtime calls ``admit`` for each notice and ``flush``
at ``next_wakeup()``; a flushed summary is admitted like any notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from mediastack.supervisor.actions import Notify, Stage
from mediastack.supervisor.clock import require_aware

DEFAULT_WINDOW = timedelta(minutes=10)


class DeliveryOutcome(Protocol):
    """What the notifier says of one notice it took (``mediastack.notify.Delivery``)."""

    @property
    def failed(self) -> bool:
        """True once it is known that the notice was not delivered."""
        ...


@dataclass
class _Tally:
    last_sent: datetime
    delivery: DeliveryOutcome | None = None
    stood_for: int = 0  # the look-alikes the last sent notice counted (its repeats)
    held: int = 0
    latest: Notify | None = None

    @property
    def undelivered(self) -> bool:
        return self.delivery is not None and self.delivery.failed

    def carried(self) -> int:
        """Return how many look-alikes the next notice of this kind stands for."""
        return self.held + (self.stood_for + 1 if self.undelivered else 0)


class NotificationThrottle:
    """Deduplicates notices per (stage, subject) within a window."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        if window <= timedelta(0):
            raise ValueError("the throttle window must be positive")
        self._window = window
        self._tallies: dict[tuple[Stage, str], _Tally] = {}

    def admit(
        self, notice: Notify, now: datetime, delivery: DeliveryOutcome | None = None
    ) -> Notify | None:
        """Given a notice, the time and the outcome its delivery will report, return the
        notice to send (carrying the count of look-alikes not delivered before it), or None
        when it is held back: a look-alike went out within the window and did not fail."""
        now = require_aware(now)
        key = (notice.stage, notice.subject)
        tally = self._tallies.get(key)
        if tally is not None and not tally.undelivered and now - tally.last_sent < self._window:
            tally.held += 1
            tally.latest = notice
            return None
        admitted = notice.with_repeats(tally.carried() if tally is not None else 0)
        self._tallies[key] = _Tally(now, delivery, admitted.repeats)
        return admitted

    def flush(self, now: datetime) -> list[Notify]:
        """Given the time, return one summary per kind whose window ended with notices held
        back: the latest of them, counting the others (and an undelivered one before them);
        forget kinds that went quiet. Each summary is to be admitted, as any notice."""
        now = require_aware(now)
        summaries: list[Notify] = []
        for key, tally in list(self._tallies.items()):
            if now - tally.last_sent < self._window:
                continue
            if tally.latest is not None:
                summaries.append(tally.latest.with_repeats(tally.carried() - 1))
            elif tally.undelivered:
                continue  # its count goes with the next look-alike, whenever it comes
            del self._tallies[key]
        return summaries

    def next_wakeup(self) -> datetime | None:
        """Return when a held-back notice is due to be flushed, or None."""
        due = [tally.last_sent + self._window for tally in self._tallies.values() if tally.held]
        return min(due) if due else None
