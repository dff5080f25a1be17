"""Write one archive atomically: a zstd-compressed tar of a ``BackupPlan`` plus its manifest.

Control flow: database copies start in a background thread (online backup API, into a hidden
work folder beside the archive) -> every other entry is read and streamed into the tar under a
hidden ``.partial`` name, hashed on the way -> the database copies follow -> the manifest is
the last member -> zstd frame closed, file fsynced, renamed to its final name, folder fsynced.
On any failure the partial file and the work folder are removed and nothing else is touched,
so no file that looks like a complete archive is ever left behind.

Small files are read whole into memory (one read, so a file an app rewrites is archived as
one version of it); larger ones are first copied into the work folder, so the size in their
tar header is the size of what is archived.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO, cast

import zstandard

from mediastack import __version__
from mediastack.backup.background import in_background
from mediastack.backup.databases import snapshot
from mediastack.backup.errors import BackupError
from mediastack.backup.manifest import (
    APPS_PREFIX,
    MANIFEST_NAME,
    EntryKind,
    Manifest,
    ManifestEntry,
)
from mediastack.backup.naming import partial_path, work_folder
from mediastack.backup.scan import PlannedEntry, Walk, unreadable, vanished
from mediastack.backup.tar_stream import DIRECTORY, SYMLINK, TarWriter

IN_MEMORY_LIMIT = 8 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024
DISK_FULL_FIX = "free space on the backups disk (or lower backups.keep_*), then run it again"
Advance = Callable[[int], None]


@dataclass(frozen=True)
class WriteOptions:
    """How to write: whose archive, made when, zstd level and compression threads (0: the
    calling thread compresses; N: N worker threads)."""

    instance: str
    created: datetime
    level: int = 3
    threads: int = 2


@dataclass(frozen=True)
class WrittenArchive:
    """A complete archive in its final place."""

    path: Path
    manifest: Manifest
    size_bytes: int


class ArchiveWriteError(Exception):
    """Writing to the backups folder failed (disk full, read-only, permission)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def write_archive(
    walk: Walk, destination: Path, options: WriteOptions, advance: Advance | None = None
) -> WrittenArchive:
    """Write what ``walk`` finds (walked in a background thread meanwhile) as the archive
    ``destination`` (which must not exist) and return it. ``advance`` is called with the
    bytes of each entry once it is archived. Raise BackupError when a source cannot be read,
    a database cannot be copied or the backups folder cannot be written; then neither the
    partial archive nor the work folder is left."""
    temporary = partial_path(destination)
    work = work_folder(destination)
    try:
        work.mkdir(mode=0o700)
        with _Snapshots(work, destination) as snapshots:
            walk.on_database = snapshots.submit
            manifest = _write(temporary, walk, options, _Sources(snapshots, work), advance)
        _publish(temporary, destination)
    except ArchiveWriteError as error:
        raise destination_error(destination, error.cause) from None
    except OSError as error:  # the work folder itself
        raise destination_error(destination, error) from None
    finally:
        temporary.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return WrittenArchive(destination, manifest, destination.stat().st_size)


