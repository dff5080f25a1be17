"""Scheduled backups in the daemon: ``backups.schedule`` on the loop, the backup on its own
worker thread (it takes minutes; healing and port sync never wait for it).

Bounded: a backup still running when the next one is due makes that one skipped (logged), not
queued. Every run is notified: written (size, time, verified), failed (message and fix; the
backup itself removes nothing older and leaves no archive that looks complete), skipped
(another backup, e.g. one started from the host, holds the lock), or crashed (a bug).

On stop the running backup's process group gets SIGTERM at once: the backup stops, removes its
partial archive (archives are written under a temporary name and renamed only when complete)
and exits; one still running after ``stop``'s timeout is killed (SIGKILL), and the next
backup removes what it left.

Each backup runs in a child process (``BackupProcess``): zstandard, tar and the backup code
never enter the daemon (issue 3: the idle supervisor in 45 MB).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mediastack.notify.message import Notification
from mediastack.supervisor.runtime.job_notices import (
    backup_failed,
    backup_skipped,
    backup_written,
    job_crashed,
)
from mediastack.supervisor.runtime.job_process import (
    JobCrashed,
    JobProcess,
    JobStopped,
    MessageHandler,
)
from mediastack.supervisor.runtime.job_protocol import ProtocolError
from mediastack.supervisor.runtime.messages import Inbox, JobFinished
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.timers import CronTimer
from mediastack.supervisor.runtime.workers import Worker

logger = logging.getLogger("mediastack.supervisor")

JOB_NAME = "backup"


class BackupStatus(StrEnum):
    """How a scheduled backup ended (a crash is an exception instead)."""

    WRITTEN = "written"
    SKIPPED = "skipped"  # another backup holds the lock (``BackupBusyError``)
    FAILED = "failed"  # ``BackupError``: nothing older removed


@dataclass(frozen=True)
class BackupOutcome:
    """How one backup ended: its one-line summary (written), or the error's message and
    fix (skipped, failed)."""

    status: BackupStatus
    message: str
    fix: str | None = None


BackupRun = Callable[[], BackupOutcome]
"""One backup bound to the config; raises only for a bug (a crash)."""


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
        abandon: Callable[[], None] | None = None,
        kill: Callable[[], None] | None = None,
    ) -> None:
        """``abandon`` stops a running backup when the daemon stops (SIGTERM); ``kill`` ends
        one still running when ``stop``'s time is up."""
        self._abandon = abandon
        self._kill = kill
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

    def interrupt(self) -> None:
        """Start no backup from now on; stop the running one (``abandon``)."""
        self._worker.stop(0)  # drops a queued run; returns at once
        if self._abandon is not None:
            self._abandon()

    def stop(self, timeout: float) -> None:
        """``interrupt``, then give the running backup ``timeout`` seconds to clean up and
        end; kill it when it has not (see the module)."""
        self.interrupt()
        if self._worker.stop(timeout):
            return
        logger.warning(
            "the running backup did not end within %.0f s: killed (its temporary file is "
            "removed by the next backup; no archive is left looking complete)",
            timeout,
        )
        if self._kill is not None:
            self._kill()

    def _run(self) -> None:
        try:
            notification = self._outcome()
            if notification is not None:
                self._notifier.put(notification)
        finally:
            self._running.clear()
            self._inbox.put(JobFinished(JOB_NAME))

    def _outcome(self) -> Notification | None:
        """Run the backup; return its notification (logged here, one line)."""
        try:
            outcome = self._backup()
        except JobStopped:
            logger.info("scheduled backup: stopped with the supervisor")
            return None
        except Exception as error:
            logger.exception("scheduled backup crashed; the supervisor goes on")
            return job_crashed(self._instance, "the scheduled backup", error)
        match outcome.status:
            case BackupStatus.SKIPPED:
                logger.warning("scheduled backup skipped: %s", outcome.message)
                return backup_skipped(self._instance, outcome.message)
            case BackupStatus.FAILED:
                fix = outcome.fix or "-"
                logger.error("scheduled backup failed: %s (fix: %s)", outcome.message, fix)
                return backup_failed(self._instance, outcome.message, outcome.fix)
        logger.info("scheduled backup written: %s", outcome.message)
        return backup_written(self._instance, outcome.message)


def parse_backup_result(payload: Mapping[str, Any]) -> BackupOutcome:
    """Given a backup process's result, return the outcome; raise JobCrashed for a crash,
    ProtocolError for anything unreadable."""
    if "crashed" in payload:
        raise JobCrashed(str(payload["crashed"]))
    try:
        fix = payload.get("fix")
        return BackupOutcome(
            BackupStatus(payload["status"]),
            str(payload["message"]),
            None if fix is None else str(fix),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"not a backup result: {error!r}") from None


class BackupProcess:
    """A ``BackupRun`` that writes each backup in a child process (see the module)."""

    def __init__(self, process: JobProcess, handler: MessageHandler) -> None:
        self._process = process
        self._handler = handler

    def __call__(self) -> BackupOutcome:
        return parse_backup_result(self._process.run({}, self._handler))

    def abandon(self) -> None:
        """Stop the running backup's process group (SIGTERM): it removes its partial archive
        and exits."""
        self._process.terminate()

    def kill(self) -> None:
        """End the running backup's process group at once (SIGKILL)."""
        self._process.kill()
