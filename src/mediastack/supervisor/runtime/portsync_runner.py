"""Port sync in the daemon: the ``PortSyncJob`` on its own worker thread.

A run may block up to ``portsync.port_wait_seconds`` (gluetun has no port yet), so it never
runs on the loop, nor on the backup's worker (a backup of minutes must not delay the sync
that follows a gluetun restart). Bounded: at most one run queued behind the running one;
triggers arriving meanwhile fold into that one (a sync is idempotent). The safety-net timer
is the job's own ``next_due``, read after each run on the worker and handed to the loop,
which sleeps until it. Each run ends with a ``JobFinished`` message so the loop recomputes its
wakeup.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Protocol

from mediastack.portsync import JobResult, Trigger
from mediastack.supervisor.runtime.job_notices import job_crashed
from mediastack.supervisor.runtime.messages import Inbox, JobFinished
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.workers import Worker

logger = logging.getLogger("mediastack.supervisor")

JOB_NAME = "portsync"


class PortSyncing(Protocol):
    """What the daemon needs of ``mediastack.portsync.PortSyncJob``."""

    def run(self, trigger: Trigger) -> JobResult: ...

    def next_due(self) -> datetime | None: ...

    def close(self) -> None: ...


class PortSyncRunner:
    """Runs port sync runs on ``worker``; ``trigger``/``tick`` are called from the loop."""

    def __init__(
        self, job: PortSyncing, worker: Worker, notifier: Notifier, inbox: Inbox, instance: str
    ) -> None:
        self._instance = instance
        self._job = job
        self._worker = worker
        self._notifier = notifier
        self._inbox = inbox
        self._lock = threading.Lock()
        self._queued: Trigger | None = None
        self._running = False
        self._next_due: datetime | None = None

    def trigger(self, trigger: Trigger) -> None:
        """Queue a run for ``trigger``, or fold it into the run already queued."""
        with self._lock:
            if self._queued is not None:
                logger.info("port sync (%s): folded into the queued run", trigger)
                return
            self._queued = trigger
        logger.info("port sync (%s): queued", trigger)
        self._worker.submit(self._run)

    def next_wakeup(self) -> datetime | None:
        """Return when the safety-net sync is due; None while a run is queued or running."""
        with self._lock:
            busy = self._queued is not None or self._running
            return None if busy else self._next_due

    def tick(self, now: datetime) -> None:
        """Queue the safety-net sync when it is due at ``now``."""
        due = self.next_wakeup()
        if due is not None and due <= now:
            self.trigger(Trigger.TIMER)

    def stop(self, timeout: float) -> None:
        """Let the running sync end (its wait was interrupted by the stop event), drop a
        queued one, then close the job's sessions when the worker is done."""
        if self._worker.stop(timeout):
            self._job.close()
        else:
            logger.warning("port sync did not end within %.0f s; its sessions stay open", timeout)

    def _run(self) -> None:
        with self._lock:
            trigger, self._queued, self._running = self._queued or Trigger.TIMER, None, True
        try:
            result = self._job.run(trigger)  # documented never to raise: a bug if it does
        except Exception as error:
            logger.exception("port sync (%s) crashed; the supervisor goes on", trigger)
            self._notifier.put(job_crashed(self._instance, "port sync", error))
        else:
            if result.notification is not None:
                self._notifier.put(result.notification)
        finally:
            with self._lock:
                self._running = False
                self._next_due = self._job.next_due()
            self._inbox.put(JobFinished(JOB_NAME))
