"""When scheduled backups are due, and what archives are called."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mediastack.backup import next_backup_time
from mediastack.backup.naming import (
    ArchiveName,
    is_leftover,
    new_archive_name,
    parse_archive_name,
    partial_path,
    verify_record_path,
    work_folder,
)


def test_the_next_daily_backup_is_the_next_0430() -> None:
    after = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert next_backup_time("30 4 * * *", after) == datetime(2026, 1, 2, 4, 30, tzinfo=UTC)


def test_the_time_exactly_at_a_slot_gives_the_following_slot() -> None:
    at = datetime(2026, 1, 2, 4, 30, tzinfo=UTC)
    assert next_backup_time("30 4 * * *", at) == at + timedelta(days=1)


def test_the_schedule_is_read_in_the_stacks_time_zone_across_daylight_saving() -> None:
    # 04:30 in Berlin is 03:30 UTC in winter and 02:30 UTC in summer (DST from 29 March 2026).
    before_switch = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert next_backup_time("30 4 * * *", before_switch, "Europe/Berlin") == datetime(
        2026, 3, 29, 2, 30, tzinfo=UTC
    )
    winter = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert next_backup_time("30 4 * * *", winter, "Europe/Berlin") == datetime(
        2026, 1, 11, 3, 30, tzinfo=UTC
    )


def test_any_aware_time_is_accepted_and_the_answer_is_utc() -> None:
    after = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    upcoming = next_backup_time("0 * * * *", after)
    assert upcoming == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert upcoming.tzinfo == UTC


def test_a_naive_time_or_a_bad_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        next_backup_time("30 4 * * *", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="cron"):
        next_backup_time("61 4 * * *", datetime(2026, 1, 1, tzinfo=UTC))


def test_archive_names_round_trip_and_never_collide() -> None:
    now = datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
    first = new_archive_name("home", now, set())
    assert first.file_name == "home-backup-20260203T040506Z.tar.zst"
    second = new_archive_name("home", now, {first.file_name})
    assert second.file_name == "home-backup-20260203T040506Z-2.tar.zst"
    assert parse_archive_name(second.file_name) == ArchiveName(
        "home", datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC), 2
    )
    for other in ("home-backup-2026.tar.zst", "notes.txt", ".home-backup-20260203T040506Z.tar.zst"):
        assert parse_archive_name(other) is None


def test_work_files_are_hidden_and_recognised_as_leftovers() -> None:
    archive = new_archive_name("home", datetime(2026, 1, 1, tzinfo=UTC), set())
    path = Path("/b") / archive.file_name
    for leftover in (partial_path(path), work_folder(path)):
        assert leftover.name.startswith(".") and is_leftover(leftover.name)
        assert parse_archive_name(leftover.name) is None
    assert not is_leftover(verify_record_path(path).name)
    assert not is_leftover(".mediastack-backup.lock")
