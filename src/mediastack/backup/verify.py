"""Verify an archive: every checksum against its manifest, ``PRAGMA integrity_check`` on every
database in it; and remember the outcome beside the archive.

Control flow: one streaming pass (``archive_reader``) in which members that start with the
SQLite header are copied to a hidden temporary folder beside the archive -> the manifest is
compared with what was read -> each database the manifest lists is opened and checked -> the
temporary folder is removed -> a record (``<archive>.verify.json``) says verified or failed.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mediastack.backup.archive_reader import Advance, HashingReader, read_archive
from mediastack.backup.databases import SQLITE_MAGIC, has_sqlite_header, integrity_problems
from mediastack.backup.errors import BackupError
from mediastack.backup.manifest import Manifest
from mediastack.backup.naming import verify_record_path
from mediastack.backup.verify_record import VerifyState
from mediastack.render import atomic_write

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying one archive. ``problems`` empty means sound."""

    archive: Path
    problems: tuple[str, ...]
    members: int = 0
    databases: int = 0
    checked_bytes: int = 0
    duration_seconds: float = 0.0
    manifest: Manifest | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "archive": str(self.archive),
            "ok": self.ok,
            "problems": list(self.problems),
            "members": self.members,
            "databases": self.databases,
            "checked_bytes": self.checked_bytes,
            "duration_seconds": round(self.duration_seconds, 3),
        }


class DatabaseSpool:
    """A member handler that copies every member starting with the SQLite header into
    ``folder``, so it can be opened and checked after the pass."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self.copies: dict[str, Path] = {}

    def member(self, info: tarfile.TarInfo, data: HashingReader | None) -> None:
        if data is None or info.size < len(SQLITE_MAGIC):
            return
        head = data.read(len(SQLITE_MAGIC))
        if not has_sqlite_header(head):
            return
        copy = self._folder / f"{len(self.copies)}.db"
        try:
            with copy.open("wb") as out:
                out.write(head)
                while chunk := data.read(CHUNK_SIZE):
                    out.write(chunk)
        except OSError as error:
            raise no_room_to_check(self._folder, error) from None
        self.copies[info.name] = copy


def verify_archive(archive: Path, advance: Advance | None = None) -> VerifyReport:
    """Read all of ``archive``, check every checksum and every database; return the report
    (problems listed, never raised). Raise BackupError when the archive cannot be opened or
    there is no room beside it for the database copies being checked."""
    started = time.monotonic()
    folder = _temporary_folder(archive)
    try:
        spool = DatabaseSpool(folder)
        try:
            reading = read_archive(archive, spool, advance)
        except OSError as error:
            raise BackupError(f"cannot read {archive}: {error.strerror or error}") from None
        problems = list(reading.problems)
        manifest = reading.manifest
        if manifest is not None:
            problems += database_problems(manifest, spool.copies)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return VerifyReport(
        archive=archive,
        problems=tuple(problems),
        members=len(reading.members),
        databases=len(spool.copies),
        checked_bytes=sum(member.size for member in reading.members.values()),
        duration_seconds=time.monotonic() - started,
        manifest=manifest,
    )


def _temporary_folder(archive: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=f".{archive.name}.verify-", dir=archive.parent))
    except OSError as error:
        raise no_room_to_check(archive.parent, error) from None


def no_room_to_check(folder: Path, error: OSError) -> BackupError:
    """Return the error for databases that cannot be copied out to be checked."""
    return BackupError(
        f"cannot copy the archive's databases out to check them in {folder}: "
        f"{error.strerror or error}",
        "free space in the backups folder (the largest database must fit), then verify again",
    )


def database_problems(manifest: Manifest, copies: dict[str, Path]) -> list[str]:
    """Given the manifest and the copies of the database members, return what
    ``integrity_check`` (or the lack of a copy) says is wrong, each prefixed by its path."""
    problems: list[str] = []
    for entry in manifest.databases:
        copy = copies.get(entry.path)
        if copy is None:
            problems.append(f"{entry.path}: listed as a database, but it is not one")
            continue
        problems += [f"{entry.path}: {message}" for message in integrity_problems(copy)]
    return problems


def write_record(report: VerifyReport, checked_at: datetime) -> None:
    """Remember ``report`` beside its archive (atomically; failures to do so are ignored:
    the archive then simply shows as unverified)."""
    document = {
        "state": (VerifyState.VERIFIED if report.ok else VerifyState.FAILED).value,
        "checked_at": checked_at.isoformat(),
        "archive_size": report.archive.stat().st_size,
        "problems": list(report.problems[:50]),
    }
    try:
        atomic_write(verify_record_path(report.archive), json.dumps(document, indent=2), 0o600)
    except OSError:
        return
