"""Helpers of the notification tests (imported as ``notify_support``)."""

from __future__ import annotations

import threading

BOUNDED_WAIT_SECONDS = 10.0


class FakeTime:
    """A clock that moves only when the queue's worker sleeps, and a sleep that records each
    wait and returns at once, unless held: then it waits (bounded) until released."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0.0
        self.sleeps: list[float] = []
        self.first_sleep_started = threading.Event()
        self._released = threading.Event()
        self._released.set()

    def clock(self) -> float:
        """Return the fake time in seconds."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the wait, block while held, then move the clock on by ``seconds``."""
        with self._lock:
            self.sleeps.append(seconds)
        self.first_sleep_started.set()
        if not self._released.wait(BOUNDED_WAIT_SECONDS):
            raise TimeoutError("the test never released the held sleep")
        with self._lock:
            self._now += seconds

    def hold(self) -> None:
        """Make the next sleeps block until :meth:`release`."""
        self._released.clear()

    def release(self) -> None:
        """Let held and later sleeps return."""
        self._released.set()
