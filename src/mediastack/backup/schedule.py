"""When the next scheduled backup is due: ``backups.schedule`` (cron) read in the stack's time
zone. Pure: the caller supplies the time to count from."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo


def _croniter_class() -> Any:
    # croniter ships no type information; it is used through this one narrow function.
    return importlib.import_module("croniter").croniter


def next_backup_time(schedule: str, after: datetime, timezone: str = "Etc/UTC") -> datetime:
    """Given a cron expression (``30 4 * * *``), an aware time and an IANA time zone the
    expression is meant in, return the first time strictly after ``after`` that it names, in
    UTC. Raise ValueError when ``after`` is naive or the expression is not valid cron."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"{after!r} has no time zone")
    croniter = _croniter_class()
    if not croniter.is_valid(schedule):
        raise ValueError(f"{schedule!r} is not a valid cron expression")
    local = after.astimezone(ZoneInfo(timezone))
    upcoming: datetime = croniter(schedule, local).get_next(datetime)
    return upcoming.astimezone(UTC)
