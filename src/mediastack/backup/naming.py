"""Archive file names: pure functions from a time to a name and back.

An archive is ``<instance>-backup-<UTC stamp>.tar.zst`` (``-2``, ``-3``... appended when two
backups fall in the same second). While it is written it is ``.<final name>.partial`` (hidden,
never listed); its verification record sits beside it as ``<final name>.verify.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ARCHIVE_SUFFIX = ".tar.zst"
PARTIAL_SUFFIX = ".partial"
VERIFY_SUFFIX = ".verify.json"
LOCK_NAME = ".mediastack-backup.lock"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME_PATTERN = re.compile(
    r"^(?P<instance>[a-z0-9][a-z0-9_-]*)-backup-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<serial>\d+))?"
    + re.escape(ARCHIVE_SUFFIX)
    + "$"
)


@dataclass(frozen=True)
class ArchiveName:
    """What an archive's file name says: whose it is and when it was made (UTC)."""

    instance: str
    created: datetime
    serial: int = 1

    @property
    def file_name(self) -> str:
        serial = f"-{self.serial}" if self.serial > 1 else ""
        stamp = self.created.astimezone(UTC).strftime(STAMP_FORMAT)
        return f"{self.instance}-backup-{stamp}{serial}{ARCHIVE_SUFFIX}"


def parse_archive_name(file_name: str) -> ArchiveName | None:
    """Given a file name, return what it says, or None when it is not an archive name."""
    found = _NAME_PATTERN.match(file_name)
    if found is None:
        return None
    created = datetime.strptime(found["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)
    return ArchiveName(found["instance"], created, int(found["serial"] or 1))


def new_archive_name(instance: str, now: datetime, taken: set[str]) -> ArchiveName:
    """Given the instance name, the current time and the file names already in the backups
    folder, return a name for a new archive that is not taken."""
    created = now.astimezone(UTC).replace(microsecond=0)
    serial = 1
    while ArchiveName(instance, created, serial).file_name in taken:
        serial += 1
    return ArchiveName(instance, created, serial)


def partial_path(archive: Path) -> Path:
    """Return where ``archive`` is written before it is complete."""
    return archive.with_name(f".{archive.name}{PARTIAL_SUFFIX}")


def work_folder(archive: Path) -> Path:
    """Return the hidden folder holding the pieces not yet written into ``archive`` and the
    copies of databases and large files, while it is written."""
    return archive.with_name(f".{archive.name}.work")


def verify_record_path(archive: Path) -> Path:
    """Return where the verification record of ``archive`` is kept."""
    return archive.with_name(archive.name + VERIFY_SUFFIX)


def is_leftover(file_name: str) -> bool:
    """Return True for what an interrupted backup or verification leaves behind: hidden names
    derived from an archive's (``.<archive>.partial``, ``.<archive>.work``,
    ``.<archive>.verify-*``). Only meaningful while the backups folder's lock is held."""
    return file_name.startswith(".") and f"{ARCHIVE_SUFFIX}." in file_name
