"""Write one archive atomically: a zstd-compressed tar of what a ``Walk`` finds, plus its manifest.

Control flow: the walk of the folders is spread over worker processes (``worker_pool``), a
few folders per job: each job lists its folders, reads, hashes and compresses what is in them
and appends it to a hidden ``.partial`` file (``archive_pieces``), and hands back the
sub-folders it found, for later jobs; a database goes to a worker as soon as it is found, to
be copied through SQLite's online backup API and appended in turn -> once every job is done,
the manifest is appended as the last member -> file fsynced, renamed to its final name, folder
fsynced. On any failure the partial file and the work folder (copies of databases and large
files) are removed and nothing else is touched, so no file that looks like a complete archive
is ever left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from mediastack import __version__
from mediastack.backup.archive_pieces import (
    Archived,
    CopyJob,
    Piece,
    Target,
    WalkJob,
    append_frames,
    build_copy,
    build_walk,
    compress_frame,
    destination_error,
)
from mediastack.backup.errors import BackupError
from mediastack.backup.manifest import MANIFEST_NAME, Manifest
from mediastack.backup.naming import partial_path, work_folder
from mediastack.backup.scan import Folder, PlannedEntry, Walk
from mediastack.backup.selection import ExcludeRules
from mediastack.backup.tar_stream import END_OF_ARCHIVE, REGULAR, header, padding

WRITEBACK_BYTES = 64 * 1024 * 1024
# Folders per walk job: enough that a job's work outweighs handing it over, few enough that
# every worker has jobs. Early on, when few folders are known, jobs take fewer.
FOLDERS_PER_JOB = 128
JOBS_PER_WORKER = 2  # in the pool at a time: one running, one ready
Advance = Callable[[int], None]
Result = TypeVar("Result")


@dataclass(frozen=True)
class WriteOptions:
    """How to write: whose archive, made when, zstd level, and how many worker processes."""

    instance: str
    created: datetime
    level: int = 3
    workers: int = 2


@dataclass(frozen=True)
class WrittenArchive:
    """A complete archive in its final place: its size, how many files (databases included)
    and databases it holds, their bytes, and the manifest's warnings."""

    path: Path
    size_bytes: int
    files: int
    databases: int
    source_bytes: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Totals:
    """What the archive holds, for ``WrittenArchive``."""

    files: int
    databases: int
    source_bytes: int
    warnings: tuple[str, ...]


class ArchiveWriteError(Exception):
    """Writing to the backups folder failed (disk full, read-only, permission)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def write_archive(
    walk: Walk,
    destination: Path,
    options: WriteOptions,
    pool: Executor,
    advance: Advance | None = None,
) -> WrittenArchive:
    """Write what ``walk`` finds as the archive ``destination`` (which must not exist), with
    the ``options.workers`` processes of ``pool`` (``worker_pool``), and return it.
    ``advance`` is called with the bytes of the entries archived, as they are.
    Raise BackupError when a source cannot be read, a database cannot be copied or the
    backups folder cannot be written; then neither the partial archive nor the work folder is
    left."""
    temporary = partial_path(destination)
    work = work_folder(destination)
    try:
        work.mkdir(mode=0o700)
        written = _write(temporary, walk, options, work, destination, pool, advance)
        _publish(temporary, destination)
    except ArchiveWriteError as error:
        raise destination_error(destination, error.cause) from None
    except OSError as error:  # the work folder itself
        raise destination_error(destination, error) from None
    except BrokenProcessPool:
        raise BackupError(
            "a worker process of the backup stopped unexpectedly (killed, or out of memory); "
            f"{destination.name} was not written",
            "check the system log (dmesg) for what stopped it, then run the backup again",
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return WrittenArchive(
        destination, destination.stat().st_size, written.files, written.databases,
        written.source_bytes, written.warnings,
    )


def _write(
    temporary: Path, walk: Walk, options: WriteOptions, work: Path, destination: Path,
    pool: Executor, advance: Advance | None,
) -> _Totals:
    target = Target(temporary, destination, work)
    with _ArchiveFile(target) as archive, _stopping(pool):
        entries, folders = walk.start()
        jobs = _Jobs(target, options.level, walk.rules, walk.protected)
        assembler = _Assembler(pool, archive, jobs, options.workers, advance)
        assembler.run(entries, folders)
        manifest = _manifest(walk, options, assembler)
        append_frames(target, _last_frame(manifest, assembler.manifest_parts, options))
        archive.sync()
    return assembler.totals(manifest.warnings)


def _manifest(walk: Walk, options: WriteOptions, assembler: _Assembler) -> Manifest:
    """Return the manifest but its entries (the workers encoded those)."""
    return Manifest(
        instance=options.instance,
        created=options.created.astimezone(UTC).isoformat(),
        mediastack_version=__version__,
        apps=tuple(walk.apps),
        entries=(),
        excluded=(*walk.findings.excluded, *assembler.excluded),
        warnings=(*walk.findings.warnings, *assembler.warnings),
    )


def _last_frame(manifest: Manifest, entries: list[str], options: WriteOptions) -> bytes:
    """Return the manifest member (with ``entries``, encoded) and the end of the tar, as the
    archive's last frame."""
    data = manifest.to_bytes(entries)
    mtime = int(options.created.timestamp())
    member = header(MANIFEST_NAME, REGULAR, len(data), 0o600, 0, 0, mtime)
    return compress_frame(member + data + padding(len(data)) + END_OF_ARCHIVE, options.level)


