"""The push notifications of the daemon's background jobs (backups, crashed jobs).

Port sync and updates build their own (``mediastack.portsync``, ``mediastack.updates``); the
ones here are for what the daemon itself reports about a job.
"""

from __future__ import annotations

from mediastack.notify import Notification

FAILURE_PRIORITY = 4
SUCCESS_PRIORITY = 2
SKIPPED_PRIORITY = 3


def job_crashed(instance: str, job: str, error: BaseException) -> Notification:
    """Return the notification for a job that raised (a bug): the daemon goes on."""
    return Notification(
        f"{instance}: {job} crashed",
        f"{job} raised {error!r}; the supervisor goes on (details in its log).",
        FAILURE_PRIORITY,
        ("x",),
    )


def backup_written(instance: str, summary: str) -> Notification:
    """Return the notification for a scheduled backup that was written."""
    return Notification(f"{instance}: backup written", summary, SUCCESS_PRIORITY, ("floppy_disk",))


def backup_failed(instance: str, message: str, fix: str | None) -> Notification:
    """Return the notification for a scheduled backup that failed (nothing older removed)."""
    body = f"{message}\nFix: {fix}" if fix else message
    return Notification(f"{instance}: backup failed", body, FAILURE_PRIORITY, ("warning",))


def backup_skipped(instance: str, message: str) -> Notification:
    """Return the notification for a scheduled backup skipped (another backup was running)."""
    return Notification(f"{instance}: backup skipped", message, SKIPPED_PRIORITY, ("hourglass",))
