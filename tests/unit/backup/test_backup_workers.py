"""The archive writer's worker processes: a tree that takes many jobs and frames, appended by
several processes at once, comes back whole, every member once; large files and files that
grew go through copies; a file deleted midway is left out with a warning; a worker that dies
fails the backup cleanly; workers whose backup was killed exit."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backup_support import Lab, make_lab, members, write

from mediastack.backup import BackupError, archive_pieces, archive_writer, run_backup
from mediastack.backup.manifest import MANIFEST_NAME, EntryKind, parse_manifest
from mediastack.backup.verify import verify_archive

MEDIA_COVER = "apps/sonarr/MediaCover"


@pytest.fixture
def many(tmp_path: Path) -> Lab:
    """A homelab whose sonarr folder has 300 sub-folders of 3 files each."""
    lab = make_lab(tmp_path / "homelab")
    for number in range(300):
        folder = lab.config / "sonarr" / "MediaCover" / str(number)
        write(folder / "poster.jpg", os.urandom(700 + number))
        write(folder / "fanart.jpg", os.urandom(300))
        write(folder / "info.xml", f"<cover>{number}</cover>" * 20)
    return lab


def test_many_jobs_and_frames_make_one_sound_archive(
    many: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_pieces, "FRAME_BYTES", 4096)  # a frame every few files
    monkeypatch.setattr(archive_writer, "FOLDERS_PER_JOB", 7)
    result = run_backup(many.loaded)
    names = archive_names(result.archive)
    assert len(names) == len(set(names)) and names[-1] == MANIFEST_NAME
    content = members(result.archive)
    manifest = parse_manifest(content.pop(MANIFEST_NAME) or b"")
    for number in range(300):
        path = many.config / "sonarr" / "MediaCover" / str(number) / "poster.jpg"
        assert content[f"{MEDIA_COVER}/{number}/poster.jpg"] == path.read_bytes()
    assert sorted(entry.path for entry in manifest.entries) == sorted(content)
    for entry in manifest.entries:
        if entry.kind is EntryKind.FILE:
            assert entry.sha256 == hashlib.sha256(content[entry.path] or b"").hexdigest()
    assert result.files == sum(entry.kind is not EntryKind.DIRECTORY for entry in manifest.entries)
    assert result.verified


def archive_names(archive: Path) -> list[str]:
    """Return the member names GNU tar lists, in archive order."""
    listed = subprocess.run(
        ["tar", "--zstd", "-tf", str(archive)], capture_output=True, text=True, check=True
    )
    return [name.rstrip("/") for name in listed.stdout.splitlines()]


def test_large_files_and_files_that_grew_are_archived_from_copies(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    large = write(lab.config / "sonarr" / "MediaCover" / "large.bin", os.urandom(5000))
    grew = write(lab.config / "radarr" / "grew.bin", b"g" * 100)
    monkeypatch.setattr(archive_pieces, "IN_MEMORY_LIMIT", 4096)
    real_read = archive_pieces.read_whole

    def read_larger(source: str, expected_size: int) -> bytes | None:
        if source == str(grew):  # as if it had grown past the limit since the walk
            return None
        return real_read(source, expected_size)

    monkeypatch.setattr(archive_pieces, "read_whole", read_larger)
    result = run_backup(lab.loaded)
    content = members(result.archive)
    assert content["apps/sonarr/MediaCover/large.bin"] == large.read_bytes()
    assert content["apps/radarr/grew.bin"] == grew.read_bytes()
    assert result.verified
    assert not list((lab.backups).glob(".*.work"))


def test_a_file_deleted_midway_is_left_out_with_a_warning(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = write(lab.config / "radarr" / "MediaCover" / "2" / "poster.jpg", b"x" * 50)
    real_read = archive_pieces.read_whole

    def delete_then_read(source: str, expected_size: int) -> bytes | None:
        if source == str(doomed):  # walked; now the app deletes it
            doomed.unlink()
        return real_read(source, expected_size)

    monkeypatch.setattr(archive_pieces, "read_whole", delete_then_read)
    result = run_backup(lab.loaded)
    assert f"{doomed}: deleted while the backup ran, left out" in result.warnings
    assert "apps/radarr/MediaCover/2/poster.jpg" not in members(result.archive)
    assert result.verified


def die(job: archive_pieces.WalkJob) -> archive_pieces.Piece:
    os._exit(1)


def test_a_worker_that_dies_fails_the_backup_cleanly(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = run_backup(lab.loaded).archive
    monkeypatch.setattr(archive_writer, "build_walk", die)
    with pytest.raises(BackupError, match="worker process of the backup stopped") as raised:
        run_backup(lab.loaded)
    assert raised.value.fix
    assert lab.archives() == [older]
    assert not [path for path in lab.backups.iterdir() if ".partial" in path.name]
    assert not list(lab.backups.glob(".*.work"))
    assert verify_archive(older).ok


HOLDER = r"""
import os, sys, time
from mediastack.backup.worker_pool import worker_pool
with worker_pool(2) as pool:
    print(" ".join(str(pool.submit(os.getpid).result()) for _ in range(8)), flush=True)
    time.sleep(60)
"""


def test_workers_exit_when_their_backup_is_killed() -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        workers = {int(pid) for pid in holder.stdout.readline().split()}
        assert workers and holder.pid not in workers
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited (its new parent reaps it)
