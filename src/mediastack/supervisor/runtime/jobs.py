"""The daemon's background jobs as one object the loop drives: port sync, updates, backups.

Threads (each job blocks for long, none may block the loop or healing, nor each other):

- port sync: its own ``SerialWorker`` (a run waits up to ``portsync.port_wait_seconds``; it
  must follow a gluetun restart promptly, never queued behind a backup of minutes);
- updates: their own thread draining the ``UpdateQueue`` (fed by the schedule and the webhook);
- backups: their own ``SerialWorker``.

The loop calls ``start`` once, ``cascade_finished``/``gluetun_replaced`` when those happen,
``tick(now)`` when ``next_wakeup`` is reached, and ``stop`` on shutdown. Schedules are pure
time computations: an idle supervisor with jobs makes no engine call. Each run happens in a
short-lived child process (``job_process``): between runs the daemon holds none of the jobs'
libraries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from mediastack.supervisor.runtime.backup_runner import BackupRunner
from mediastack.supervisor.runtime.portsync_runner import PortSyncRunner, SyncTrigger
from mediastack.supervisor.runtime.update_runner import UpdateRunner

logger = logging.getLogger("mediastack.supervisor")

UPDATE_FINISH_SECONDS = 30.0
PORTSYNC_FINISH_SECONDS = 5.0
BACKUP_FINISH_SECONDS = 30.0


@dataclass
class SupervisorJobs:
    """The jobs configured (None: switched off)."""

    portsync: PortSyncRunner | None = None
    updates: UpdateRunner | None = None
    backups: BackupRunner | None = None

    def start(self) -> None:
        """Start the update thread and webhook; queue port sync's start run."""
        if self.updates is not None:
            self.updates.start()
        if self.portsync is not None:
            self.portsync.trigger(SyncTrigger.START)

    def cascade_finished(self) -> None:
        """A cascade ended: qBittorrent runs in gluetun's new namespace; sync its port."""
        if self.portsync is not None:
            self.portsync.trigger(SyncTrigger.CASCADE_FINISHED)

    def gluetun_replaced(self) -> None:
        """An update recreated gluetun (no cascade ran for it): sync the new port."""
        if self.portsync is not None:
            self.portsync.trigger(SyncTrigger.GLUETUN_RESTARTED)

    def next_wakeup(self) -> datetime | None:
        """Return the earliest time a job's schedule needs a ``tick`` (None: none)."""
        moments = [
            self.portsync.next_wakeup() if self.portsync else None,
            self.updates.next_wakeup() if self.updates else None,
            self.backups.next_wakeup() if self.backups else None,
        ]
        return min((moment for moment in moments if moment is not None), default=None)

    def tick(self, now: datetime) -> None:
        """Start what is due at ``now``; one job's failure does not keep the others back."""
        for job in (self.portsync, self.updates, self.backups):
            if job is None:
                continue
            try:
                job.tick(now)
            except Exception:
                logger.exception("scheduling a job failed; continuing")

    def stop(self) -> None:
        """Stop the webhook, then let each job end within its time: the update in progress,
        the port sync (its wait for a port ended at once), the backup (ended after its time:
        it leaves no archive that looks complete)."""
        if self.portsync is not None:
            self.portsync.interrupt()  # its wait ends now, not after the update's time
        if self.updates is not None:
            self.updates.stop(UPDATE_FINISH_SECONDS)
        if self.portsync is not None:
            self.portsync.stop(PORTSYNC_FINISH_SECONDS)
        if self.backups is not None:
            started = time.monotonic()
            self.backups.stop(BACKUP_FINISH_SECONDS)
            logger.debug("backup worker stopped after %.1f s", time.monotonic() - started)