@contextmanager
def _stopping(pool: Executor) -> Iterator[None]:
    """On a failure, cancel the jobs not started and wait for the running ones, so none
    still writes in the work folder when it is removed."""
    try:
        yield
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise


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


class _ArchiveFile:
    """The partial archive, new (mode 0600); the workers append to it. Every
    WRITEBACK_BYTES it grows, the kernel is asked to start writing it to disk, so the final
    fsync (tar never does one; a published archive must be durable) waits only for the last
    part rather than for the whole archive at the end."""

    def __init__(self, target: Target) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        self._descriptor = _guarded(lambda: os.open(target.partial, flags, 0o600))
        self._written_back = 0

    def __enter__(self) -> _ArchiveFile:
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self._descriptor)

    def start_writeback(self) -> None:
        """Start writing what was appended to disk, once there is enough of it."""
        size = _guarded(lambda: os.fstat(self._descriptor).st_size)
        if size - self._written_back >= WRITEBACK_BYTES:
            with contextlib.suppress(OSError):  # only advice: the final fsync writes anyway
                os.posix_fadvise(
                    self._descriptor, self._written_back, size - self._written_back,
                    os.POSIX_FADV_DONTNEED,
                )
            self._written_back = size

    def sync(self) -> None:
        _guarded(lambda: os.fsync(self._descriptor))


def _guarded(action: Callable[[], Result]) -> Result:
    try:
        return action()
    except OSError as error:
        raise ArchiveWriteError(error) from None


@dataclass(frozen=True)
class _Jobs:
    """Makes the workers' jobs: where they append, and how they walk and compress."""

    target: Target
    level: int
    rules: Mapping[str, ExcludeRules]
    protected: frozenset[str]

    def walk(self, entries: list[PlannedEntry], folders: list[Folder]) -> WalkJob:
        return WalkJob(
            tuple(entries), tuple(folders), self.rules, self.protected, self.target, self.level
        )

    def copy(self, entry: PlannedEntry, number: int) -> CopyJob:
        return CopyJob(entry, number, self.target, self.level)


class _Assembler:
    """Hands the walk to the workers, a few folders per job, and takes in what each job
    appended as it finishes: the sub-folders it found (for later jobs), the databases and
    large files (for copy jobs, started at once), its manifest entries and warnings.

    Only a few walk jobs are in the pool at a time, so a copy goes to the next free worker
    instead of after every walk job made so far: a database's copy is the longest job."""

    def __init__(
        self,
        pool: Executor,
        archive: _ArchiveFile,
        jobs: _Jobs,
        workers: int,
        advance: Advance | None,
    ) -> None:
        self._pool = pool
        self._archive = archive
        self._jobs = jobs
        self._walk_limit = workers * JOBS_PER_WORKER
        self._advance = advance
        self._pending: deque[Folder] = deque()
        self._walks: set[Future[Piece]] = set()
        self._copies: set[Future[Piece]] = set()
        self._copies_made = 0
        self._archived: list[Archived] = []
        self.excluded: list[str] = []
        self.warnings: list[str] = []

    def run(self, entries: list[PlannedEntry], folders: list[Folder]) -> None:
        """Archive ``entries`` and everything in ``folders``, all the way down."""
        self._walks.add(self._pool.submit(build_walk, self._jobs.walk(entries, folders)))
        while self._walks or self._copies:
            done, _ = wait(self._walks | self._copies, return_when=FIRST_COMPLETED)
            for future in done:
                self._walks.discard(future)
                self._copies.discard(future)
                self._take(future.result())
            while self._pending and len(self._walks) < self._walk_limit:
                job = self._jobs.walk([], self._next_folders())
                self._walks.add(self._pool.submit(build_walk, job))
            self._archive.start_writeback()

    @property
    def manifest_parts(self) -> list[str]:
        """The manifest entries of everything appended, encoded."""
        return [archived.manifest_part for archived in self._archived]

    def totals(self, warnings: tuple[str, ...]) -> _Totals:
        return _Totals(
            files=sum(archived.files for archived in self._archived),
            databases=sum(archived.databases for archived in self._archived),
            source_bytes=sum(archived.source_bytes for archived in self._archived),
            warnings=warnings,
        )

    def _next_folders(self) -> list[Folder]:
        share = -(-len(self._pending) // self._walk_limit)  # rounded up
        count = min(FOLDERS_PER_JOB, share)
        return [self._pending.popleft() for _ in range(count)]

    def _take(self, piece: Piece) -> None:
        self._archived.append(piece.archived)
        self.excluded += piece.excluded
        self.warnings += piece.warnings
        self._pending += piece.below
        for entry in piece.copies:
            job = self._jobs.copy(entry, self._copies_made)
            self._copies.add(self._pool.submit(build_copy, job))
            self._copies_made += 1
        if self._advance is not None:
            self._advance(piece.archived.source_bytes)