def destination_error(destination: Path, error: OSError) -> BackupError:
    """Return the error for a backups folder that cannot take the archive."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return BackupError(
            f"the backups folder {destination.parent} is full: {destination.name} was not "
            "written (nothing older was touched)",
            DISK_FULL_FIX,
        )
    return BackupError(
        f"cannot write {destination.name} in {destination.parent}: {error.strerror or error}",
        "check that the backups folder exists, is writable and is on a mounted disk",
    )


def _write(
    temporary: Path, walk: Walk, options: WriteOptions, sources: _Sources, advance: Advance | None
) -> Manifest:
    descriptor = _create_exclusive(temporary)
    with os.fdopen(descriptor, "wb") as raw:
        compressor = zstandard.ZstdCompressor(
            level=options.level, threads=options.threads, write_checksum=True
        )
        sink = cast(IO[bytes], _GuardedSink(raw))  # it only needs write() and flush()
        with compressor.stream_writer(sink, closefd=False) as compressed:
            builder = _Builder(TarWriter(compressed), sources)
            databases = _add_walked(builder, walk, advance)
            for entry in databases:  # last: their copies were taken meanwhile
                builder.add(entry)
                if advance is not None:
                    advance(entry.size)
            manifest = _manifest(walk, options, builder)
            builder.add_manifest(manifest, options.created)
        _guarded(raw.flush)
        _guarded(lambda: os.fsync(raw.fileno()))
    return manifest


def _add_walked(builder: _Builder, walk: Walk, advance: Advance | None) -> list[PlannedEntry]:
    """Archive every entry the walk yields but the databases; return those."""
    databases: list[PlannedEntry] = []
    with closing(in_background(walk.batches())) as batches:  # stops the walk on any error
        for batch in batches:
            _add_batch(builder, batch, databases, advance)
    return databases


def _add_batch(
    builder: _Builder,
    batch: list[PlannedEntry],
    databases: list[PlannedEntry],
    advance: Advance | None,
) -> None:
    for entry in batch:
        if entry.kind is EntryKind.DATABASE:
            databases.append(entry)
            continue
        builder.add(entry)
        if advance is not None:
            advance(entry.size)


def _create_exclusive(path: Path) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise ArchiveWriteError(error) from None


def _manifest(walk: Walk, options: WriteOptions, builder: _Builder) -> Manifest:
    return Manifest(
        instance=options.instance,
        created=options.created.astimezone(UTC).isoformat(),
        mediastack_version=__version__,
        apps=tuple(walk.apps),
        entries=tuple(builder.entries),
        excluded=tuple(walk.excluded),
        warnings=(*walk.warnings, *builder.warnings),
    )


def _publish(temporary: Path, destination: Path) -> None:
    """Rename the complete file to its final name and make the rename durable."""
    try:
        os.replace(temporary, destination)
        folder = os.open(destination.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as error:
        raise ArchiveWriteError(error) from None


class _GuardedSink:
    """The archive file, with its write errors told apart from the sources' read errors."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def write(self, data: bytes, /) -> int:
        try:
            return self._raw.write(data)
        except OSError as error:
            raise ArchiveWriteError(error) from None

    def flush(self) -> None:
        _guarded(self._raw.flush)


def _guarded(action: Callable[[], object]) -> None:
    try:
        action()
    except OSError as error:
        raise ArchiveWriteError(error) from None


class _Snapshots:
    """Database copies taken in one background thread, in the order they are found, while
    the main thread archives the other files."""

    def __init__(self, work: Path, archive: Path) -> None:
        self._work = work
        self._archive = archive
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-backup")
        self._futures: dict[str, Future[Path]] = {}

    def __enter__(self) -> _Snapshots:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, entry: PlannedEntry) -> None:
        """Start copying the database of ``entry`` (callable from any thread)."""
        copy = self._work / f"{len(self._futures)}.db"
        self._futures[entry.archive_path] = self._pool.submit(
            _copy_database, entry, copy, self._archive
        )

    def copy_of(self, entry: PlannedEntry) -> Path:
        """Wait for the copy of ``entry``; return its path; raise its BackupError."""
        return self._futures[entry.archive_path].result()


def _copy_database(entry: PlannedEntry, destination: Path, archive: Path) -> Path:
    """Copy the database of ``entry`` to ``destination`` (in the work folder beside
    ``archive``); raise BackupError naming what failed."""
    source = Path(entry.source)
    try:
        snapshot(source, destination)
    except sqlite3.Error as error:
        raise _database_error(source, archive, error) from None
    except OSError as error:
        raise destination_error(archive, error) from None
    return destination


def _database_error(source: Path, archive: Path, error: sqlite3.Error) -> BackupError:
    if "disk is full" in str(error) or "disk I/O error" in str(error):
        return destination_error(archive, OSError(errno.ENOSPC, str(error)))
    if not source.exists():
        return BackupError(f"the database {source} vanished while it was being backed up")
    return BackupError(
        f"cannot take a consistent copy of the database {source}: {error}",
        "check the database with `sqlite3 FILE 'PRAGMA integrity_check'`; if the app keeps "
        "it locked for long, run the backup again",
    )


@dataclass(frozen=True)
class _Sources:
    snapshots: _Snapshots
    work: Path


