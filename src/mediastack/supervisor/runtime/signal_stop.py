"""A stop asked by a signal, safe to set from its handler.

A Python signal handler runs on the main thread, between two bytecodes of whatever it was
doing, so it must take no lock that code may hold: ``threading.Event.set`` and
``queue.Queue.put`` both take the lock their ``wait``/``get`` hold between waits, and a SIGTERM
landing inside that window deadlocks the process on itself. Seen: a port sync child blocked
forever on a futex after SIGTERM (3 of 5 children of a tight ``Event.wait`` loop hang so), and
with it the supervisor's stop, which waits for its jobs.

``SignalStop`` is the self-pipe trick: the handler sets a flag and writes one byte to a pipe
(``os.write`` takes no lock); ``wait`` selects on the pipe, so it returns as soon as the byte
is there (PEP 475 retries the ``select`` after the handler, and the pipe is readable by then).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType


class SignalStop:
    """Set once by a signal handler (or any thread); waited on by any thread."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._reason: str | None = None

    @property
    def reason(self) -> str | None:
        """The signal's name once set (e.g. ``SIGTERM``); None before."""
        return self._reason

    def is_set(self) -> bool:
        return self._reason is not None

    def set(self, reason: str = "stop") -> None:
        """Ask for the stop (the first reason is kept); takes no lock, so a handler may call it."""
        if self._reason is None:
            self._reason = reason
        with contextlib.suppress(BlockingIOError):  # a byte is there already: enough
            os.write(self._write, b"\0")

    def wait(self, seconds: float | None = None) -> bool:
        """Wait up to ``seconds`` (None: until set); return True when the stop is set."""
        if self._reason is None:
            select.select([self._read], [], [], None if seconds is None else max(0.0, seconds))
        return self._reason is not None

    def handle(self, numbers: Iterable[signal.Signals]) -> None:
        """Make each of the signal ``numbers`` set this stop (from the main thread)."""

        def on_signal(number: int, frame: FrameType | None) -> None:
            self.set(signal.Signals(number).name)

        for number in numbers:
            signal.signal(number, on_signal)

    def forward(self, deliver: Callable[[str], None]) -> threading.Thread:
        """Start a thread that calls ``deliver(reason)`` once the stop is set: what must take
        a lock (putting a message into the daemon's inbox) is done there, not in a handler."""

        def watch() -> None:
            self.wait()
            deliver(self._reason or "stop")

        thread = threading.Thread(target=watch, name="signal-stop", daemon=True)
        thread.start()
        return thread
