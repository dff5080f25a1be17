"""Consistent config backups: SQLite through its online backup API, a zstd-compressed tar with
a checksummed manifest, written atomically, verified, rotated and restorable.

What callers use (the CLI, and the supervisor for scheduled backups):

- ``run_backup(loaded, now=..., progress=..., verify=True, prune=True) -> BackupResult``:
  one new archive; raises ``BackupError`` (``.message``, ``.fix``) when it fails, and
  ``BackupBusyError`` when another backup runs. ``BackupResult.summary()`` is one line for a
  notification (size, files, time, verified).
- ``next_backup_time(schedule, after, timezone) -> datetime``: pure, for the scheduler.
- ``plan_backup``, ``verify_backup``, ``list_backups``, ``prune_backups``, ``restore_backup``.

Layout: pure decisions (``selection``, ``retention``, ``naming``, ``manifest``, ``schedule``,
``tar_stream``, ``safety``, ``restore.plan_restore``) apart from what touches files (``scan``,
``archive_writer`` with its worker processes: ``worker_pool``, ``archive_pieces``;
``archive_reader``, ``verify``, ``catalog``) and what runs it all (``run``, ``restore``).
An archive is a plain ``tar --zstd`` file (many zstd frames, one stream): ``apps/<app>/...``,
``mediastack/mediastack.yaml``, ``mediastack/.env`` in any order and, last, the manifest
``mediastack-backup.json``.
"""

# Loaded on first use (as ``mediastack.updates`` does): the supervisor's status pages list the
# archives (``catalog``) without loading the archive writer, zstandard or rich.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mediastack.backup.catalog import ArchiveInfo
    from mediastack.backup.errors import BackupBusyError, BackupError
    from mediastack.backup.progress import ProgressReporter, RichProgress, SilentProgress
    from mediastack.backup.restore import RestoreResult, ServiceControl, restore_backup
    from mediastack.backup.run import (
        BackupResult,
        PruneResult,
        list_backups,
        plan_backup,
        prune_backups,
        run_backup,
        verify_backup,
    )
    from mediastack.backup.scan import BackupPlan
    from mediastack.backup.schedule import next_backup_time
    from mediastack.backup.verify import VerifyReport
    from mediastack.backup.verify_record import VerifyState

_MODULE_OF = {
    "ArchiveInfo": "mediastack.backup.catalog",
    "BackupBusyError": "mediastack.backup.errors",
    "BackupError": "mediastack.backup.errors",
    "BackupPlan": "mediastack.backup.scan",
    "BackupResult": "mediastack.backup.run",
    "ProgressReporter": "mediastack.backup.progress",
    "PruneResult": "mediastack.backup.run",
    "RestoreResult": "mediastack.backup.restore",
    "RichProgress": "mediastack.backup.progress",
    "ServiceControl": "mediastack.backup.restore",
    "SilentProgress": "mediastack.backup.progress",
    "VerifyReport": "mediastack.backup.verify",
    "VerifyState": "mediastack.backup.verify_record",
    "list_backups": "mediastack.backup.run",
    "next_backup_time": "mediastack.backup.schedule",
    "plan_backup": "mediastack.backup.run",
    "prune_backups": "mediastack.backup.run",
    "restore_backup": "mediastack.backup.restore",
    "run_backup": "mediastack.backup.run",
    "verify_backup": "mediastack.backup.run",
}


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` when it is first asked for."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ArchiveInfo",
    "BackupBusyError",
    "BackupError",
    "BackupPlan",
    "BackupResult",
    "ProgressReporter",
    "PruneResult",
    "RestoreResult",
    "RichProgress",
    "ServiceControl",
    "SilentProgress",
    "VerifyReport",
    "VerifyState",
    "list_backups",
    "next_backup_time",
    "plan_backup",
    "prune_backups",
    "restore_backup",
    "run_backup",
    "verify_backup",
]
