"""Walk the folders to back up and decide, per path, what goes into the archive.

Reads the file system (names, ``lstat``, the 16-byte header of files that may be databases)
and writes nothing. The decisions themselves are the pure functions of ``selection`` and
``databases``. Control flow: the mediastack settings (mediastack.yaml, .env) -> every app
folder inside the config folder -> each folder in it, one at a time (``FolderWalker``), depth
first in name order -> a ``BackupPlan``. The archive writer walks the same folders with the
same ``FolderWalker``, spread over its worker processes.
"""

from __future__ import annotations

import errno
import operator
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

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
# What is archived, by the file type bits of its mode; anything else is left out.
_KINDS = {
    stat.S_IFDIR: EntryKind.DIRECTORY,
    stat.S_IFREG: EntryKind.FILE,
    stat.S_IFLNK: EntryKind.SYMLINK,
}
_BY_NAME = operator.attrgetter("name")


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


class Folder(NamedTuple):
    """A folder to walk: where it is, its path in the archive, its path relative to its app
    folder (empty for the app folder itself: what exclusion patterns match) and its app."""

    path: str
    archive_path: str
    relative: str
    app: str


@dataclass
class Findings:
    """What a walk finds besides the entries: paths patterns left out, and warnings."""

    excluded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Walk:
    """One walk over everything a backup takes. ``batches`` walks it all here, folder by
    folder, depth first in name order; the archive writer instead hands ``folders`` to a
    ``FolderWalker`` in each of its worker processes. ``apps`` and ``findings`` say what it
    found."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self._loaded = loaded
        self.apps: list[str] = []
        self.findings = Findings()
        self.rules: dict[str, ExcludeRules] = {}
        self.protected = frozenset({str(loaded.backups_folder), str(loaded.data_folder)})

    def start(self) -> tuple[list[PlannedEntry], list[Folder]]:
        """Return the first entries (the settings, then each app folder) and the app folders
        to walk. Raise BackupError when the config folder is missing or unreadable, or an
        app folder vanished."""
        loaded = self._loaded
        entries = _settings(loaded)
        self.apps = self._list_apps(loaded.config_folder)
        folders = []
        for app in self.apps:
            self.rules[app] = rules_for(app, loaded.config.backups.exclude)
            folder = loaded.config_folder / app
            try:
                status = os.lstat(folder)
            except FileNotFoundError:
                raise vanished(folder) from None
            archive_root = f"{APPS_PREFIX}{app}"
            entries.append(_entry(archive_root, str(folder), status))
            folders.append(Folder(str(folder), archive_root, "", app))
        return entries, folders

    def walker(self) -> FolderWalker:
        """Return a walker of this walk's folders that records into ``findings``."""
        return FolderWalker(self.rules, self.protected, self.findings)

    def batches(self) -> Iterator[list[PlannedEntry]]:
        """Yield the first entries, then those of each folder, depth first in name order
        (databases included, with kind DATABASE). Raise BackupError as ``start`` does, and
        when a folder cannot be read."""
        entries, pending = self.start()
        yield entries
        walker = self.walker()
        pending.reverse()
        while pending:
            found, below = walker.walk(pending.pop())
            pending.extend(reversed(below))
            yield found

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
        self.findings.warnings += [
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
        excluded=tuple(walk.findings.excluded),
        warnings=tuple(walk.findings.warnings),
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


class FolderWalker:
    """Walks one folder at a time (not below it), applying its app's exclusion rules and
    recording what it leaves out in ``findings``. Takes only plain values, so the archive
    writer's worker processes each run their own."""

    def __init__(
        self, rules: Mapping[str, ExcludeRules], protected: frozenset[str], findings: Findings
    ) -> None:
        self._rules = rules
        self._protected = protected
        self._findings = findings

    def walk(self, folder: Folder) -> tuple[list[PlannedEntry], list[Folder]]:
        """Return the entries in ``folder`` (its sub-folders, then its files and links; its
        SQLite databases with kind DATABASE and their -wal/-shm/-journal files left out)
        and its sub-folders to walk next, in name order. Raise BackupError when it cannot be
        read, or vanished with its app folder."""
        _, archive_path, relative, app = folder
        rules = self._rules[app]
        children = self._list(folder)
        names = [child.name for child in children]
        relative_prefix = f"{relative}/" if relative else ""
        folders: list[PlannedEntry] = []
        files: list[PlannedEntry] = []
        below: list[Folder] = []
        for child, name in zip(children, names, strict=True):
            child_relative = relative_prefix + name
            child_archive_path = f"{archive_path}/{name}"
            if rules.excludes(child_relative) or child.path in self._protected:
                self._findings.excluded.append(child_archive_path)
                continue
            entry = self._classify(child, child_archive_path)
            if entry is None:
                continue
            if entry.kind is EntryKind.DIRECTORY:
                folders.append(entry)
                below.append(Folder(child.path, child_archive_path, child_relative, app))
            else:
                files.append(entry)
        return folders + _with_databases(files, names), below

    def _list(self, folder: Folder) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder.path) as listing:
                return sorted(listing, key=_BY_NAME)
        except FileNotFoundError:
            app_root = folder.path.removesuffix(f"/{folder.relative}")
            if not folder.relative or not os.path.isdir(app_root):
                raise vanished(Path(app_root)) from None
            self._findings.warnings.append(f"{folder.path}: vanished while the backup read it")
            return []
        except OSError as error:
            raise unreadable(Path(folder.path), error) from None

    def _classify(self, child: os.DirEntry[str], archive_path: str) -> PlannedEntry | None:
        try:
            status = child.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise unreadable(Path(child.path), error) from None
        if stat.S_IFMT(status.st_mode) in _KINDS:
            return _entry(archive_path, child.path, status)
        self._findings.warnings.append(f"{child.path}: not a file, folder or link, not backed up")
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
    """Return the entry of a folder, regular file or symlink (by its ``lstat``)."""
    mode = status.st_mode
    kind = _KINDS[stat.S_IFMT(mode)]
    size = status.st_size if kind is EntryKind.FILE else 0
    return PlannedEntry(
        archive_path, source, kind, size, mode & 0o7777, status.st_uid, status.st_gid,
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
