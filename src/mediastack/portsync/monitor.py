"""The supervisor's memory of port sync: when the next sync is due, and which outcomes are
worth a notification. Pure: outcomes and times in, decisions out.

- A failing streak makes one notification. A problem that needs a person (a key, a
  password, a setting) is reported at once; one that may clear up on its own (qBittorrent
  being recreated by a cascade) only when it is still there at the next attempt, so a blip
  makes no noise. Further failures of the streak are only logged by the caller.
- The first success after a reported streak says so ("works again"), and clears it.
- A written change is reported (low priority); no change makes no notification.
- The next sync is due after ``interval`` when healthy. While failing, sooner for a problem
  that may clear up on its own (30 s, doubling, up to ``interval``), later for one that
  needs a person (``interval``, doubling, up to 6 h): each qBittorrent log-in with a wrong
  password counts towards its ban of our address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mediastack.notify.message import Notification
from mediastack.portsync.outcome import Problem, SyncOutcome, SyncStatus
from mediastack.supervisor.clock import require_aware

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
TRANSIENT_FAILURES_BEFORE_NOTICE = 2
FAILURE_PRIORITY = 4
RECOVERY_PRIORITY = 3
CHANGE_PRIORITY = 2


class PortSyncMonitor:
    """Tracks consecutive outcomes of port sync (see the module docstring for the rules)."""

    def __init__(self, interval: timedelta) -> None:
        if interval <= timedelta(0):
            raise ValueError("the sync interval must be positive")
        self.interval = interval
        self.failing: Problem | None = None
        self.consecutive_failures = 0
        self.notified_failure = False
        self.last_attempt: datetime | None = None

    def record(self, outcome: SyncOutcome, now: datetime) -> Notification | None:
        """Given the outcome of a sync and when it ended, update the state and return the
        notification to send, or None. A sync stopped by shutdown is not counted."""
        now = require_aware(now)
        if outcome.problem == Problem.STOPPED:
            return None
        self.last_attempt = now
        if outcome.succeeded:
            return self._record_success(outcome)
        return self._record_failure(outcome)

    def next_due(self) -> datetime | None:
        """Return when the next safety-net sync is due; None before the first (due now)."""
        if self.last_attempt is None:
            return None
        return self.last_attempt + self.retry_delay()

    def is_due(self, now: datetime) -> bool:
        """Return True when a sync is due at ``now``."""
        due = self.next_due()
        return due is None or require_aware(now) >= due

    def retry_delay(self) -> timedelta:
        """Return the time from the last sync to the next (see the module docstring)."""
        if self.failing is None:
            return self.interval
        doubling = 1 << min(self.consecutive_failures - 1, 16)  # bounded: no overflow
        if self.failing.needs_person:
            return min(self.interval * doubling, max(LONGEST_RETRY, self.interval))
        return min(FIRST_RETRY * doubling, self.interval)

    def _record_success(self, outcome: SyncOutcome) -> Notification | None:
        recovered = self.notified_failure
        self.failing = None
        self.consecutive_failures = 0
        self.notified_failure = False
        if outcome.status == SyncStatus.CHANGED:
            return change_notice(outcome, recovered=recovered)
        if recovered:
            return recovery_notice(outcome)
        return None

    def _record_failure(self, outcome: SyncOutcome) -> Notification | None:
        assert outcome.problem is not None, "a failed outcome names its problem"
        self.failing = outcome.problem
        self.consecutive_failures += 1
        if self.notified_failure:
            return None
        ripe = outcome.problem.needs_person or (
            self.consecutive_failures >= TRANSIENT_FAILURES_BEFORE_NOTICE
        )
        if not ripe:
            return None
        self.notified_failure = True
        return failure_notice(outcome)


def failure_notice(outcome: SyncOutcome) -> Notification:
    """Return the notification of a failing port sync: the reason and the fix."""
    body = outcome.reason or "port sync failed"
    if outcome.fix:
        body += f"\nFix: {outcome.fix}"
    body += "\nSeeding may not work until this is fixed; mediastack keeps trying."
    return Notification(
        title="Port sync failing", body=body, priority=FAILURE_PRIORITY, tags=("warning",)
    )


def recovery_notice(outcome: SyncOutcome) -> Notification:
    """Return the notification that port sync works again."""
    return Notification(
        title="Port sync works again",
        body=f"qBittorrent listens on the forwarded port {outcome.forwarded_port}.",
        priority=RECOVERY_PRIORITY,
        tags=("white_check_mark",),
    )


def change_notice(outcome: SyncOutcome, *, recovered: bool = False) -> Notification:
    """Return the notification of a written change (saying so when it ends a failure)."""
    previous = outcome.before.listen_port if outcome.before else None
    was = "a random port" if previous == 0 else f"port {previous}"
    body = (
        f"qBittorrent now listens on the forwarded port {outcome.forwarded_port} (was {was}); "
        "random port and UPnP are off."
    )
    if recovered:
        body += " Port sync works again."
    return Notification(
        title="Forwarded port changed",
        body=body,
        priority=RECOVERY_PRIORITY if recovered else CHANGE_PRIORITY,
        tags=("arrows_counterclockwise",),
    )