class _Builder:
    """Adds entries to the tar and collects their manifest entries."""

    def __init__(self, tar: TarWriter, sources: _Sources) -> None:
        self._tar = tar
        self._sources = sources
        self._spill = sources.work / "file"
        self.entries: list[ManifestEntry] = []
        self.warnings: list[str] = []

    def add(self, entry: PlannedEntry) -> None:
        """Archive one planned entry. A file or link deleted since the walk is left out with
        a warning (the app removed it); a whole app folder gone, or any other read error,
        raises BackupError."""
        try:
            added = self._add_by_kind(entry)
        except FileNotFoundError:
            root = _app_root(entry)
            if root is not None and not os.path.isdir(root):
                raise vanished(Path(root)) from None
            self.warnings.append(f"{entry.source}: deleted while the backup ran, left out")
            return
        except OSError as error:
            raise unreadable(Path(entry.source), error) from None
        self.entries.append(added)

    def _add_by_kind(self, entry: PlannedEntry) -> ManifestEntry:
        path, kind = entry.archive_path, entry.kind
        if kind is EntryKind.FILE:
            size, digest = self._add_regular(entry)
            return ManifestEntry(path, kind, size, digest)
        if kind is EntryKind.DIRECTORY:
            self._tar.add_entry(path, DIRECTORY, entry.mode, entry.uid, entry.gid, entry.mtime)
            return ManifestEntry(path, kind)
        if kind is EntryKind.SYMLINK:
            target = os.readlink(entry.source)
            self._tar.add_entry(
                path, SYMLINK, entry.mode, entry.uid, entry.gid, entry.mtime, target
            )
            return ManifestEntry(path, kind, target=target)
        size, digest = self._add_copy(entry, self._sources.snapshots.copy_of(entry))
        return ManifestEntry(path, kind, size, digest)

    def _add_regular(self, entry: PlannedEntry) -> tuple[int, str]:
        data = _capture(entry, self._spill)
        if isinstance(data, bytes):
            self._tar.add_file(
                entry.archive_path, data, entry.mode, entry.uid, entry.gid, entry.mtime
            )
            return len(data), hashlib.sha256(data).hexdigest()
        try:
            return self._add_copy(entry, data)
        finally:
            self._spill.unlink(missing_ok=True)

    def _add_copy(self, entry: PlannedEntry, copy: Path) -> tuple[int, str]:
        """Stream one of our own copies (work folder) into the tar; return size and hash."""
        digest = hashlib.sha256()
        try:
            handle = copy.open("rb")
        except OSError as error:
            raise ArchiveWriteError(error) from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            self._tar.begin_file(
                entry.archive_path, size, entry.mode, entry.uid, entry.gid, entry.mtime
            )
            while chunk := handle.read(CHUNK_SIZE):
                digest.update(chunk)
                self._tar.add_data(chunk)
        self._tar.end_member(size)
        return size, digest.hexdigest()

    def add_manifest(self, manifest: Manifest, created: datetime) -> None:
        mtime = int(created.timestamp())
        self._tar.add_file(MANIFEST_NAME, manifest.to_bytes(), 0o600, 0, 0, mtime)
        self._tar.close()


def _app_root(entry: PlannedEntry) -> str | None:
    """Return the folder of the app ``entry`` belongs to (None for mediastack's settings)."""
    if not entry.archive_path.startswith(APPS_PREFIX):
        return None
    below = entry.archive_path[len(APPS_PREFIX) :].partition("/")[2]
    return entry.source[: len(entry.source) - len(below) - 1] if below else entry.source


def _capture(entry: PlannedEntry, spill: Path) -> bytes | Path:
    """Read the file of ``entry``: its bytes when it is small, else a copy at ``spill``."""
    descriptor = os.open(entry.source, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        chunks: list[bytes] = []
        total = 0
        request = min(entry.size, IN_MEMORY_LIMIT) + 1
        while total <= IN_MEMORY_LIMIT:
            chunk = os.read(descriptor, request)
            chunks.append(chunk)
            total += len(chunk)
            if len(chunk) < request:  # a regular file reads short only at its end
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            request = CHUNK_SIZE
        _spill(descriptor, chunks, spill)
        return spill
    finally:
        os.close(descriptor)


def _spill(descriptor: int, head: list[bytes], spill: Path) -> None:
    """Copy the rest of the open source file, after the bytes read already, to ``spill``."""
    try:
        out = spill.open("wb")
    except OSError as error:
        raise ArchiveWriteError(error) from None
    with out:
        _write_to(out, b"".join(head))
        while chunk := os.read(descriptor, CHUNK_SIZE):
            _write_to(out, chunk)


def _write_to(out: BinaryIO, data: bytes) -> None:
    try:
        out.write(data)
    except OSError as error:
        raise ArchiveWriteError(error) from None
