"""The backup actions as the CLI and the supervisor call them: back up, verify, list, prune.

Each takes the loaded config, holds the backups folder's lock while it changes anything, and
raises BackupError (message and fix) when it cannot do its job. Time comes in through ``now``
so tests and the supervisor can supply their clock.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from mediastack.backup.archive_writer import WriteOptions, WrittenArchive, write_archive
from mediastack.backup.catalog import ArchiveInfo, find_archive, leftovers, list_archives
from mediastack.backup.errors import BackupError
from mediastack.backup.lock import backups_lock
from mediastack.backup.naming import new_archive_name, verify_record_path
from mediastack.backup.progress import ProgressReporter, SilentProgress
from mediastack.backup.retention import Candidate, RetentionPlan, RetentionPolicy, plan_retention
from mediastack.backup.scan import BackupPlan, Walk, scan
from mediastack.backup.verify import VerifyReport, verify_archive, write_record
from mediastack.backup.worker_pool import worker_count, worker_pool
from mediastack.config import LoadedConfig

Now = Callable[[], datetime]
Result = TypeVar("Result")


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class PruneResult:
    """What retention decided, and which archives were removed (none in a dry run)."""

    plan: RetentionPlan
    archives: tuple[ArchiveInfo, ...]
    removed: tuple[Path, ...] = ()
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "keep": {key: reasons for key, reasons in self.plan.keep.items()},
            "prune": list(self.plan.prune),
            "removed": [str(path) for path in self.removed],
        }


@dataclass(frozen=True)
class BackupResult:
    """A finished backup: the archive, what is in it, how long it took, whether it verified
    and what retention removed afterwards."""

    archive: Path
    size_bytes: int
    files: int
    databases: int
    source_bytes: int
    duration_seconds: float
    verification: VerifyReport | None
    pruned: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verified(self) -> bool:
        return self.verification is not None and self.verification.ok

    def summary(self) -> str:
        """Return one line for a notification: name, size, files, time, verification."""
        state = "verified" if self.verified else "not verified"
        pruned = f"; {len(self.pruned)} old archive(s) pruned" if self.pruned else ""
        return (
            f"{self.archive.name}: {format_bytes(self.size_bytes)} "
            f"({self.files} files, {self.databases} databases, "
            f"{format_bytes(self.source_bytes)} read) in {self.duration_seconds:.1f} s, "
            f"{state}{pruned}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "archive": str(self.archive),
            "size_bytes": self.size_bytes,
            "files": self.files,
            "databases": self.databases,
            "source_bytes": self.source_bytes,
            "duration_seconds": round(self.duration_seconds, 3),
            "verified": self.verified,
            "verification": self.verification.as_json() if self.verification else None,
            "pruned": [str(path) for path in self.pruned],
            "warnings": list(self.warnings),
        }


def format_bytes(size: float) -> str:
    """Return ``size`` bytes for people: ``532 B``, ``1.4 MB``, ``2.0 GB`` (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def plan_backup(loaded: LoadedConfig) -> BackupPlan:
    """Return what ``run_backup`` would archive now (for ``--dry-run``); writes nothing.
    Raise BackupError as ``scan`` does."""
    return scan(loaded)


def run_backup(
    loaded: LoadedConfig,
    *,
    now: Now = utc_now,
    progress: ProgressReporter | None = None,
    verify: bool = True,
    prune: bool = True,
) -> BackupResult:
    """Write one new archive of the app config folders and mediastack's settings, verify it
    (unless ``verify`` is False) and prune old archives by the retention policy (unless
    ``prune`` is False; only after a sound archive). Return what was done. Raise
    BackupBusyError when another backup holds the lock, BackupError when the backup fails or
    the new archive fails verification; no partial archive is left and nothing older is
    removed."""
    reporter = progress or SilentProgress()
    started = time.monotonic()
    folder = loaded.backups_folder
    workers = worker_count()
    # The workers are forked first: before the lock is taken (so they do not hold it too)
    # and before the progress bar starts its thread.
    with worker_pool(workers) as pool, backups_lock(folder):
        _remove_leftovers(folder)
        name = new_archive_name(loaded.config.name, now(), set(os.listdir(folder)))
        options = WriteOptions(
            loaded.config.name, name.created, loaded.config.backups.compression_level, workers
        )
        written = _phase(reporter, "backing up", 0, lambda advance: write_archive(
            Walk(loaded), folder / name.file_name, options, pool, advance
        ))
        report = _verify_new(written, reporter, now) if verify else None
        pruned = _prune(loaded, now(), dry_run=False).removed if prune else ()
    return _result(written, report, pruned, time.monotonic() - started)


def _result(
    written: WrittenArchive, report: VerifyReport | None, pruned: tuple[Path, ...], seconds: float
) -> BackupResult:
    return BackupResult(
        archive=written.path,
        size_bytes=written.size_bytes,
        files=written.files,
        databases=written.databases,
        source_bytes=written.source_bytes,
        duration_seconds=seconds,
        verification=report,
        pruned=pruned,
        warnings=written.warnings,
    )


def _phase(
    reporter: ProgressReporter,
    description: str,
    total: int,
    work: Callable[[Callable[[int], None]], Result],
) -> Result:
    reporter.start(description, total)
    try:
        return work(reporter.advance)
    finally:
        reporter.finish()


def _verify_new(written: WrittenArchive, reporter: ProgressReporter, now: Now) -> VerifyReport:
    archive = written.path
    report = _verify(archive, reporter, now, written.source_bytes)
    if not report.ok:
        raise BackupError(
            f"{archive.name} was written but failed verification: {report.problems[0]}",
            "check the backups disk for errors (dmesg, SMART); the archive is marked failed",
        )
    return report


def _verify(
    archive: Path, reporter: ProgressReporter, now: Now, expected_bytes: int = 0
) -> VerifyReport:
    report = _phase(
        reporter, f"verifying {archive.name}", expected_bytes,
        lambda advance: verify_archive(archive, advance),
    )
    write_record(report, now())
    return report


def verify_backup(
    loaded: LoadedConfig,
    archive: str | None = None,
    *,
    now: Now = utc_now,
    progress: ProgressReporter | None = None,
) -> VerifyReport:
    """Verify ARCHIVE (a path or a file name in the backups folder; None: the newest) and
    record the outcome beside it. Return the report (problems listed, not raised). Raise
    BackupError when there is no such archive, BackupBusyError when the lock is held."""
    folder = loaded.backups_folder
    with backups_lock(folder):
        found = require_archive(folder, archive)
        return _verify(found.path, progress or SilentProgress(), now)


def require_archive(folder: Path, archive: str | None) -> ArchiveInfo:
    """Return the archive ARCHIVE names (None: the newest); raise BackupError when none."""
    found = find_archive(folder, archive)
    if found is not None:
        return found
    if archive is None:
        raise BackupError(f"there is no backup in {folder} yet", "run `mediastack backup`")
    raise BackupError(
        f"no backup archive {archive!r} (as a path, or in {folder})",
        "see `mediastack backup list` for the archives there",
    )


def list_backups(loaded: LoadedConfig) -> list[ArchiveInfo]:
    """Return the archives in the backups folder, newest first."""
    return list_archives(loaded.backups_folder)


def prune_backups(
    loaded: LoadedConfig, *, now: Now = utc_now, dry_run: bool = False
) -> PruneResult:
    """Apply the retention policy: remove every archive (and its record) no rule keeps; the
    newest verified archive is always kept. With ``dry_run`` remove nothing. Raise
    BackupBusyError when the lock is held."""
    with backups_lock(loaded.backups_folder):
        return _prune(loaded, now(), dry_run=dry_run)


def _prune(loaded: LoadedConfig, now: datetime, *, dry_run: bool) -> PruneResult:
    archives = list_archives(loaded.backups_folder)
    plan = plan_retention(
        [Candidate(info.path.name, info.created, info.state) for info in archives],
        _policy(loaded),
        ZoneInfo(loaded.config.identity.timezone),
    )
    doomed = [info.path for info in archives if info.path.name in plan.prune]
    if dry_run:
        return PruneResult(plan, tuple(archives), (), dry_run=True)
    return PruneResult(plan, tuple(archives), tuple(_remove_all(doomed)))


def _policy(loaded: LoadedConfig) -> RetentionPolicy:
    backups = loaded.config.backups
    return RetentionPolicy(backups.keep_daily, backups.keep_weekly, backups.keep_monthly)


def _remove_all(paths: Sequence[Path]) -> list[Path]:
    removed = []
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        verify_record_path(path).unlink(missing_ok=True)
        removed.append(path)
    return removed


def _remove_leftovers(folder: Path) -> None:
    """Remove what interrupted backups left (only called with the lock held, so none of it
    belongs to a backup still running)."""
    for path in leftovers(folder):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
