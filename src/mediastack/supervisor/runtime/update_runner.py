"""Image updates in the daemon: the daily schedule, the WUD webhook's queue, one update worker.

- The schedule (``updates.schedule``, in ``identity.timezone``) is a ``CronTimer`` the loop
  ticks: when due it puts ``UpdateRequest(Source.SCHEDULE)`` into the ``UpdateQueue``; pure
  time, no engine call. The planner applies only ``auto``-policy services and reports the
  ``notify`` ones.
- The webhook (the supervisor's listener, ``runtime.listener``) puts its requests into the
  same queue.
- One thread of its own takes requests from the queue and runs ``Updater.handle`` for each:
  separate from port sync and backups because an update waits for health checks for minutes,
  and from the compose worker because the update's recreation is held (``DaemonHandler``), not
  serialized with the cascade. The queue is bounded and merging, so requests cannot pile up.
- An update that fails (engine, compose, unreadable rendered file) or crashes is logged and
  notified; the thread goes on. On stop (the listener has stopped first) the update running is
  given the stop timeout to finish (its own rollback included), then ended.
- Each request runs in a child process (``UpdateProcess``): the registry client (httpx) and
  the docker SDK never enter the daemon (issue 3: the idle supervisor in 45 MB). Its holds
  and notifications come back through the pipes (``job_process``) into the same inbox and
  queue as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mediastack.adapters.errors import AdapterError
from mediastack.notify.message import Notification
from mediastack.stack.rendered import RenderedFileError
from mediastack.supervisor.runtime.job_notices import FAILURE_PRIORITY, job_crashed
from mediastack.supervisor.runtime.job_process import (
    JobCrashed,
    JobProcess,
    JobStopped,
    MessageHandler,
)
from mediastack.supervisor.runtime.job_protocol import ProtocolError
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.timers import CronTimer
from mediastack.updates.model import Source
from mediastack.updates.queue import UpdateQueue, UpdateRequest

logger = logging.getLogger("mediastack.supervisor")


@dataclass(frozen=True)
class UpdateSummary:
    """What one request did: images checked, registry requests made, updates applied."""

    checked: int
    registry_requests: int
    applied: int
    pending: tuple[str, ...] = ()  # updates found for notify-policy services: the user's call
    results: tuple[tuple[str, str], ...] = ()  # (service, outcome) of each update applied


class UpdateHandling(Protocol):
    """Handles one request as ``mediastack.updates.Updater.handle`` does; raises AdapterError
    or RenderedFileError when it fails."""

    def handle(self, request: UpdateRequest) -> UpdateSummary: ...


class UpdatesRecording(Protocol):
    """Keeps the status pages' record of update runs (``job_records.UpdatesRecorder``)."""

    def record(self, source: str, summary: UpdateSummary) -> None: ...


UpdaterFactory = Callable[[], UpdateHandling]
"""Builds an Updater for one request (so each run reads the rendered stacks afresh)."""


