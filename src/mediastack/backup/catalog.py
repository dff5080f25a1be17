"""The archives in a backups folder: names parsed, sizes and verification state read.

Reads the folder and the verification records; writes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mediastack.backup.naming import ArchiveName, is_leftover, parse_archive_name
from mediastack.backup.verify_record import VerifyState, read_state


@dataclass(frozen=True)
class ArchiveInfo:
    """One archive in the backups folder."""

    path: Path
    name: ArchiveName
    size_bytes: int
    state: VerifyState
    verified_at: datetime | None = None

    @property
    def created(self) -> datetime:
        return self.name.created

    def age(self, now: datetime) -> timedelta:
        return now - self.created

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "archive": str(self.path),
            "name": self.path.name,
            "created": self.created.isoformat(),
            "age_seconds": int(self.age(now).total_seconds()),
            "size_bytes": self.size_bytes,
            "state": self.state.value,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
        }


def list_archives(folder: Path) -> list[ArchiveInfo]:
    """Return the archives in ``folder``, newest first; none when it does not exist."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    archives = [info for name in names if (info := _info(folder / name)) is not None]
    return sorted(archives, key=lambda info: (info.created, info.name.serial), reverse=True)


def _info(path: Path) -> ArchiveInfo | None:
    name = parse_archive_name(path.name)
    if name is None:
        return None
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    state, verified_at = read_state(path, size)
    return ArchiveInfo(path, name, size, state, verified_at)


def leftovers(folder: Path) -> list[Path]:
    """Return what interrupted backups left in ``folder`` (partial archives, work folders)."""
    try:
        return sorted(folder / name for name in os.listdir(folder) if is_leftover(name))
    except FileNotFoundError:
        return []


def find_archive(folder: Path, given: str | None) -> ArchiveInfo | None:
    """Given ARCHIVE as typed (a path, a file name in ``folder``, or None for the newest),
    return that archive, or None when there is none such."""
    archives = list_archives(folder)
    if given is None:
        return archives[0] if archives else None
    candidate = Path(given)
    for path in (candidate, folder / given):
        if path.is_file():
            resolved = path.resolve()
            listed = [info for info in archives if info.path.resolve() == resolved]
            return listed[0] if listed else _info(resolved)
    return None

