"""A real backup of a populated homelab: what goes in, what stays out, the manifest, the
verification of sound, tampered, truncated and partial archives."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard
from backup_support import PLEX_SERVER, Lab, database_rows, make_database, members, write

from mediastack.backup import VerifyState, list_backups, run_backup, verify_backup
from mediastack.backup.archive_reader import IgnoreMembers, read_archive
from mediastack.backup.manifest import MANIFEST_NAME, EntryKind, parse_manifest
from mediastack.backup.verify import verify_archive


def rewrite(archive: Path, change: dict[str, bytes | None]) -> None:
    """Rewrite ``archive`` with members replaced (bytes) or dropped (None)."""
    source = members(archive)
    manifest = source.pop(MANIFEST_NAME, None)
    added = {name: data for name, data in change.items() if name not in source and data}
    source |= {**added, MANIFEST_NAME: manifest}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in source.items():
            if (name in change and change[name] is None) or (name == MANIFEST_NAME and not content):
                continue
            data = change.get(name, content)
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    archive.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))


def test_one_archive_holds_the_settings_and_app_folders_without_the_junk(lab: Lab) -> None:
    result = run_backup(lab.loaded)
    assert lab.archives() == [result.archive]
    assert stat.S_IMODE(result.archive.stat().st_mode) == 0o600
    names = set(members(result.archive))
    assert {"mediastack/mediastack.yaml", "mediastack/.env", MANIFEST_NAME} <= names
    assert {"apps/sonarr/sonarr.db", "apps/sonarr/config.xml", "apps/radarr/radarr.db"} <= names
    assert f"apps/{PLEX_SERVER}/Metadata/Movies/a/b.bundle/Contents/Info.xml" in names
    for junk in ("Cache", "Crash Reports", "Logs", "Updates", "Diagnostics"):
        assert not any(name.startswith(f"apps/{PLEX_SERVER}/{junk}") for name in names), junk
    for app in ("sonarr", "radarr"):
        for junk in ("logs", "logs.db", "Backups"):
            assert not any(name.startswith(f"apps/{app}/{junk}") for name in names), junk
    assert not any(name.endswith(("-wal", "-shm")) for name in names)
    assert result.databases == 3 and result.verified


def test_the_manifest_lists_every_member_with_its_checksum(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    content = members(archive)
    manifest = parse_manifest(content.pop(MANIFEST_NAME) or b"")
    assert set(manifest.by_path) == set(content)
    assert list(members(archive))[-1] == MANIFEST_NAME  # the manifest is the last member

    for path, data in content.items():
        entry = manifest.by_path[path]
        if data is not None:
            assert entry.sha256 == hashlib.sha256(data).hexdigest(), path
            assert entry.size == len(data)
    kinds = {entry.path: entry.kind for entry in manifest.entries}
    assert kinds["apps/sonarr/sonarr.db"] is EntryKind.DATABASE
    assert kinds["apps/sonarr/config.xml"] is EntryKind.FILE
    assert kinds["apps/sonarr"] is EntryKind.DIRECTORY
    assert {"home"} == {manifest.instance}


def test_gnu_tar_reads_the_archive(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    listed = subprocess.run(
        ["tar", "--zstd", "-tf", str(archive)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "apps/sonarr/config.xml" in listed
    assert listed[-1] == MANIFEST_NAME


def test_databases_are_recognised_by_their_header_not_their_name(lab: Lab) -> None:
    make_database(lab.config / "sonarr" / "state.bin", wal=False)
    write(lab.config / "sonarr" / "notes.db", "SQLite in name only " * 100)
    archive = run_backup(lab.loaded).archive
    manifest = parse_manifest(members(archive)[MANIFEST_NAME] or b"")
    assert manifest.by_path["apps/sonarr/state.bin"].kind is EntryKind.DATABASE
    assert manifest.by_path["apps/sonarr/notes.db"].kind is EntryKind.FILE


def test_the_copy_of_a_database_holds_what_its_wal_held(lab: Lab, tmp_path: Path) -> None:
    database = lab.config / "sonarr" / "sonarr.db"
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO items (name) VALUES ('only in the wal')")
    writer.commit()  # the row is in sonarr.db-wal, not in sonarr.db
    try:
        assert (database.parent / "sonarr.db-wal").stat().st_size > 0
        archive = run_backup(lab.loaded).archive
    finally:
        writer.close()
    copy = tmp_path / "copy.db"
    copy.write_bytes(members(archive)["apps/sonarr/sonarr.db"] or b"")
    assert database_rows(copy)[-1] == (101, "only in the wal")


def test_a_sound_archive_verifies_and_is_listed_as_verified(lab: Lab) -> None:
    archive = run_backup(lab.loaded, verify=False).archive
    assert list_backups(lab.loaded)[0].state is VerifyState.UNVERIFIED
    report = verify_backup(lab.loaded)
    assert report.ok and report.databases == 3 and report.archive == archive
    assert list_backups(lab.loaded)[0].state is VerifyState.VERIFIED


def test_a_changed_member_fails_its_checksum(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    rewrite(archive, {"apps/sonarr/config.xml": b"<Config>changed</Config>"})
    report = verify_backup(lab.loaded, archive.name)
    assert not report.ok
    assert any("apps/sonarr/config.xml: checksum mismatch" in p for p in report.problems)
    assert list_backups(lab.loaded)[0].state is VerifyState.FAILED


def test_a_flipped_byte_in_the_compressed_file_is_caught(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    assert not verify_archive(archive).ok


def test_a_missing_or_extra_member_is_caught(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    rewrite(archive, {"apps/radarr/config.xml": None, "apps/sonarr/extra.txt": b"x"})
    problems = verify_archive(archive).problems
    assert "apps/radarr/config.xml: in the manifest but missing from the archive" in problems
    assert "apps/sonarr/extra.txt: in the archive but not in its manifest" in problems


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_a_truncated_archive_is_partial(lab: Lab, keep: float) -> None:
    archive = run_backup(lab.loaded).archive
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * keep)])
    reading = read_archive(archive, IgnoreMembers())
    assert not reading.intact
    assert reading.problems


def test_an_archive_without_its_manifest_is_partial(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    rewrite(archive, {MANIFEST_NAME: None})
    (problem,) = verify_archive(archive).problems
    assert "partial" in problem


def test_verify_runs_integrity_check_on_every_database(lab: Lab) -> None:
    database = lab.config / "radarr" / "radarr.db"
    make_database(database, rows=3000, wal=False)
    with database.open("r+b") as handle:  # damage a b-tree page in the middle
        handle.seek(4096 * 5 + 100)
        handle.write(os.urandom(2000))
    result = run_backup(lab.loaded, verify=False)
    report = verify_archive(result.archive)
    assert any(p.startswith("apps/radarr/radarr.db:") for p in report.problems), report.problems
    assert not any("checksum" in p for p in report.problems)


def test_the_verify_record_forgets_an_archive_that_changed_size(lab: Lab) -> None:
    archive = run_backup(lab.loaded).archive
    assert list_backups(lab.loaded)[0].state is VerifyState.VERIFIED
    with archive.open("ab") as handle:
        handle.write(b"\0")
    assert list_backups(lab.loaded)[0].state is VerifyState.UNVERIFIED
    record = json.loads(archive.with_name(archive.name + ".verify.json").read_text())
    assert record["state"] == "verified"
