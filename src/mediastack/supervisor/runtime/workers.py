"""Blocking jobs (compose calls, container restarts) run off the daemon's loop, one at a time.

A job reports back by putting a message into the inbox; the loop never waits for a job, so
events keep flowing while compose works. ``SerialWorker`` keeps compose calls strictly one at
a time (two concurrent ``up`` calls on one project race each other). ``InlineWorker`` runs
each job at once on the caller's thread, for tests.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)

Job = Callable[[], None]


class Worker(Protocol):
    """Runs jobs in submission order."""

    def submit(self, job: Job) -> None:
        """Queue ``job``; return at once (an inline worker runs it first)."""
        ...

    def stop(self, timeout: float) -> bool:
        """Let the job running now finish (waiting at most ``timeout`` seconds), drop the jobs
        not started, refuse new ones; return True when nothing is running any more."""
        ...


class SerialWorker:
    """One daemon thread running queued jobs in order. A job that raises is logged, not fatal."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._condition = threading.Condition()
        self._jobs: deque[Job] = deque()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._condition:
            if self._stopping:
                logger.warning("%s is stopping: a job was not started", self._name)
                return
            self._jobs.append(job)
            self._condition.notify_all()

    def stop(self, timeout: float) -> bool:
        with self._condition:
            self._stopping = True
            dropped = len(self._jobs)
            self._jobs.clear()
            self._condition.notify_all()
        if dropped:
            logger.info(
                "%s: %d queued job(s) not started (the saved state resumes them)",
                self._name,
                dropped,
            )
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                job()
            except Exception:  # a job reports its own failures; this is a bug, keep going
                logger.exception("%s: a job crashed", self._name)

    def _next(self) -> Job | None:
        with self._condition:
            while not self._jobs and not self._stopping:
                self._condition.wait()
            if self._stopping:
                return None
            return self._jobs.popleft()


class InlineWorker:
    """Runs each job at once, on the caller's thread (tests)."""

    def __init__(self) -> None:
        self.stopped = False

    def submit(self, job: Job) -> None:
        if not self.stopped:
            job()

    def stop(self, timeout: float) -> bool:
        self.stopped = True
        return True
