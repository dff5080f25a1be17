"""Which archives to keep: a pure planner over archive times, with no clock of its own.

Rules, each applied on its own and the results joined (as restic does):

- ``keep_daily N``: for each of the N most recent days that have an archive, its newest one;
- ``keep_weekly N``: likewise for ISO weeks; ``keep_monthly N``: for calendar months;
- the newest verified archive is always kept, whatever the rules say.

Days, weeks and months are those of the given time zone (a backup at 00:30 local time belongs
to that local day). An archive that failed verification never stands for its period.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from mediastack.backup.verify_record import VerifyState

NEWEST_VERIFIED = "newest verified"
Period = tuple[int, ...]


@dataclass(frozen=True)
class RetentionPolicy:
    """How many daily, weekly and monthly archives to keep."""

    daily: int
    weekly: int
    monthly: int


@dataclass(frozen=True)
class Candidate:
    """One archive as the planner sees it: a key (its file name), when, and its state."""

    key: str
    created: datetime
    state: VerifyState


@dataclass(frozen=True)
class RetentionPlan:
    """``keep`` maps each kept key to why (``daily 1``, ``weekly 3``, ``newest verified``);
    ``prune`` lists the other keys, newest first."""

    keep: dict[str, list[str]] = field(default_factory=dict)
    prune: list[str] = field(default_factory=list)


def _day(moment: datetime) -> Period:
    return (moment.year, moment.month, moment.day)


def _week(moment: datetime) -> Period:
    year, week, _ = moment.isocalendar()
    return (year, week)


def _month(moment: datetime) -> Period:
    return (moment.year, moment.month)


RULES: tuple[tuple[str, Callable[[datetime], Period]], ...] = (
    ("daily", _day),
    ("weekly", _week),
    ("monthly", _month),
)


def plan_retention(
    candidates: Sequence[Candidate], policy: RetentionPolicy, zone: tzinfo
) -> RetentionPlan:
    """Given every archive, the policy and the time zone periods are counted in, return what
    to keep (with reasons) and what to prune. Pure."""
    newest_first = sorted(candidates, key=lambda candidate: candidate.created, reverse=True)
    keep: dict[str, list[str]] = {}
    counts = {"daily": policy.daily, "weekly": policy.weekly, "monthly": policy.monthly}
    for rule, period_of in RULES:
        for index, candidate in enumerate(_newest_per_period(newest_first, period_of, zone)):
            if index >= counts[rule]:
                break
            keep.setdefault(candidate.key, []).append(f"{rule} {index + 1}")
    verified = next((c for c in newest_first if c.state is VerifyState.VERIFIED), None)
    if verified is not None:
        keep.setdefault(verified.key, []).append(NEWEST_VERIFIED)
    prune = [candidate.key for candidate in newest_first if candidate.key not in keep]
    return RetentionPlan(keep, prune)


def _newest_per_period(
    newest_first: Sequence[Candidate], period_of: Callable[[datetime], Period], zone: tzinfo
) -> list[Candidate]:
    """Return the newest sound archive of each period, newest period first."""
    chosen: list[Candidate] = []
    seen: set[Period] = set()
    for candidate in newest_first:
        if candidate.state is VerifyState.FAILED:
            continue
        period = period_of(candidate.created.astimezone(zone))
        if period not in seen:
            seen.add(period)
            chosen.append(candidate)
    return chosen
