"""The daemon's background jobs as one object the loop drives: port sync, updates, backups,
wire, and the listener (status pages, update webhook).

Threads (each job blocks for long, none may block the loop or healing, nor each other):

- port sync: its own ``SerialWorker`` (a run waits up to ``portsync.port_wait_seconds``; it
  must follow a gluetun restart promptly, never queued behind a backup of minutes);
- updates: their own thread draining the ``UpdateQueue`` (fed by the schedule and the webhook);
- backups: their own ``SerialWorker``;
- wire: its own ``SerialWorker`` (a run waits up to ``wiring.app_wait_seconds`` for the apps).

The loop calls ``start`` once, ``cascade_finished``/``gluetun_replaced``/``update_finished``/
``app_healthy`` when those happen,
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
from typing import Protocol

from mediastack.supervisor.runtime.backup_runner import BackupRunner
from mediastack.supervisor.runtime.listener import ListenerRunner
from mediastack.supervisor.runtime.portsync_runner import PortSyncRunner, SyncTrigger
from mediastack.supervisor.runtime.push_pings import PushThread
from mediastack.supervisor.runtime.stop_budget import JOBS_STOP_SECONDS, PUSH_STOP_SECONDS
from mediastack.supervisor.runtime.update_runner import UpdateRunner
from mediastack.supervisor.runtime.wire_runner import WireRunner, WireTrigger

logger = logging.getLogger("mediastack.supervisor")


class Stopping(Protocol):
    """A job runner, as its stop sees it."""

    def interrupt(self) -> None:
        """Signal the running job (its process group) to end; start no new one."""
        ...

    def stop(self, timeout: float) -> None:
        """Wait ``timeout`` seconds at most for the running job to end; then kill it."""
        ...


@dataclass
class SupervisorJobs:
    """The jobs configured (None: switched off)."""

    portsync: PortSyncRunner | None = None
    updates: UpdateRunner | None = None
    backups: BackupRunner | None = None
    wire: WireRunner | None = None
    listener: ListenerRunner | None = None
    push: PushThread | None = None  # push pings (status.push_urls_variable)

    def start(self) -> None:
        """Start the update thread, then the listener; queue port sync's start run; schedule
        wire's (after its delay)."""
        if self.updates is not None:
            self.updates.start()
        if self.listener is not None:
            self.listener.start()
        if self.push is not None:
            self.push.start()
        if self.portsync is not None:
            self.portsync.trigger(SyncTrigger.START)
        if self.wire is not None:
            self.wire.start()

    def cascade_finished(self) -> None:
        """A cascade ended: qBittorrent runs in gluetun's new namespace; sync its port; the
        dependents are new containers: wire them."""
        if self.portsync is not None:
            self.portsync.trigger(SyncTrigger.CASCADE_FINISHED)
        if self.wire is not None:
            self.wire.trigger(WireTrigger.CASCADE_FINISHED)

    def update_finished(self) -> None:
        """An update's hold on services ended (it recreated them): wire them."""
        if self.wire is not None:
            self.wire.trigger(WireTrigger.UPDATE_FINISHED)

    def app_healthy(self) -> None:
        """A linked app became healthy outside a cascade or an update (a restore, a
        recreate by hand): wire it."""
        if self.wire is not None:
            self.wire.trigger(WireTrigger.APP_HEALTHY)

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
            self.wire.next_wakeup() if self.wire else None,
        ]
        return min((moment for moment in moments if moment is not None), default=None)

    def tick(self, now: datetime) -> None:
        """Start what is due at ``now``; one job's failure does not keep the others back."""
        for job in (self.portsync, self.updates, self.backups, self.wire):
            if job is None:
                continue
            try:
                job.tick(now)
            except Exception:
                logger.exception("scheduling a job failed; continuing")

    def stop(self, budget_seconds: float = JOBS_STOP_SECONDS) -> None:
        """Signal every running job at once (SIGTERM to each one's process group: an update
        finishes the service it is on, a backup removes its partial archive, port sync's
        wait and wire end), then wait for them all within one ``budget_seconds``; kill what
        is left then (see ``stop_budget``). The listener goes first: no request comes in
        while the jobs stop."""
        jobs = (self.listener, self.portsync, self.updates, self.backups, self.wire)
        runners: list[Stopping] = [job for job in jobs if job is not None]
        if self.push is not None:
            self.push.stop(PUSH_STOP_SECONDS)  # its own entry in stop_budget
        for runner in runners:
            runner.interrupt()
        deadline = time.monotonic() + budget_seconds
        for runner in runners:
            runner.stop(max(0.0, deadline - time.monotonic()))
