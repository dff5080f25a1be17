"""Walk the folders to back up and decide, per path, what goes into the archive.

Reads the file system (names, ``lstat``, the 16-byte header of files that may be databases)
and writes nothing. The decisions themselves are the pure functions of ``selection`` and
``databases``. Control flow: the mediastack settings (mediastack.yaml, .env) -> every app
folder inside the config folder, walked depth-first in name order -> a ``BackupPlan``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mediastack.backup.databases import is_database
from mediastack.backup.errors import BackupError
from mediastack.backup.manifest import APPS_PREFIX, SETTINGS_PREFIX, EntryKind
from mediastack.backup.selection import (
    ExcludeRules,
    app_folders,
    database_companions,
    rules_for,
)
from mediastack.config import LoadedConfig

PERMISSION_FIX = "run the backup as root (or as the user owning the app folders)"


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """One path to archive, with what ``lstat`` said about it during the walk."""

    archive_path: str
    source: str
    kind: EntryKind
    size: int
    mode: int
    uid: int
    gid: int
    mtime: int


@dataclass(frozen=True)
class BackupPlan:
    """What a backup will contain: entries in archive order (databases last, so their copies
    can be taken while the other files are archived), what patterns left out, and warnings."""

    apps: tuple[str, ...]
    entries: tuple[PlannedEntry, ...]
    excluded: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def databases(self) -> list[PlannedEntry]:
        return [entry for entry in self.entries if entry.kind is EntryKind.DATABASE]

    @property
    def file_count(self) -> int:
        return sum(entry.kind in (EntryKind.FILE, EntryKind.DATABASE) for entry in self.entries)

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries)


class Walk:
    """One walk over everything a backup takes, yielded folder by folder so the archive can
    be written while the walk goes on. ``on_database`` is called as soon as a database is
    found (so its copy can start at once). After ``batches`` is exhausted, ``apps``,
    ``excluded`` and ``warnings`` say what it found."""

    def __init__(
        self, loaded: LoadedConfig, on_database: Callable[[PlannedEntry], object] | None = None
    ) -> None:
        self._loaded = loaded
        self.on_database = on_database
        self.apps: list[str] = []
        self.excluded: list[str] = []
        self.warnings: list[str] = []

    def batches(self) -> Iterator[list[PlannedEntry]]:
        """Yield the entries of the settings, then of each app folder, one folder at a time
        (databases included, with kind DATABASE). Raise BackupError when the config folder is
        missing, an app folder vanishes or a folder cannot be read."""
        loaded = self._loaded
        yield _settings(loaded)
        self.apps = self._list_apps(loaded.config_folder)
        protected = {str(loaded.backups_folder), str(loaded.data_folder)}
        for app in self.apps:
            walker = _Walker(rules_for(app, loaded.config.backups.exclude), protected, self)
            yield from walker.walk_app(loaded.config_folder / app, f"{APPS_PREFIX}{app}")

    def _list_apps(self, config_folder: Path) -> list[str]:
        try:
            with os.scandir(config_folder) as listing:
                children = list(listing)
        except FileNotFoundError:
            raise BackupError(
                f"the config folder {config_folder} does not exist",
                "check folders.config in mediastack.yaml, or run `mediastack init`",
            ) from None
        except OSError as error:
            raise unreadable(config_folder, error) from None
        folders = [child.name for child in children if child.is_dir(follow_symlinks=False)]
        self.warnings += [
            f"{child.path}: not inside an app folder, not backed up"
            for child in children
            if child.name not in folders
        ]
        return app_folders(folders)


def scan(loaded: LoadedConfig) -> BackupPlan:
    """Given the loaded config, return what a backup of it would contain now (databases
    last). Raise BackupError as ``Walk.batches`` does."""
    walk = Walk(loaded)
    entries: list[PlannedEntry] = []
    databases: list[PlannedEntry] = []
    for batch in walk.batches():
        for entry in batch:
            (databases if entry.kind is EntryKind.DATABASE else entries).append(entry)
    return BackupPlan(
        apps=tuple(walk.apps),
        entries=(*entries, *databases),
        excluded=tuple(walk.excluded),
        warnings=tuple(walk.warnings),
    )


def _settings(loaded: LoadedConfig) -> list[PlannedEntry]:
    entries = []
    for path in (loaded.path, loaded.env_file):
        try:
            status = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise unreadable(path, error) from None
        entries.append(_entry(f"{SETTINGS_PREFIX}{path.name}", str(path), status))
    return entries


class _Walker:
    """Walks one app folder, applying its exclusion rules."""

    def __init__(self, rules: ExcludeRules, protected: set[str], walk: Walk) -> None:
        self._rules = rules
        self._protected = protected
        self._walk = walk

    def walk_app(self, folder: Path, archive_root: str) -> Iterator[list[PlannedEntry]]:
        """Yield the entries of ``folder`` (archived as ``archive_root``) folder by folder,
        depth first in name order; raise BackupError when it vanished or cannot be read."""
        try:
            status = os.lstat(folder)
        except FileNotFoundError:
            raise vanished(folder) from None
        yield [_entry(archive_root, str(folder), status)]
        pending = [(str(folder), archive_root, "")]
        while pending:
            batch, folders = self._walk_folder(*pending.pop())
            pending.extend(reversed(folders))
            yield batch

    def _walk_folder(
        self, path: str, archive_path: str, relative: str
    ) -> tuple[list[PlannedEntry], list[tuple[str, str, str]]]:
        """Return one folder's entries and its sub-folders to walk next, in name order."""
        children = self._list(path, relative)
        names = [child.name for child in children]
        folders: list[PlannedEntry] = []
        files: list[PlannedEntry] = []
        below: list[tuple[str, str, str]] = []
        for child in children:
            child_relative = f"{relative}/{child.name}" if relative else child.name
            if self._rules.excludes(child_relative) or child.path in self._protected:
                self._walk.excluded.append(f"{archive_path}/{child.name}")
                continue
            entry = self._classify(child, f"{archive_path}/{child.name}")
            if entry is None:
                continue
            if entry.kind is EntryKind.DIRECTORY:
                folders.append(entry)
                below.append((child.path, entry.archive_path, child_relative))
            else:
                files.append(entry)
        entries = _with_databases(files, names)
        if self._walk.on_database is not None:
            for entry in entries:
                if entry.kind is EntryKind.DATABASE:
                    self._walk.on_database(entry)
        return folders + entries, below

    def _list(self, path: str, relative: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(path) as listing:
                return sorted(listing, key=lambda child: child.name)
        except FileNotFoundError:
            if not relative:
                raise vanished(Path(path)) from None
            self._walk.warnings.append(f"{path}: vanished while the backup read it")
            return []
        except OSError as error:
            raise unreadable(Path(path), error) from None

    def _classify(self, child: os.DirEntry[str], archive_path: str) -> PlannedEntry | None:
        try:
            status = child.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise unreadable(Path(child.path), error) from None
        if stat.S_ISDIR(status.st_mode) or stat.S_ISREG(status.st_mode):
            return _entry(archive_path, child.path, status)
        if stat.S_ISLNK(status.st_mode):
            return _entry(archive_path, child.path, status)
        self._walk.warnings.append(f"{child.path}: not a file, folder or link, not backed up")
        return None


def _with_databases(files: list[PlannedEntry], names: list[str]) -> list[PlannedEntry]:
    """Return ``files`` with its SQLite databases marked DATABASE and their -wal/-shm/-journal
    files dropped (the database copy holds what they hold)."""
    databases = {
        entry.archive_path
        for entry in files
        if entry.kind is EntryKind.FILE and is_database(entry.source, entry.size)
    }
    if not databases:
        return files
    companions = database_companions(names, (_name(path) for path in databases))
    return [
        _as_database(entry) if entry.archive_path in databases else entry
        for entry in files
        if _name(entry.archive_path) not in companions
    ]


def _name(archive_path: str) -> str:
    return archive_path.rpartition("/")[2]


def _entry(archive_path: str, source: str, status: os.stat_result) -> PlannedEntry:
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        kind = EntryKind.DIRECTORY
    elif stat.S_ISLNK(mode):
        kind = EntryKind.SYMLINK
    else:
        kind = EntryKind.FILE
    size = status.st_size if kind is EntryKind.FILE else 0
    return PlannedEntry(
        archive_path,
        source,
        kind,
        size,
        stat.S_IMODE(mode),
        status.st_uid,
        status.st_gid,
        int(status.st_mtime),
    )


def _as_database(entry: PlannedEntry) -> PlannedEntry:
    return PlannedEntry(
        entry.archive_path,
        entry.source,
        EntryKind.DATABASE,
        entry.size,
        entry.mode,
        entry.uid,
        entry.gid,
        entry.mtime,
    )


def vanished(folder: Path) -> BackupError:
    """Return the error for an app folder that disappeared while it was being backed up."""
    return BackupError(
        f"the app folder {folder} vanished while it was being backed up",
        "check whether the app was removed or its folder moved, then run the backup again",
    )


def unreadable(path: Path, error: OSError) -> BackupError:
    """Return the error for a path that cannot be read (permission denied and the like)."""
    reason = error.strerror or str(error)
    fix = PERMISSION_FIX if error.errno in (errno.EACCES, errno.EPERM) else None
    return BackupError(f"cannot read {path}: {reason}", fix)
