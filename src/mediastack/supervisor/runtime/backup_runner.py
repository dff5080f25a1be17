"""Scheduled backups in the daemon: ``backups.schedule`` on the loop, the backup on its own
worker thread (it takes minutes; healing and port sync never wait for it).

Bounded: a backup still running when the next one is due makes that one skipped (logged), not
queued. Every run is notified: written (size, time, verified), failed (message and fix; the
backup itself removes nothing older and leaves no archive that looks complete), skipped
(another backup, e.g. one started from the host, holds the lock), or crashed (a bug).

On stop the running backup is given ``stop``'s timeout to finish; one still running then is
abandoned with the process: archives are written under a temporary name and renamed only when
complete, so it leaves no archive that looks valid, and the next backup removes the leftover.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from mediastack.backup import BackupBusyError, BackupError, BackupResult
from mediastack.notify import Notification
from mediastack.supervisor.runtime.job_notices import (
    backup_failed,
    backup_skipped,
    backup_written,
    job_crashed,
)
from mediastack.supervisor.runtime.messages import Inbox, JobFinished
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.timers import CronTimer
from mediastack.supervisor.runtime.workers import Worker

logger = logging.getLogger("mediastack.supervisor")

JOB_NAME = "backup"
BackupRun = Callable[[], BackupResult]
"""One backup (``run_backup`` bound to the config); raises BackupError/BackupBusyError."""


class BackupRunner:
    """Starts a backup on ``worker`` whenever ``timer`` is due (``tick`` from the loop)."""

    def __init__(
        self,
        backup: BackupRun,
        timer: CronTimer,
        worker: Worker,
        notifier: Notifier,
        inbox: Inbox,
        instance: str,
    ) -> None:
        self._backup = backup
        self._timer = timer
        self._worker = worker
        self._notifier = notifier
        self._inbox = inbox
        self._instance = instance
        self._running = threading.Event()

    def next_wakeup(self) -> datetime:
        """Return when the next scheduled backup is due."""
        return self._timer.next_at

    def tick(self, now: datetime) -> None:
        """Start the scheduled backup when it is due at ``now`` (skip it while one runs)."""
        if not self._timer.take_due(now):
            return
        if self._running.is_set():
            logger.warning("scheduled backup skipped: the previous one is still running")
            return
        logger.info("scheduled backup: starting (next at %s)", self._timer.next_at.isoformat())
        self._running.set()
        self._worker.submit(self._run)

    def stop(self, timeout: float) -> None:
        """Give a running backup ``timeout`` seconds, then abandon it (see the module)."""
        if not self._worker.stop(timeout):
            logger.warning(
                "the running backup did not finish within %.0f s: abandoned (its temporary "
                "file is removed by the next backup; no archive is left looking complete)",
                timeout,
            )

    def _run(self) -> None:
        try:
            self._notifier.put(self._outcome())
        finally:
            self._running.clear()
            self._inbox.put(JobFinished(JOB_NAME))

    def _outcome(self) -> Notification:
        """Run the backup; return its notification (logged here, one line)."""
        try:
            result = self._backup()
        except BackupBusyError as error:
            logger.warning("scheduled backup skipped: %s", error.message)
            return backup_skipped(self._instance, error.message)
        except BackupError as error:
            logger.error("scheduled backup failed: %s (fix: %s)", error.message, error.fix or "-")
            return backup_failed(self._instance, error.message, error.fix)
        except Exception as error:
            logger.exception("scheduled backup crashed; the supervisor goes on")
            return job_crashed(self._instance, "the scheduled backup", error)
        logger.info("scheduled backup written: %s", result.summary())
        return backup_written(self._instance, result.summary())
