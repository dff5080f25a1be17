"""Port sync in the daemon: each run in a short-lived process, on the daemon's own worker.

A run may block up to ``portsync.port_wait_seconds`` (gluetun has no port yet), so it never
runs on the loop, nor on the backup's worker (a backup of minutes must not delay the sync
that follows a gluetun restart). Bounded: at most one run queued behind the running one;
triggers arriving meanwhile fold into that one (a sync is idempotent). The safety-net timer
is the job's own ``next_due``, read after each run on the worker and handed to the loop,
which sleeps until it. Each run ends with a ``JobFinished`` message so the loop recomputes its
wakeup.

Each run happens in a child process (``PortSyncProcess``): qbittorrent-api, requests and httpx
never enter the daemon (issue 3: the idle supervisor in 45 MB; port sync runs at start and
every ``portsync.interval_seconds``, so importing it even lazily would keep them for good).
The cost is the child's start, measured in bench/README.md. What the ``PortSyncMonitor``
remembers between runs (the failing streak, the last attempt) stays here and goes with each
run, so notifications and retries are decided as by one long-lived job. Each counted
outcome the child answers is kept for the status pages by a ``PortSyncRecorder``
(``<state>.portsync.json``, see ``job_records``), here on the daemon's side.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from mediastack.notify.message import Notification
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.folded_runs import FoldedRuns
from mediastack.supervisor.runtime.job_notices import job_crashed
from mediastack.supervisor.runtime.job_process import (
    JobCrashed,
    JobProcess,
    JobStopped,
    MessageHandler,
)
from mediastack.supervisor.runtime.job_protocol import ProtocolError, decode_notification
from mediastack.supervisor.runtime.job_records import PortSyncRecorder
from mediastack.supervisor.runtime.messages import Inbox, JobFinished
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.workers import Worker

logger = logging.getLogger("mediastack.supervisor")

JOB_NAME = "portsync"


class SyncTrigger(StrEnum):
    """Why a sync runs: the values of ``mediastack.portsync.Trigger`` (which the daemon does
    not import: it would load the port sync clients)."""

    START = "start"
    GLUETUN_RESTARTED = "gluetun_restarted"
    CASCADE_FINISHED = "cascade_finished"
    TIMER = "timer"


class PortSyncing(Protocol):
    """One sync at a time, and when the next is due."""

    def run(self, trigger: SyncTrigger) -> Notification | None:
        """Sync once; return the notification to send (None: nothing to say)."""
        ...

    def next_due(self) -> datetime | None:
        """Return when the safety-net sync is due (None: no timer yet)."""
        ...

    def interrupt(self) -> None:
        """End a run in progress soon (its wait for a forwarded port): the daemon stops."""
        ...

    def close(self) -> None:
        """Release what a run left behind, once no run will come."""
        ...


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
        self._runs = FoldedRuns(
            "port sync", worker, self._run,
            schedule=lambda: (self._job.next_due(), SyncTrigger.TIMER),
            finished=lambda: self._inbox.put(JobFinished(JOB_NAME)),
            timer=SyncTrigger.TIMER,
        )  # fmt: skip

    def trigger(self, trigger: SyncTrigger) -> None:
        """Queue a run for ``trigger``, or fold it into the run already queued."""
        self._runs.trigger(trigger)

    def next_wakeup(self) -> datetime | None:
        """Return when the safety-net sync is due; None while a run is queued or running."""
        return self._runs.next_wakeup()

    def tick(self, now: datetime) -> None:
        """Queue the safety-net sync when it is due at ``now``."""
        self._runs.tick(now)

    def interrupt(self) -> None:
        """End the running sync's wait for a forwarded port (the daemon is stopping)."""
        self._job.interrupt()

    def stop(self, timeout: float) -> None:
        """End the running sync's wait, drop a queued one, give the running one ``timeout``
        seconds, then release what is left."""
        self._job.interrupt()
        if not self._worker.stop(timeout):
            logger.warning("port sync did not end within %.0f s: ended", timeout)
        self._job.close()

    def _run(self, trigger: SyncTrigger) -> None:
        try:
            notification = self._job.run(trigger)
        except Exception as error:
            logger.exception("port sync (%s) crashed; the supervisor goes on", trigger)
            self._notifier.put(job_crashed(self._instance, "port sync", error))
        else:
            if notification is not None:
                self._notifier.put(notification)


@dataclass(frozen=True)
class SyncRun:
    """What a port sync process answered: the notification, the monitor's memory, when the
    next sync is due, and the sync's outcome (``SyncOutcome.as_json``; None from a child that
    does not send it)."""

    notification: Notification | None
    memory: Mapping[str, Any]
    next_due: datetime | None
    outcome: Mapping[str, Any] | None = None


def parse_sync_run(payload: Mapping[str, Any]) -> SyncRun:
    """Given a port sync process's result, return it; raise JobCrashed for a crash report
    and ProtocolError for anything unreadable."""
    if "crashed" in payload:
        raise JobCrashed(str(payload["crashed"]))
    try:
        notification = payload["notification"]
        due = payload["next_due"]
        outcome = payload.get("outcome")
        return SyncRun(
            None if notification is None else decode_notification(notification),
            dict(payload["monitor"]),
            None if due is None else datetime.fromisoformat(due),
            None if outcome is None else dict(outcome),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"not a port sync result: {error!r}") from None


class PortSyncProcess:
    """``PortSyncing`` with each run in a child process (see the module docstring).
    ``secrets`` holds the two variables port sync reads (gluetun's key, qBittorrent's
    password); they reach the child on its stdin. ``recorder`` keeps each outcome for the
    status pages (None: kept nowhere)."""

    def __init__(
        self,
        process: JobProcess,
        handler: MessageHandler,
        secrets: Mapping[str, str],
        clock: Clock,
        interval: timedelta,
        recorder: PortSyncRecorder | None = None,
    ) -> None:
        self._recorder = recorder
        self._process = process
        self._handler = handler
        self._secrets = dict(secrets)
        self._clock = clock
        self._interval = interval
        self._memory: Mapping[str, Any] | None = None
        self._next_due: datetime | None = None

    def run(self, trigger: SyncTrigger) -> Notification | None:
        arguments = {"trigger": trigger.value, "monitor": self._memory, "secrets": self._secrets}
        try:
            answered = parse_sync_run(self._process.run(arguments, self._handler))
        except JobStopped:
            logger.info("port sync (%s): stopped with the supervisor", trigger)
            return None
        except (JobCrashed, ProtocolError):
            # Without the child's memory the safety net still runs, one interval from now.
            self._next_due = self._clock.now() + self._interval
            raise
        self._memory, self._next_due = answered.memory, answered.next_due
        if self._recorder is not None and answered.outcome is not None:
            self._recorder.record(answered.outcome)
        return answered.notification

    def next_due(self) -> datetime | None:
        return self._next_due

    def interrupt(self) -> None:
        self._process.terminate()

    def close(self) -> None:
        self._process.kill()
