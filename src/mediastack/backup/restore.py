"""Restore app folders from an archive, with their services stopped and started around it.

Control flow: the archive is read once; the selected apps' members are written into a staging
folder (``<config>/.mediastack-restore/<stamp>/new``) while every member is hashed -> a corrupt,
partial or crafted archive (``safety``: an app entry that is no app folder of this homelab, a
link in place of an app folder or leading out of it, a hard link, a device), or a staged
database failing ``integrity_check``, stops here, the staging is removed and nothing of the
user's is touched -> the running services that own those folders are stopped -> each
current folder is moved aside (``.../replaced``) and the staged one moved in -> the services
are started and waited for until healthy -> only then are the replaced folders removed. When
they do not come back, the replaced folders stay where the error message says.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mediastack.backup.archive_reader import HashingReader, read_archive
from mediastack.backup.databases import integrity_problems
from mediastack.backup.errors import BackupError
from mediastack.backup.lock import backups_lock
from mediastack.backup.manifest import APPS_PREFIX, Manifest
from mediastack.backup.naming import STAMP_FORMAT
from mediastack.backup.progress import ProgressReporter, SilentProgress
from mediastack.backup.run import Now, require_archive, utc_now
from mediastack.backup.safety import unknown_app_problems
from mediastack.backup.selection import RESTORE_WORK_FOLDER, app_folders
from mediastack.backup.verify import verify_archive
from mediastack.catalogue import CATALOGUE
from mediastack.config import LoadedConfig
from mediastack.stack.lease import LeaseHolder, lease_folder

CHUNK_SIZE = 1024 * 1024
SHOWN_PROBLEMS = 10  # all of a crafted manifest's bad entries, yet a bounded message


class ServiceControl(Protocol):
    """Stops and starts the services that own app folders (the stack operations in real use,
    a fake in tests)."""

    def services_owning(self, apps: Sequence[str]) -> list[str]:
        """Return which of these app folders belong to a service of the rendered stacks."""
        ...

    def running(self, services: Sequence[str]) -> list[str]:
        """Return which of ``services`` have a running container."""
        ...

    def stop(self, services: Sequence[str]) -> None:
        """Stop and remove the containers of ``services``; raise BackupError on failure."""
        ...

    def start(self, services: Sequence[str]) -> None:
        """Start ``services`` and wait until they are healthy; raise BackupError when they
        do not come up healthy."""
        ...


@dataclass(frozen=True)
class RestorePlan:
    """What a restore does: which app folders, which services it stops and starts again."""

    apps: tuple[str, ...]
    restart: tuple[str, ...]
    idle: tuple[str, ...] = ()  # services owning a restored folder that are not running


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did (or, with ``dry_run``, would do)."""

    archive: Path
    plan: RestorePlan
    files: int
    dry_run: bool = False
    kept_aside: tuple[Path, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {
            "archive": str(self.archive),
            "dry_run": self.dry_run,
            "apps": list(self.plan.apps),
            "restarted": list(self.plan.restart),
            "not_running": list(self.plan.idle),
            "files": self.files,
            "kept_aside": [str(path) for path in self.kept_aside],
        }


def choose_apps(archived: Sequence[str], only: Sequence[str]) -> tuple[str, ...]:
    """Given the apps in the archive and ``--only`` (empty: all), return the apps to restore;
    raise BackupError naming an app the archive does not hold."""
    missing = [app for app in only if app not in archived]
    if missing:
        raise BackupError(
            f"the archive holds no folder for {', '.join(missing)}",
            f"use --only with one of: {', '.join(archived) or '(none)'}",
        )
    return tuple(app for app in archived if not only or app in only)


def plan_restore(apps: Sequence[str], owners: Sequence[str], running: Sequence[str]) -> RestorePlan:
    """Given the apps to restore, the services owning their folders and which of those run,
    return the plan (pure): running owners are stopped and started again."""
    return RestorePlan(
        apps=tuple(apps),
        restart=tuple(service for service in owners if service in running),
        idle=tuple(service for service in owners if service not in running),
    )


def restore_backup(
    loaded: LoadedConfig,
    archive: str,
    *,
    control: ServiceControl,
    only: Sequence[str] = (),
    dry_run: bool = False,
    now: Now = utc_now,
    progress: ProgressReporter | None = None,
) -> RestoreResult:
    """Restore the app folders of ARCHIVE (all, or ``only`` these apps), stopping and
    starting their running services. With ``dry_run`` verify the archive and return the plan,
    changing nothing. Raise BackupError when the archive is missing, corrupt, partial or
    crafted (then nothing was changed), or when the services do not come back (then the
    replaced folders are kept and named in the message)."""
    reporter = progress or SilentProgress()
    with backups_lock(loaded.backups_folder):
        found = require_archive(loaded.backups_folder, archive)
        known = known_apps(loaded.config_folder)
        if dry_run:
            return _dry_run(found.path, only, known, control, reporter)
        work = loaded.config_folder / RESTORE_WORK_FOLDER / now().strftime(STAMP_FORMAT)
        try:
            manifest, apps = _stage(found.path, work / "new", only, known, reporter)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            _remove_if_empty(work.parent)
            raise
        owners = control.services_owning(apps)
        plan = plan_restore(apps, owners, control.running(owners))
        with LeaseHolder(lease_folder(loaded.root)).hold(owners, "mediastack restore"):
            kept = _replace(loaded.config_folder, work, plan, control)
    files = sum(1 for entry in manifest.entries if entry.app in apps)
    return RestoreResult(found.path, plan, files, kept_aside=tuple(kept))


def known_apps(config_folder: Path) -> set[str]:
    """Return the app folder names a restore may write: the catalogue's services and the
    folders (not links) already in ``config_folder`` (a backup archives every one)."""
    try:
        with os.scandir(config_folder) as listing:
            folders = [entry.name for entry in listing if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        folders = []
    return set(CATALOGUE) | set(app_folders(folders))


def _dry_run(
    archive: Path,
    only: Sequence[str],
    known: set[str],
    control: ServiceControl,
    reporter: ProgressReporter,
) -> RestoreResult:
    reporter.start(f"checking {archive.name}", 0)
    try:
        report = verify_archive(archive, reporter.advance)
    finally:
        reporter.finish()
    if not report.ok or report.manifest is None:
        raise refused(archive, report.problems)
    apps = _known_only(archive, choose_apps(report.manifest.apps, only), known)
    owners = control.services_owning(apps)
    plan = plan_restore(apps, owners, control.running(owners))
    files = sum(1 for entry in report.manifest.entries if entry.app in apps)
    return RestoreResult(archive, plan, files, dry_run=True)


def refused(archive: Path, problems: Sequence[str], fix: str = "") -> BackupError:
    """Return the error for an archive that must not be restored."""
    more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
    shown = "; ".join(problems[:SHOWN_PROBLEMS]) + more
    return BackupError(
        f"refusing to restore {archive.name}: {shown}",
        fix or "restore an older archive (`mediastack backup list`); nothing was changed",
    )


def _known_only(archive: Path, apps: tuple[str, ...], known: set[str]) -> tuple[str, ...]:
    """Return ``apps``; raise the refusal when one of them is no app of this homelab."""
    problems = unknown_app_problems(apps, known)
    if problems:
        raise refused(
            archive,
            problems,
            "nothing was changed; to restore a folder that is no service of the catalogue, "
            "create it (empty) in the config folder first, or leave it out with --only",
        )
    return apps


def _stage(
    archive: Path,
    staging: Path,
    only: Sequence[str],
    known: set[str],
    reporter: ProgressReporter,
) -> tuple[Manifest, tuple[str, ...]]:
    """Write the selected apps' members under ``staging``; return the manifest and the apps.
    Raise BackupError (refused) when the archive or a staged database is not sound."""
    staging.mkdir(parents=True, mode=0o700)
    extractor = Extractor(staging, set(only))
    reporter.start(f"reading {archive.name}", 0)
    try:
        reading = read_archive(archive, extractor, reporter.advance)
    except OSError as error:
        raise BackupError(f"cannot restore from {archive}: {error.strerror or error}") from None
    finally:
        reporter.finish()
    if not reading.intact or reading.manifest is None:
        raise refused(archive, reading.problems)
    apps = _known_only(archive, choose_apps(reading.manifest.apps, only), known)
    problems = [
        f"{entry.path}: {message}"
        for entry in reading.manifest.databases
        if entry.app in apps
        for message in integrity_problems(staging / entry.path.removeprefix(APPS_PREFIX))
    ]
    if problems:
        raise refused(archive, problems)
    extractor.finish()
    return reading.manifest, apps


class Extractor:
    """A member handler that writes the members of the selected apps (all when none are
    selected) under a root folder, with their modes, owners and times; never through a link
    it wrote itself."""

    def __init__(self, root: Path, only: set[str]) -> None:
        self._root = root
        self._only = only
        self._links: set[str] = set()
        self._folders: list[tuple[Path, tarfile.TarInfo]] = []

    def member(self, info: tarfile.TarInfo, data: HashingReader | None) -> None:
        relative = info.name.removeprefix(APPS_PREFIX)
        if relative == info.name or not self._selected(relative):
            return
        if self._under_link(relative):
            raise BackupError(f"refusing to restore {info.name}: it lies under a symlink")
        target = self._root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if info.isdir():
            target.mkdir(exist_ok=True)
            self._folders.append((target, info))
        elif info.issym():
            os.symlink(info.linkname, target)
            self._links.add(relative)
            _set_owner(target, info)
        elif data is not None:
            _write_file(target, data)
            _set_attributes(target, info)

    def _selected(self, relative: str) -> bool:
        return not self._only or relative.split("/", 1)[0] in self._only

    def _under_link(self, relative: str) -> bool:
        parts = relative.split("/")
        return any("/".join(parts[:end]) in self._links for end in range(1, len(parts)))

    def finish(self) -> None:
        """Give the folders their modes, owners and times (last: adding files changes them)."""
        for folder, info in reversed(self._folders):
            _set_attributes(folder, info)


def _write_file(target: Path, data: HashingReader) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(target, flags, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := data.read(CHUNK_SIZE):
            out.write(chunk)


def _set_attributes(path: Path, info: tarfile.TarInfo) -> None:
    _set_owner(path, info)
    os.chmod(path, info.mode)
    os.utime(path, (info.mtime, info.mtime))


def _set_owner(path: Path, info: tarfile.TarInfo) -> None:
    try:
        os.lchown(path, info.uid, info.gid)
    except PermissionError:  # not root: the files stay the restoring user's
        return


def _replace(
    config_folder: Path, work: Path, plan: RestorePlan, control: ServiceControl
) -> list[Path]:
    """Stop, swap the folders, start; return the replaced folders still kept aside."""
    replaced = work / "replaced"
    replaced.mkdir(mode=0o700)
    control.stop(plan.restart)
    try:
        for app in plan.apps:
            _swap(config_folder / app, work / "new" / app, replaced / app)
    except OSError as error:
        raise BackupError(
            f"moving the restored folders into place failed: {error}; {', '.join(plan.restart)}"
            f" stay stopped; the folders being replaced are in {replaced}",
            "fix the cause, move the folders back, then `mediastack up`",
        ) from None
    try:
        control.start(plan.restart)
    except BackupError as error:
        raise BackupError(
            f"{error.message}; the folders replaced by the restore are kept in {replaced}",
            "check `mediastack logs SERVICE`; to go back, stop the service and move its "
            f"folder back from {replaced}",
        ) from None
    return _tidy(work, replaced, plan)


def _swap(current: Path, staged: Path, aside: Path) -> None:
    if os.path.lexists(current):
        shutil.move(current, aside)
    shutil.move(staged, current)


def _tidy(work: Path, replaced: Path, plan: RestorePlan) -> list[Path]:
    """Remove the replaced folders whose service came back healthy; keep the others (no
    health check vouched for what replaced them) and return them."""
    for app in plan.restart:
        shutil.rmtree(replaced / app, ignore_errors=True)
    kept = sorted(replaced.iterdir())
    if kept:
        shutil.rmtree(work / "new", ignore_errors=True)
        return kept
    shutil.rmtree(work, ignore_errors=True)
    _remove_if_empty(work.parent)
    return []


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        return
