"""One job's runs on its own worker, as port sync and wire both need them: at most one run
queued behind the running one (triggers arriving meanwhile fold into it: a run is idempotent),
and when the next timed run is due, which the loop reads with ``next_wakeup`` (None while a
run is queued or running: its end recomputes it) and starts with ``tick``.

``body(trigger)`` is the run; ``schedule()`` (called right after it, under the lock) returns
when the next timed run is due and with which trigger; ``finished()`` then tells the loop
(after the running flag is down, so the loop's next look sees the new due time)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from mediastack.supervisor.runtime.workers import Worker

logger = logging.getLogger("mediastack.supervisor")

Trigger = TypeVar("Trigger", bound=StrEnum)


class FoldedRuns(Generic[Trigger]):
    """See the module docstring. ``timer``: the trigger of a timed run until ``schedule``
    says otherwise."""

    def __init__(
        self,
        name: str,
        worker: Worker,
        body: Callable[[Trigger], None],
        schedule: Callable[[], tuple[datetime | None, Trigger]],
        finished: Callable[[], None],
        timer: Trigger,
    ) -> None:
        self._name = name
        self._worker = worker
        self._body = body
        self._schedule = schedule
        self._finished = finished
        self._lock = threading.Lock()
        self._queued: Trigger | None = None
        self._running = False
        self._next_due: datetime | None = None
        self._due_trigger = timer

    def due_at(self, moment: datetime | None, trigger: Trigger) -> None:
        """Set when the next timed run is due (None: none) and why."""
        with self._lock:
            self._next_due, self._due_trigger = moment, trigger

    def trigger(self, trigger: Trigger) -> None:
        """Queue a run for ``trigger``, or fold it into the run already queued."""
        with self._lock:
            if self._queued is not None:
                logger.info("%s (%s): folded into the queued run", self._name, trigger)
                return
            self._queued = trigger
        logger.info("%s (%s): queued", self._name, trigger)
        self._worker.submit(self._run)

    def next_wakeup(self) -> datetime | None:
        """Return when the next timed run is due; None while a run is queued or running."""
        with self._lock:
            busy = self._queued is not None or self._running
            return None if busy else self._next_due

    def tick(self, now: datetime) -> None:
        """Queue the timed run when it is due at ``now``."""
        due = self.next_wakeup()
        if due is not None and due <= now:
            with self._lock:
                trigger = self._due_trigger
            self.trigger(trigger)

    def _run(self) -> None:
        with self._lock:
            trigger = self._queued if self._queued is not None else self._due_trigger
            self._queued, self._running = None, True
        try:
            self._body(trigger)
        finally:
            with self._lock:
                self._running = False
                self._next_due, self._due_trigger = self._schedule()
            self._finished()
