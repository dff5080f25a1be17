"""When the daily update runs: a cron expression in the config's time zone (pure, ``croniter``).

The daemon asks ``next_after(now)``, sleeps until then (or waits on its own stop event) and
queues ``UpdateRequest(Source.SCHEDULE)``. Times in and out are aware UTC datetimes; the
expression is read in ``identity.timezone`` (``0 6 * * *`` is six in the morning *there*, and
stays so across daylight-saving changes).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import cast

from croniter import croniter  # type: ignore[import-untyped]


def is_valid_cron(expression: str) -> bool:
    """Return True when ``expression`` is a five-field cron expression croniter understands."""
    return len(expression.split()) == 5 and bool(croniter.is_valid(expression))


class UpdateSchedule:
    """A cron expression read in a time zone."""

    def __init__(self, expression: str, timezone: str = "Etc/UTC") -> None:
        """Raise ValueError when the expression or the time zone is not valid."""
        if not is_valid_cron(expression):
            raise ValueError(f"'{expression}' is not a five-field cron expression")
        self.expression = expression
        self.timezone = zoneinfo.ZoneInfo(timezone)

    def next_after(self, moment: datetime) -> datetime:
        """Given an aware datetime, return the first time strictly after it that the
        expression names, as an aware UTC datetime; raise ValueError for a naive datetime."""
        if moment.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local = moment.astimezone(self.timezone)
        following = cast(datetime, croniter(self.expression, local).get_next(datetime))
        return following.astimezone(UTC)

    def seconds_until_next(self, moment: datetime) -> float:
        """Return the seconds from ``moment`` to the next run (for a sleep or a timed wait)."""
        return (self.next_after(moment) - moment).total_seconds()
