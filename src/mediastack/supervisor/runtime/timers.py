"""Cron schedules as the daemon's loop uses them: pure time, no engine, no file.

``CronTimer`` remembers the next time its expression names; the loop sleeps until the
earliest timer (``next_at``) and calls ``take_due(now)`` when it wakes. A time missed while
the supervisor was down is not made up: the first run is the first time after the start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mediastack.supervisor.clock import require_aware

NextAfter = Callable[[datetime], datetime]
"""Given an aware time, the first scheduled time strictly after it (aware)."""


def cron_schedule(expression: str, timezone: str) -> NextAfter:
    """Return the ``NextAfter`` of a five-field cron expression read in ``timezone``: the
    first time strictly after the given one that it names, in UTC (as
    ``mediastack.updates.schedule`` and ``mediastack.backup.schedule`` compute it; the daemon
    imports neither package, which would load their jobs' libraries). Raise ValueError for an
    expression croniter does not accept."""
    croniter = _croniter_class()
    if not croniter.is_valid(expression):
        raise ValueError(f"{expression!r} is not a valid cron expression")
    zone = ZoneInfo(timezone)

    def next_after(moment: datetime) -> datetime:
        local = require_aware(moment).astimezone(zone)
        upcoming: datetime = croniter(expression, local).get_next(datetime)
        return upcoming.astimezone(UTC)

    return next_after


def _croniter_class() -> Any:
    # croniter ships no type information; it is used through this one narrow function, and
    # loaded only when a schedule is on.
    return importlib.import_module("croniter").croniter


class CronTimer:
    """The next occurrence of one schedule (see the module docstring)."""

    def __init__(self, name: str, next_after: NextAfter, now: datetime) -> None:
        """Given the schedule's name (for logs), its ``next_after`` and the time now, start
        counting from now."""
        self.name = name
        self._next_after = next_after
        self.next_at = next_after(require_aware(now))

    def take_due(self, now: datetime) -> bool:
        """Return True once per occurrence reached at ``now`` (several missed at once, e.g.
        after a suspend, count as one), moving on to the next one after ``now``."""
        if require_aware(now) < self.next_at:
            return False
        self.next_at = self._next_after(now)
        return True
