"""Restore with a fake service control: services stopped and started around the swap, the
replaced folders kept until the services are healthy, corrupt and partial archives refused
before anything changes, ``--only`` and ``--dry-run``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from backup_support import Lab, database_rows, tree_digest, write
from restore_support import FakeControl

from mediastack.backup import BackupError, run_backup
from mediastack.backup.restore import choose_apps, plan_restore, restore_backup
from mediastack.backup.selection import RESTORE_WORK_FOLDER


def expected_after_restore(before: dict[str, str], app: str) -> dict[str, str]:
    """What an app folder holds after a restore: all but the left-out junk and the raw WAL
    files; database files are compared by content, not bytes (see database_rows)."""
    junk = ("logs", "logs.db", "Backups")
    return {
        path: value
        for path, value in before.items()
        if not path.split("/")[0].startswith(junk)
        and not path.endswith(("-wal", "-shm", ".db"))
    }


def without_databases(digest: dict[str, str]) -> dict[str, str]:
    return {path: value for path, value in digest.items() if not path.endswith(".db")}


def test_a_wiped_app_folder_comes_back_with_its_services_restarted(lab: Lab) -> None:
    before = tree_digest(lab.config / "sonarr")
    rows = database_rows(lab.config / "sonarr" / "sonarr.db")
    archive = run_backup(lab.loaded).archive
    write(lab.config / "sonarr" / "config.xml", "<Config>broken</Config>")
    (lab.config / "sonarr" / "sonarr.db").write_bytes(b"garbage")
    control = FakeControl(services=["sonarr", "radarr", "plex"], running=["sonarr", "plex"])
    result = restore_backup(lab.loaded, archive.name, control=control, only=["sonarr"])
    after = tree_digest(lab.config / "sonarr")
    assert without_databases(after) == expected_after_restore(before, "sonarr")
    assert database_rows(lab.config / "sonarr" / "sonarr.db") == rows
    assert control.calls == [("stop", ("sonarr",)), ("start", ("sonarr",))]
    assert result.plan.apps == ("sonarr",) and result.kept_aside == ()
    assert not (lab.config / RESTORE_WORK_FOLDER).exists()


def test_restoring_everything_restores_every_app_and_keeps_idle_ones_aside(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    control = FakeControl(services=["sonarr", "radarr", "plex"], running=["radarr"])
    result = restore_backup(lab.loaded, str(archive), control=control)
    assert result.plan.apps == ("plex", "radarr", "sonarr")
    assert result.plan.restart == ("radarr",)
    assert result.plan.idle == ("plex", "sonarr")
    assert control.calls == [("stop", ("radarr",)), ("start", ("radarr",))]
    # sonarr and plex were not running: nothing vouched for the restored folders
    assert [path.name for path in result.kept_aside] == ["plex", "sonarr"]


def test_when_the_service_does_not_come_back_the_replaced_folder_stays(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    write(lab.config / "sonarr" / "mine.txt", "written after the backup")
    control = FakeControl(services=["sonarr"], running=["sonarr"], fail_start=True)
    with pytest.raises(BackupError) as raised:
        restore_backup(lab.loaded, archive.name, control=control, only=["sonarr"])
    assert "did not come back healthy" in raised.value.message
    kept = list((lab.config / RESTORE_WORK_FOLDER).glob("*/replaced/sonarr/mine.txt"))
    assert len(kept) == 1 and str(kept[0].parents[1]) in raised.value.message
    assert not (lab.config / "sonarr" / "mine.txt").exists()


def test_a_corrupt_archive_is_refused_before_anything_changes(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0x55
    archive.write_bytes(bytes(data))
    before = tree_digest(lab.config)
    control = FakeControl(services=["sonarr"], running=["sonarr"])
    with pytest.raises(BackupError, match="refusing to restore"):
        restore_backup(lab.loaded, archive.name, control=control)
    assert tree_digest(lab.config) == before
    assert control.calls == []


def test_a_partial_archive_is_refused(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    archive.write_bytes(archive.read_bytes()[:-2000])
    before = tree_digest(lab.config)
    with pytest.raises(BackupError, match="refusing to restore"):
        restore_backup(lab.loaded, archive.name, control=FakeControl())
    assert tree_digest(lab.config) == before


def test_a_dry_run_checks_the_archive_and_changes_nothing(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    write(lab.config / "sonarr" / "config.xml", "<Config>new</Config>")
    before = tree_digest(lab.config)
    control = FakeControl(services=["sonarr"], running=["sonarr"])
    result = restore_backup(
        lab.loaded, archive.name, control=control, only=["sonarr"], dry_run=True
    )
    assert result.dry_run and result.plan.restart == ("sonarr",)
    assert tree_digest(lab.config) == before and control.calls == []


def test_an_app_not_in_the_archive_is_refused_with_the_choices(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    with pytest.raises(BackupError) as raised:
        restore_backup(lab.loaded, archive.name, control=FakeControl(), only=["lidarr"])
    assert "lidarr" in raised.value.message
    assert raised.value.fix == "use --only with one of: plex, radarr, sonarr"
    assert not (lab.config / RESTORE_WORK_FOLDER).exists()


def test_an_unknown_archive_is_reported(lab: Lab) -> None:
    with pytest.raises(BackupError, match=r"no backup archive 'nope\.tar\.zst'"):
        restore_backup(lab.loaded, "nope.tar.zst", control=FakeControl())


def test_restore_planning_is_pure() -> None:
    assert choose_apps(["a", "b", "c"], []) == ("a", "b", "c")
    assert choose_apps(["a", "b", "c"], ["c", "a"]) == ("a", "c")
    plan = plan_restore(["a", "b", "c"], ["a", "b"], ["b"])
    assert (plan.restart, plan.idle) == (("b",), ("a",))


def test_ownership_and_modes_come_back(lab: Lab, tmp_path: Path) -> None:
    config = lab.config / "radarr" / "config.xml"
    config.chmod(0o640)
    os.chown(config, 1234, 2345)
    archive = run_backup(lab.loaded).archive
    config.unlink()
    restore_backup(lab.loaded, archive.name, control=FakeControl(), only=["radarr"])
    status = config.stat()
    assert (status.st_uid, status.st_gid, status.st_mode & 0o777) == (1234, 2345, 0o640)
