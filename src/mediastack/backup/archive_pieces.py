"""Build an archive in pieces: zstd frames holding tar members, appended to the partial archive,
with the manifest entries of those members.

The functions here run in the writer's worker processes (``worker_pool``), one job at a time;
each takes everything it needs as arguments, so any process can run it. Each worker appends
its frames to the partial archive itself, whole members at a time under a lock on the file:
a zstd file may hold any number of frames, read by ``zstd -d`` and ``tar --zstd`` as one
stream, and a tar may hold its members in any order, so no process has to put pieces in order
or copy them. Two kinds of job:

- ``build_walk``: walk some folders one level deep (``scan.FolderWalker``, as a dry run does)
  and archive their sub-folders, small files and links. A small file is read whole, in one
  read when its size is what the walk saw (so a file an app rewrites is archived as one
  version of it), hashed, and added after its header. Databases, and files larger than
  ``IN_MEMORY_LIMIT``, are handed back to be archived by copy jobs, and the sub-folders to be
  walked by later walk jobs.
- ``build_copy``: one database (copied through SQLite's online backup API) or one large file
  (copied as it is) into the work folder, so that the size in its tar header is the size of
  what is archived; the copy is compressed into a file of frames, which is then appended.

A file deleted since the walk is left out with a warning (the app removed it); a whole app
folder gone, or any other read error, raises BackupError, as does a full backups disk.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from io import BufferedWriter
from pathlib import Path
from typing import Any

import zstandard

from mediastack.backup.databases import snapshot
from mediastack.backup.errors import BackupError
from mediastack.backup.manifest import APPS_PREFIX, EntryKind, encode_entries, entry_json
from mediastack.backup.scan import (
    Findings,
    Folder,
    FolderWalker,
    PlannedEntry,
    unreadable,
    vanished,
)
from mediastack.backup.selection import ExcludeRules
from mediastack.backup.tar_stream import DIRECTORY, REGULAR, SYMLINK, header, padding

IN_MEMORY_LIMIT = 8 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024
FRAME_BYTES = 4 * 1024 * 1024  # of tar data per zstd frame
DISK_FULL_FIX = "free space on the backups disk (or lower backups.keep_*), then run it again"
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
# copy_file_range cannot copy between these files (old kernel, some file systems)
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTSUP}


@dataclass(frozen=True)
class Target:
    """Where a job's pieces go: the partial archive (``partial``) of ``archive``, and the
    work folder beside it for copies."""

    partial: Path
    archive: Path
    work: Path


@dataclass(frozen=True)
class WalkJob:
    """Archive ``entries``, then walk ``folders`` (each one level: their sub-folders are
    walked by later jobs) and archive what is in them, at zstd ``level``."""

    entries: tuple[PlannedEntry, ...]
    folders: tuple[Folder, ...]
    rules: Mapping[str, ExcludeRules]
    protected: frozenset[str]
    target: Target
    level: int


@dataclass(frozen=True)
class CopyJob:
    """One database or large file to archive from a copy (the ``number``-th copy job)."""

    entry: PlannedEntry
    number: int
    target: Target
    level: int


@dataclass(frozen=True)
class Archived:
    """What a job appended: its members' manifest entries, already encoded (a part made by
    ``manifest.encode_entries``: encoding is spread over the workers too), how many are
    files or databases, and their bytes."""

    manifest_part: str = ""
    files: int = 0
    databases: int = 0
    source_bytes: int = 0


@dataclass(frozen=True)
class Piece:
    """A finished job: what it appended; for a walk job also the sub-folders to walk next,
    the databases and large files found (to archive by copy jobs), and what the walk left
    out."""

    archived: Archived = Archived()
    below: tuple[Folder, ...] = ()
    copies: tuple[PlannedEntry, ...] = ()
    excluded: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def compress_frame(data: bytes | bytearray, level: int) -> bytes:
    """Return ``data`` as one complete zstd frame (with its checksum)."""
    return _compressor(level).compress(data)


@functools.cache
def _compressor(level: int) -> zstandard.ZstdCompressor:
    # One per process and level: its context is reused from job to job (jobs in one process
    # run one at a time).
    return zstandard.ZstdCompressor(level=level, write_checksum=True)


def build_walk(job: WalkJob) -> Piece:
    """Archive the entries of ``job``, walk its folders and archive what is in them; return
    the piece. Raise BackupError when something cannot be read, an app folder vanished or
    the backups disk cannot take the frames."""
    findings = Findings()
    walker = FolderWalker(job.rules, job.protected, findings)
    members = _Members(job.target, job.level)
    copies = _archive(job.entries, members, findings)
    below: list[Folder] = []
    for folder in job.folders:
        found, sub_folders = walker.walk(folder)
        copies += _archive(found, members, findings)
        below += sub_folders
    members.flush()
    return Piece(
        members.archived(), tuple(below), tuple(copies), tuple(findings.excluded),
        tuple(findings.warnings),
    )


def _archive(
    entries: Iterable[PlannedEntry], members: _Members, findings: Findings
) -> list[PlannedEntry]:
    """Add ``entries`` to ``members``; return those to archive by copy jobs instead
    (databases, files too large to hold in memory)."""
    copies = []
    for entry in entries:
        if entry.kind is EntryKind.DATABASE or entry.size > IN_MEMORY_LIMIT:
            copies.append(entry)
            continue
        try:
            if not members.add(entry):
                copies.append(entry)
        except FileNotFoundError:
            findings.warnings.append(deleted_warning(entry))
        except OSError as error:
            raise unreadable(Path(entry.source), error) from None
    return copies


class _Members:
    """The members a walk job archives: tar bytes appended to the archive as a new frame
    whenever FRAME_BYTES have gathered (so no job holds much in memory, however large its
    folders), and their manifest entries."""

    def __init__(self, target: Target, level: int) -> None:
        self._target = target
        self._level = level
        self._tar = bytearray()
        self._entries: list[list[Any]] = []
        self._files = 0
        self._bytes = 0

    def add(self, entry: PlannedEntry) -> bool:
        """Add the member of ``entry`` (a folder, small file or link); return False for a
        file found too large to hold in memory. Raise OSError when it cannot be read."""
        path, kind = entry.archive_path, entry.kind
        if kind is EntryKind.FILE:
            data = read_whole(entry.source, entry.size)
            if data is None:
                return False
            digest = hashlib.sha256(data).hexdigest()
            self._add(entry, REGULAR, data, entry_json(path, kind, len(data), digest))
            self._files += 1
            self._bytes += len(data)
        elif kind is EntryKind.DIRECTORY:
            self._add(entry, DIRECTORY, b"", entry_json(path, kind))
        else:
            target = os.readlink(entry.source)
            self._add(entry, SYMLINK, b"", entry_json(path, kind, target=target), target)
        return True

    def archived(self) -> Archived:
        return Archived(encode_entries(self._entries), self._files, 0, self._bytes)

    def _add(
        self, entry: PlannedEntry, kind: bytes, data: bytes, manifest: list[Any], link: str = ""
    ) -> None:
        size = len(data)
        self._tar += header(
            entry.archive_path, kind, size, entry.mode, entry.uid, entry.gid, entry.mtime, link
        )
        if size:
            self._tar += data
            self._tar += padding(size)
        self._entries.append(manifest)
        if len(self._tar) >= FRAME_BYTES:
            self.flush()

    def flush(self) -> None:
        """Append the members gathered so far as a frame."""
        if self._tar:
            append_frames(self._target, compress_frame(self._tar, self._level))
            self._tar.clear()


def read_whole(source: str, expected_size: int) -> bytes | None:
    """Return the content of the file at ``source`` (``expected_size`` bytes when the walk saw
    it): in one read when it still has that size, else read on to its end; None when it is
    larger than IN_MEMORY_LIMIT. Raise OSError when it cannot be read."""
    descriptor = os.open(source, _READ_FLAGS)
    try:
        chunks: list[bytes] = []
        total = 0
        request = min(expected_size, IN_MEMORY_LIMIT) + 1
        while True:
            chunk = os.read(descriptor, request)
            chunks.append(chunk)
            total += len(chunk)
            if len(chunk) < request:  # a regular file reads short only at its end
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if total > IN_MEMORY_LIMIT:
                return None
            request = CHUNK_SIZE
    finally:
        os.close(descriptor)


def deleted_warning(entry: PlannedEntry) -> str:
    """Return the warning for an entry deleted since the walk; raise BackupError when its
    whole app folder is gone."""
    root = _app_root(entry)
    if root is not None and not os.path.isdir(root):
        raise vanished(Path(root))
    return f"{entry.source}: deleted while the backup ran, left out"


def _app_root(entry: PlannedEntry) -> str | None:
    """Return the folder of the app ``entry`` belongs to (None for mediastack's settings)."""
    if not entry.archive_path.startswith(APPS_PREFIX):
        return None
    below = entry.archive_path[len(APPS_PREFIX) :].partition("/")[2]
    return entry.source[: len(entry.source) - len(below) - 1] if below else entry.source


def build_copy(job: CopyJob) -> Piece:
    """Copy the database or file of ``job.entry`` into the work folder, compress the copy
    into a file of frames there and append that; return the piece. Raise BackupError when
    the source cannot be read or copied consistently, or the backups disk cannot take it."""
    entry, archive = job.entry, job.target.archive
    copy = job.target.work / f"{job.number}.copy"
    frames = job.target.work / f"{job.number}.zst"
    try:
        if entry.kind is EntryKind.DATABASE:
            _copy_database(entry, copy, archive)
        else:
            _copy_file(entry, copy, archive)
        archived = _compress_copy(entry, copy, frames, archive, job.level)
        append_file(job.target, frames)
    except FileNotFoundError:  # the source, deleted since the walk
        return Piece(warnings=(deleted_warning(entry),))
    finally:
        copy.unlink(missing_ok=True)
        frames.unlink(missing_ok=True)
    return Piece(archived)


def _copy_database(entry: PlannedEntry, copy: Path, archive: Path) -> None:
    source = Path(entry.source)
    try:
        snapshot(source, copy)
    except sqlite3.Error as error:
        raise _database_error(source, archive, error) from None
    except OSError as error:
        raise destination_error(archive, error) from None


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


def _copy_file(entry: PlannedEntry, copy: Path, archive: Path) -> None:
    """Copy the file of ``entry`` to ``copy``; read errors name the source, write errors the
    backups folder. FileNotFoundError when the source is gone."""
    try:
        source = os.open(entry.source, _READ_FLAGS)
    except FileNotFoundError:
        raise  # the caller leaves the file out
    except OSError as error:
        raise unreadable(Path(entry.source), error) from None
    try:
        with _open_new(copy, archive) as out:
            while chunk := _read_source(source, entry):
                _write_copy(out, chunk, archive)
    finally:
        os.close(source)


def _read_source(descriptor: int, entry: PlannedEntry) -> bytes:
    try:
        return os.read(descriptor, CHUNK_SIZE)
    except OSError as error:
        raise unreadable(Path(entry.source), error) from None


def _open_new(path: Path, archive: Path) -> BufferedWriter:
    try:
        return path.open("xb")
    except OSError as error:
        raise destination_error(archive, error) from None


def _write_copy(out: BufferedWriter, data: bytes, archive: Path) -> None:
    try:
        out.write(data)
    except OSError as error:
        raise destination_error(archive, error) from None


def _compress_copy(
    entry: PlannedEntry, copy_path: Path, frames: Path, archive: Path, level: int
) -> Archived:
    """Compress the copy at ``copy_path`` as the member of ``entry`` into ``frames``; return
    what it adds up to. Both files are ours, so any error is the backups disk's."""
    digest = hashlib.sha256()
    try:
        with copy_path.open("rb") as copy, frames.open("xb") as out:
            size = os.fstat(copy.fileno()).st_size
            with _compressor(level).stream_writer(out, closefd=False) as writer:
                writer.write(
                    header(entry.archive_path, REGULAR, size, entry.mode, entry.uid, entry.gid,
                           entry.mtime)
                )
                while chunk := copy.read(CHUNK_SIZE):
                    digest.update(chunk)
                    writer.write(chunk)
                writer.write(padding(size))
    except OSError as error:
        raise destination_error(archive, error) from None
    part = encode_entries([entry_json(entry.archive_path, entry.kind, size, digest.hexdigest())])
    return Archived(part, 1, int(entry.kind is EntryKind.DATABASE), size)


def append_frames(target: Target, data: bytes) -> None:
    """Append ``data`` (whole frames) to the partial archive."""
    with _appending(target) as (descriptor, end):
        _write_at(descriptor, memoryview(data), end)


def append_file(target: Target, frames: Path) -> None:
    """Append the content of the file ``frames`` (whole frames) to the partial archive: the
    kernel copies it (``copy_file_range``), or, where the file system cannot, reads and
    writes do."""
    with _appending(target) as (descriptor, end), frames.open("rb") as source:
        size = os.fstat(source.fileno()).st_size
        copied = 0
        while copied < size:
            try:
                step = os.copy_file_range(source.fileno(), descriptor, size - copied, copied,
                                          end + copied)
            except OSError as error:
                if error.errno not in _NO_COPY_RANGE:
                    raise
                step = 0
            if step == 0:
                break
            copied += step
        source.seek(copied)
        while chunk := source.read(CHUNK_SIZE):
            _write_at(descriptor, memoryview(chunk), end + copied)
            copied += len(chunk)


@contextmanager
def _appending(target: Target) -> Iterator[tuple[int, int]]:
    """Open the partial archive and lock it against the other workers' appends; yield the
    descriptor and the end of the file, where the caller writes. Errors are the backups
    disk's."""
    try:
        descriptor = os.open(target.partial, os.O_WRONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # released by the close
            yield descriptor, os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)
    except OSError as error:
        raise destination_error(target.archive, error) from None


def _write_at(descriptor: int, data: memoryview, offset: int) -> None:
    while data:
        written = os.pwrite(descriptor, data, offset)
        data, offset = data[written:], offset + written


def destination_error(archive: Path, error: OSError) -> BackupError:
    """Return the error for a backups folder that cannot take the archive ``archive``."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return BackupError(
            f"the backups folder {archive.parent} is full: {archive.name} was not "
            "written (nothing older was touched)",
            DISK_FULL_FIX,
        )
    return BackupError(
        f"cannot write {archive.name} in {archive.parent}: {error.strerror or error}",
        "check that the backups folder exists, is writable and is on a mounted disk",
    )

