"""Image updates in the daemon: the daily schedule, the WUD webhook, and one update worker.

- The schedule (``updates.schedule``, in ``identity.timezone``) is a ``CronTimer`` the loop
  ticks: when due it puts ``UpdateRequest(Source.SCHEDULE)`` into the ``UpdateQueue``; pure
  time, no engine call. The planner applies only ``auto``-policy services and reports the
  ``notify`` ones.
- The webhook server (its own threads) puts its requests into the same queue.
- One thread of its own takes requests from the queue and runs ``Updater.handle`` for each:
  separate from port sync and backups because an update waits for health checks for minutes,
  and from the compose worker because the update's recreation is held (``DaemonHold``), not
  serialized with the cascade. The queue is bounded and merging, so requests cannot pile up.
- An update that fails (engine, compose, unreadable rendered file) or crashes is logged and
  notified; the thread goes on. On stop the webhook stops first, then the update running is
  given the stop timeout to finish (its own rollback included).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from mediastack.adapters.errors import AdapterError
from mediastack.notify import Notification
from mediastack.stack.rendered import RenderedFileError
from mediastack.supervisor.runtime.job_notices import FAILURE_PRIORITY, job_crashed
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.timers import CronTimer
from mediastack.updates import Source, UpdateQueue, UpdateRequest, UpdateRun

logger = logging.getLogger("mediastack.supervisor")

class UpdateHandling(Protocol):
    """What the daemon needs of ``mediastack.updates.Updater``."""

    def handle(self, request: UpdateRequest) -> UpdateRun: ...


class Serving(Protocol):
    """The webhook server, as far as the daemon is concerned."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


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
        webhook: Serving | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self._updater = updater
        self._notifier = notifier
        self._instance = instance
        self._timer = timer
        self._webhook = webhook
        self._close = close
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the update thread and the webhook (a webhook that cannot bind is logged and
        notified; the schedule goes on without it)."""
        self._thread = threading.Thread(target=self._work, name="updates", daemon=True)
        self._thread.start()
        if self._webhook is not None:
            try:
                self._webhook.start()
            except OSError as error:
                logger.error("the update webhook cannot listen: %s; serving without it", error)
                self._notifier.put(self._failure("the update webhook cannot listen", str(error)))
                self._webhook = None

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

    def stop(self, timeout: float) -> None:
        """Stop the webhook, then give the update running ``timeout`` seconds to finish;
        release the registry client (``close``) once nothing runs."""
        if self._webhook is not None:
            self._webhook.stop()
        self._stop.set()
        self.queue.close()  # wakes the worker blocked in take()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the update in progress did not finish within %.0f s", timeout)
                return
        if self._close is not None:
            self._close()

    def _work(self) -> None:
        # Blocks until a request arrives or stop() closes the queue: an idle supervisor does
        # not wake up for this thread at all.
        while not self._stop.is_set():
            self.handle_waiting(timeout_seconds=None)

    def _handle(self, request: UpdateRequest) -> None:
        services = ", ".join(sorted(request.services)) or "every service"
        logger.info("update (%s) of %s: checking", request.source, services)
        try:
            run = self._updater().handle(request)
        except (AdapterError, RenderedFileError) as error:
            logger.error(
                "update (%s) failed: %s (fix: %s)", request.source, error.message, error.fix or "-"
            )
            self._notifier.put(self._failure(f"update ({request.source}) failed", error.message))
        except Exception as error:
            logger.exception("update (%s) crashed; the supervisor goes on", request.source)
            self._notifier.put(job_crashed(self._instance, f"update ({request.source})", error))
        else:
            logger.info(
                "update (%s): %d image(s) checked with %d registry request(s); %d applied",
                request.source,
                len(run.checks),
                run.registry_requests,
                len(run.results),
            )

    def _failure(self, title: str, body: str) -> Notification:
        return Notification(f"{self._instance}: {title}", body, FAILURE_PRIORITY, ("warning",))
