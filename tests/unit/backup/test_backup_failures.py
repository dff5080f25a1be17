"""A backup that fails midway leaves no archive that looks complete, removes nothing older and
says what happened: a full disk (a real 2 MB tmpfs as the backups folder), permission denied,
an app folder vanishing, a second backup at the same time."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_support import Lab, make_database, make_lab, write

from mediastack.backup import BackupBusyError, BackupError, archive_pieces, list_backups, run_backup
from mediastack.backup.lock import backups_lock
from mediastack.backup.verify import verify_archive


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_nothing_partial(folder: Path, archives: list[Path]) -> None:
    """Only the given archives (and their records and the lock) are in the folder."""
    allowed = {p.name for p in archives} | {p.name + ".verify.json" for p in archives}
    assert set(os.listdir(folder)) - {".mediastack-backup.lock"} == allowed


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted at tmp_path/backups; unmounted afterwards."""
    mount_point = tmp_path / "backups"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        unmounted = subprocess.run(["umount", str(mount_point)], check=False)
        if unmounted.returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def small_lab(root: Path, backups: Path) -> Lab:
    """A lab small enough that one archive fits on the small disk."""
    lab = make_lab(root, f"folders: {{backups: {backups}}}\n", populated=False)
    make_database(lab.config / "sonarr" / "sonarr.db")
    write(lab.config / "sonarr" / "config.xml", "<Config/>")
    return lab


@pytest.mark.parametrize("what", ["file", "database"])
def test_a_full_disk_fails_cleanly_and_keeps_the_older_archive(
    tmp_path: Path, small_disk: Path, what: str
) -> None:
    lab = small_lab(tmp_path / "homelab", small_disk)
    older = run_backup(lab.loaded).archive
    before = digest(older)
    if what == "file":  # 3 MB that do not compress: more than the disk holds
        write(lab.config / "sonarr" / "MediaCover" / "big.jpg", os.urandom(3 * 1024 * 1024))
    else:  # the database copy itself does not fit
        make_database(lab.config / "radarr" / "radarr.db", rows=0)
        connection = sqlite3.connect(lab.config / "radarr" / "radarr.db")
        connection.execute("CREATE TABLE blobs (data BLOB)")
        connection.executemany("INSERT INTO blobs VALUES (?)", [(os.urandom(4096),)] * 800)
        connection.commit()
        connection.close()
    with pytest.raises(BackupError) as raised:
        run_backup(lab.loaded)
    assert "is full" in raised.value.message
    assert "nothing older was touched" in raised.value.message
    assert raised.value.fix
    assert_nothing_partial(small_disk, [older])
    assert digest(older) == before and verify_archive(older).ok
    assert [info.path for info in list_backups(lab.loaded)] == [older]


def test_permission_denied_fails_cleanly(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    older = run_backup(lab.loaded).archive
    locked = str(lab.config / "radarr" / "MediaCover")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(BackupError) as raised:
        run_backup(lab.loaded)
    assert raised.value.message == f"cannot read {locked}: Permission denied"
    assert raised.value.fix and "root" in raised.value.fix
    assert_nothing_partial(lab.backups, [older])


def test_an_unreadable_file_fails_cleanly(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    older = run_backup(lab.loaded).archive
    locked = str(lab.config / "sonarr" / "config.xml")
    real_open = os.open

    def open_file(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        if str(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_file)
    with pytest.raises(BackupError, match=r"cannot read .*config\.xml: Permission denied"):
        run_backup(lab.loaded)
    assert_nothing_partial(lab.backups, [older])


def test_an_app_folder_vanishing_midway_fails_cleanly(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = run_backup(lab.loaded).archive
    real_read = archive_pieces.read_whole
    radarr = str(lab.config / "radarr")

    def read_then_remove(source: str, expected_size: int) -> bytes | None:
        if source.startswith(radarr):  # walked; now it goes away
            shutil.rmtree(radarr, ignore_errors=True)
        return real_read(source, expected_size)

    # The worker processes are forked when the backup starts, after this patch: they have it.
    monkeypatch.setattr(archive_pieces, "read_whole", read_then_remove)
    with pytest.raises(BackupError, match="radarr vanished while it was being backed up"):
        run_backup(lab.loaded)
    assert_nothing_partial(lab.backups, [older])


def test_a_missing_config_folder_is_reported(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "homelab", populated=False)
    (lab.config).rmdir()
    with pytest.raises(BackupError, match=r"config folder .* does not exist"):
        run_backup(lab.loaded)


def test_a_second_backup_at_the_same_time_is_refused(lab: Lab) -> None:
    with backups_lock(lab.backups), pytest.raises(BackupBusyError, match="another backup"):
        run_backup(lab.loaded)
    assert lab.archives() == []


def test_leftovers_of_a_killed_backup_are_removed_by_the_next_one(lab: Lab) -> None:
    lab.backups.mkdir()
    partial = write(lab.backups / ".home-backup-20260101T000000Z.tar.zst.partial", b"half")
    work = lab.backups / ".home-backup-20260101T000000Z.tar.zst.work"
    write(work / "0.db", b"copy")
    archive = run_backup(lab.loaded).archive
    assert not partial.exists() and not work.exists()
    assert_nothing_partial(lab.backups, [archive])