class UpdateRunner:
    """The update worker thread, its schedule and its webhook (see the module docstring)."""

    def __init__(
        self,
        queue: UpdateQueue,
        updater: UpdaterFactory,
        notifier: Notifier,
        instance: str,
        *,
        timer: CronTimer | None = None,
        abandon: Callable[[], None] | None = None,
        kill: Callable[[], None] | None = None,
        recorder: UpdatesRecording | None = None,
    ) -> None:
        """``abandon`` asks the update running to finish its service and stop (SIGTERM to its
        process group) when the daemon stops; ``kill`` ends it when ``stop``'s time is up."""
        self.queue = queue
        self._updater = updater
        self._notifier = notifier
        self._instance = instance
        self._timer = timer
        self._abandon = abandon
        self._kill = kill
        self._recorder = recorder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the update thread."""
        self._thread = threading.Thread(target=self._work, name="updates", daemon=True)
        self._thread.start()

    def next_wakeup(self) -> datetime | None:
        """Return when the scheduled update is due (None: no schedule)."""
        return None if self._timer is None else self._timer.next_at

    def tick(self, now: datetime) -> None:
        """Queue the scheduled update when it is due at ``now``."""
        if self._timer is None or not self._timer.take_due(now):
            return
        queued = self.queue.put(UpdateRequest(Source.SCHEDULE))
        state = "queued" if queued else "refused (the update queue is full)"
        logger.info("scheduled update %s; next at %s", state, self._timer.next_at.isoformat())

    def handle_waiting(self, timeout_seconds: float | None = 0.0) -> int:
        """Run every request waiting (waiting up to ``timeout_seconds`` for one); return how
        many ran. Never raises: a failure is logged and notified."""
        requests = self.queue.take(timeout_seconds=timeout_seconds)
        for request in requests:
            self._handle(request)
        return len(requests)

    def interrupt(self) -> None:
        """Take no more requests; ask the update running, if any, to finish the service it is
        on and skip the rest (``abandon``)."""
        self._stop.set()
        self.queue.close()  # wakes the worker blocked in take()
        if self._abandon is not None:
            self._abandon()

    def stop(self, timeout: float) -> None:
        """``interrupt``, then give the update running ``timeout`` seconds to end; end it
        (``kill``) when it has not."""
        self.interrupt()
        if self._thread is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("the update in progress did not end within %.0f s: killed", timeout)
            if self._kill is not None:
                self._kill()

    def _work(self) -> None:
        # Blocks until a request arrives or stop() closes the queue: an idle supervisor does
        # not wake up for this thread at all.
        while not self._stop.is_set():
            self.handle_waiting(timeout_seconds=None)

    def _handle(self, request: UpdateRequest) -> None:
        services = ", ".join(sorted(request.services)) or "every service"
        logger.info("update (%s) of %s: checking", request.source, services)
        try:
            summary = self._updater().handle(request)
        except JobStopped:
            logger.info("update (%s): stopped with the supervisor", request.source)
        except (AdapterError, RenderedFileError) as error:
            logger.error(
                "update (%s) failed: %s (fix: %s)", request.source, error.message, error.fix or "-"
            )
            self._notifier.put(self._failure(f"update ({request.source}) failed", error.message))
        except Exception as error:
            logger.exception("update (%s) crashed; the supervisor goes on", request.source)
            self._notifier.put(job_crashed(self._instance, f"update ({request.source})", error))
        else:
            if self._recorder is not None:
                self._recorder.record(request.source.value, summary)
            logger.info(
                "update (%s): %d image(s) checked with %d registry request(s); %d applied",
                request.source,
                summary.checked,
                summary.registry_requests,
                summary.applied,
            )

    def _failure(self, title: str, body: str) -> Notification:
        return Notification(f"{self._instance}: {title}", body, FAILURE_PRIORITY, ("warning",))


def parse_update_result(payload: Mapping[str, Any]) -> UpdateSummary:
    """Given an update process's result, return its summary; raise AdapterError for a
    failure it reported, JobCrashed for a crash, ProtocolError for anything unreadable."""
    if "crashed" in payload:
        raise JobCrashed(str(payload["crashed"]))
    try:
        if "failed" in payload:
            failed = payload["failed"]
            raise AdapterError(str(failed["message"]), failed["fix"])
        return UpdateSummary(
            int(payload["checked"]),
            int(payload["registry_requests"]),
            int(payload["applied"]),
            tuple(str(service) for service in payload.get("pending", ())),
            tuple((str(service), str(outcome)) for service, outcome in payload.get("results", ())),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProtocolError(f"not an update result: {error!r}") from None


class UpdateProcess:
    """``UpdateHandling`` with each request handled in a child process (see the module
    docstring); its holds and notifications reach the daemon through ``handler``."""

    def __init__(self, process: JobProcess, handler: MessageHandler) -> None:
        self._process = process
        self._handler = handler

    def handle(self, request: UpdateRequest) -> UpdateSummary:
        arguments = {"source": request.source.value, "services": sorted(request.services)}
        return parse_update_result(self._process.run(arguments, self._handler))

    def abandon(self) -> None:
        """Ask the running update's process group to stop (SIGTERM): the update finishes the
        service it is on (or rolls it back) and skips the rest."""
        self._process.terminate()

    def kill(self) -> None:
        """End the running update's process group at once (SIGKILL)."""
        self._process.kill()
