"""The retention planner, driven by a fake clock: a year of daily backups, and the guarantees
(the newest verified archive is never pruned; a failed archive never stands for its day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mediastack.backup.naming import ArchiveName
from mediastack.backup.retention import (
    NEWEST_VERIFIED,
    Candidate,
    RetentionPolicy,
    plan_retention,
)
from mediastack.backup.verify import VerifyState
from mediastack.supervisor.clock import FakeClock

UTC_ZONE = ZoneInfo("Etc/UTC")
DEFAULT = RetentionPolicy(daily=7, weekly=4, monthly=6)


def candidate(moment: datetime, state: VerifyState = VerifyState.VERIFIED) -> Candidate:
    return Candidate(ArchiveName("home", moment).file_name, moment, state)


def test_a_year_of_daily_backups_keeps_exactly_the_policy() -> None:
    clock = FakeClock(datetime(2025, 1, 1, 4, 30, tzinfo=UTC))
    kept: list[Candidate] = []
    most_ever = 0
    for _ in range(365):
        kept.append(candidate(clock.now()))
        plan = plan_retention(kept, DEFAULT, UTC_ZONE)
        assert set(plan.keep) | set(plan.prune) == {c.key for c in kept}
        kept = [c for c in kept if c.key in plan.keep]
        most_ever = max(most_ever, len(kept))
        clock.advance(timedelta(days=1))
    days = {c.created.date().isoformat() for c in kept}
    daily = {f"2025-12-{day}" for day in range(25, 32)}
    weekly = {"2025-12-14", "2025-12-21", "2025-12-28"}  # + 2025-12-31: ISO week 1 of 2026
    monthly = {"2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30"}
    assert days == daily | weekly | monthly
    assert most_ever <= DEFAULT.daily + DEFAULT.weekly + DEFAULT.monthly


def test_the_rules_of_a_year_end_as_the_union_of_their_periods() -> None:
    start = datetime(2025, 1, 1, 4, 30, tzinfo=UTC)
    everything = [candidate(start + timedelta(days=n)) for n in range(365)]
    plan = plan_retention(everything, DEFAULT, UTC_ZONE)
    reasons = {key: set(value) for key, value in plan.keep.items()}
    by_day = {c.created.date().isoformat(): c.key for c in everything}
    assert reasons[by_day["2025-12-31"]] >= {"daily 1", "weekly 1", "monthly 1", NEWEST_VERIFIED}
    assert "daily 7" in reasons[by_day["2025-12-25"]]
    assert "weekly 2" in reasons[by_day["2025-12-28"]]  # Sunday: newest of ISO week 52
    assert "weekly 4" in reasons[by_day["2025-12-14"]]
    assert "monthly 2" in reasons[by_day["2025-11-30"]]
    assert "monthly 6" in reasons[by_day["2025-07-31"]]
    assert len(plan.keep) == 7 + 2 + 5  # weeks and months that daily/weekly do not cover
    assert len(plan.prune) == 365 - len(plan.keep)


def test_the_newest_verified_archive_is_kept_even_when_no_rule_keeps_it() -> None:
    start = datetime(2025, 3, 1, 4, 30, tzinfo=UTC)
    archives = [candidate(start - timedelta(days=3))] + [
        candidate(start + timedelta(hours=n), VerifyState.UNVERIFIED) for n in range(3)
    ]
    plan = plan_retention(archives, RetentionPolicy(daily=1, weekly=0, monthly=0), UTC_ZONE)
    assert plan.keep[archives[0].key] == [NEWEST_VERIFIED]
    assert plan.keep[archives[-1].key] == ["daily 1"]
    assert plan.prune == [archives[2].key, archives[1].key]


def test_a_zero_policy_still_keeps_the_newest_verified_archive() -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    archives = [candidate(start + timedelta(days=n)) for n in range(5)]
    plan = plan_retention(archives, RetentionPolicy(0, 0, 0), UTC_ZONE)
    assert list(plan.keep) == [archives[-1].key]
    assert len(plan.prune) == 4


def test_a_failed_archive_never_stands_for_its_day() -> None:
    morning = datetime(2025, 3, 1, 4, 30, tzinfo=UTC)
    sound = candidate(morning)
    failed = candidate(morning + timedelta(hours=1), VerifyState.FAILED)
    plan = plan_retention([sound, failed], RetentionPolicy(1, 0, 0), UTC_ZONE)
    assert set(plan.keep[sound.key]) == {"daily 1", NEWEST_VERIFIED}
    assert plan.prune == [failed.key]


def test_days_are_counted_in_the_stacks_time_zone() -> None:
    # 23:30 UTC on 1 March is already 2 March in Berlin: two different local days.
    late = candidate(datetime(2025, 3, 1, 23, 30, tzinfo=UTC))
    early = candidate(datetime(2025, 3, 1, 22, 30, tzinfo=UTC))
    policy = RetentionPolicy(daily=2, weekly=0, monthly=0)
    assert set(plan_retention([late, early], policy, ZoneInfo("Europe/Berlin")).keep) == {
        late.key,
        early.key,
    }
    assert plan_retention([late, early], policy, UTC_ZONE).prune == [early.key]
