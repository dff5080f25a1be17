"""``wire`` in the daemon: the apps' links reconciled, each run in a short-lived process on
the job's own worker (model: ``portsync_runner``).

When: at start (``START_DELAY`` later: ``mediastack up`` wires the apps itself right after the
ops stack starts, and the two runs should not race), after every cascade (the dependents are
new containers), after an update's hold on services ends (it recreated them), when a linked
app becomes healthy again outside a cascade and an update (a restore put its folder back,
someone recreated it), and every ``wiring.interval_seconds`` after the last run.

Bounded: one run at a time, at most one queued behind it; triggers arriving meanwhile fold
into that one (a wire is idempotent). Each run ends with a ``JobFinished`` message so the loop
recomputes its wakeup. What is said about a run (``wire_notices``) depends on the previous
run's links, remembered here.

Each run's links are kept for the status pages by a ``WiringRecorder`` (``<state>.wiring.json``,
see ``job_records``), on this side, never by the web side.

The child process (``WireProcess``) keeps httpx and the links' models out of the daemon
(issue 3: the idle supervisor in 45 MB).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.folded_runs import FoldedRuns
from mediastack.supervisor.runtime.job_notices import job_crashed
from mediastack.supervisor.runtime.job_process import (
    JobCrashed,
    JobProcess,
    JobStopped,
    MessageHandler,
)
from mediastack.supervisor.runtime.job_protocol import ProtocolError
from mediastack.supervisor.runtime.job_records import WiringRecorder
from mediastack.supervisor.runtime.messages import Inbox, JobFinished
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.wire_notices import (
    LinkRecord,
    broken_to_log,
    wire_notification,
)
from mediastack.supervisor.runtime.workers import Worker

logger = logging.getLogger("mediastack.supervisor")

JOB_NAME = "wire"
START_DELAY = timedelta(seconds=120)
WIRED_SERVICES = frozenset({"sonarr", "radarr", "prowlarr", "bazarr", "qbittorrent"})
"""The apps whose return (healthy again) calls for a wire: those the links write to
(``mediastack.links.run.API_APPS`` and qBittorrent's log-in; a unit test compares). Not
cross-seed: the wire itself restarts it."""


class WireTrigger(StrEnum):
    """Why a wire runs (logged)."""

    START = "start"
    CASCADE_FINISHED = "cascade_finished"
    UPDATE_FINISHED = "update_finished"
    APP_HEALTHY = "app_healthy"
    TIMER = "timer"


@dataclass(frozen=True)
class WireRun:
    """What a wire process answered: each link's state and the run's summary line."""

    links: tuple[LinkRecord, ...]
    summary: str


class Wiring(Protocol):
    """One wire at a time."""

    def run(self, trigger: WireTrigger) -> WireRun | None:
        """Wire once; return the links (None: stopped with the daemon). Raise for a crash."""
        ...

    def interrupt(self) -> None:
        """End a run in progress soon (the daemon stops)."""
        ...

    def close(self) -> None:
        """Release what a run left behind, once no run will come."""
        ...


class WireRunner:
    """Runs wire runs on ``worker``; ``start``/``trigger``/``tick`` are called from the loop."""

    def __init__(
        self,
        job: Wiring,
        worker: Worker,
        notifier: Notifier,
        inbox: Inbox,
        instance: str,
        clock: Clock,
        interval: timedelta,
        start_delay: timedelta = START_DELAY,
        recorder: WiringRecorder | None = None,
    ) -> None:
        self._recorder = recorder
        self._job = job
        self._worker = worker
        self._notifier = notifier
        self._inbox = inbox
        self._instance = instance
        self._clock = clock
        self._interval = interval
        self._start_delay = start_delay
        self._previous: dict[str, LinkRecord] = {}
        self._runs = FoldedRuns(
            "wire", worker, self._run,
            schedule=lambda: (self._clock.now() + self._interval, WireTrigger.TIMER),
            finished=lambda: self._inbox.put(JobFinished(JOB_NAME)),
            timer=WireTrigger.START,
        )  # fmt: skip

    def start(self) -> None:
        """Schedule the start run, ``start_delay`` from now."""
        self._runs.due_at(self._clock.now() + self._start_delay, WireTrigger.START)

    def trigger(self, trigger: WireTrigger) -> None:
        """Queue a run for ``trigger``, or fold it into the run already queued."""
        self._runs.trigger(trigger)

    def next_wakeup(self) -> datetime | None:
        """Return when the next timed run is due; None while a run is queued or running."""
        return self._runs.next_wakeup()

    def tick(self, now: datetime) -> None:
        """Queue the timed run (the start run, then the safety net) when due at ``now``."""
        self._runs.tick(now)

    def interrupt(self) -> None:
        """End the running wire (the daemon is stopping)."""
        self._job.interrupt()

    def stop(self, timeout: float) -> None:
        """Drop a queued run, give the running one ``timeout`` seconds, then end it."""
        if not self._worker.stop(timeout):
            logger.warning("wire did not end within %.0f s: ended", timeout)
            self._job.interrupt()
        self._job.close()

    def _run(self, trigger: WireTrigger) -> None:
        try:
            run = self._job.run(trigger)
        except Exception as error:
            logger.exception("wire (%s) crashed; the supervisor goes on", trigger)
            self._notifier.put(job_crashed(self._instance, "wire", error))
        else:
            if run is not None:
                self._report(trigger, run)

    def _report(self, trigger: WireTrigger, run: WireRun) -> None:
        """Log the run (each broken link once, see ``wire_notices``), notify on change, and
        keep its links for the status pages."""
        logger.info("wire (%s): %s", trigger, run.summary)
        if self._recorder is not None:
            self._recorder.record(run.links, run.summary)
        for link in broken_to_log(self._previous, run.links):
            logger.warning("wire: %s %s is broken: %s", link.app, link.title, link.detail)
        notification = wire_notification(self._instance, self._previous, run.links)
        if notification is not None:
            self._notifier.put(notification)
        self._previous = {link.key: link for link in run.links}


def parse_wire_run(payload: Mapping[str, Any]) -> WireRun:
    """Given a wire process's result, return it; raise JobCrashed for a crash report and
    ProtocolError for anything unreadable."""
    if "crashed" in payload:
        raise JobCrashed(str(payload["crashed"]))
    try:
        links = tuple(
            LinkRecord(str(item["app"]), str(item["key"]), str(item["title"]),
                       str(item["status"]), str(item["detail"]))
            for item in payload["links"]
        )  # fmt: skip
        return WireRun(links, str(payload["summary"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"not a wire result: {error!r}") from None


class WireProcess:
    """``Wiring`` with each run in a child process. ``secrets`` (the daemon's .env and
    environment) reach the child on its stdin."""

    def __init__(
        self, process: JobProcess, handler: MessageHandler, secrets: Mapping[str, str]
    ) -> None:
        self._process = process
        self._handler = handler
        self._secrets = dict(secrets)

    def run(self, trigger: WireTrigger) -> WireRun | None:
        arguments = {"trigger": trigger.value, "secrets": self._secrets}
        try:
            return parse_wire_run(self._process.run(arguments, self._handler))
        except JobStopped:
            logger.info("wire (%s): stopped with the supervisor", trigger)
            return None

    def interrupt(self) -> None:
        self._process.terminate()

    def close(self) -> None:
        self._process.kill()
