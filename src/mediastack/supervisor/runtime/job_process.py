"""Running one job run in a short-lived child process, from the daemon's side.

``JobProcess.run`` starts ``python -m mediastack.supervisor.runtime.job_child JOB``, sends it
the request, hands what it says to a ``MessageHandler`` (notifications, update holds) and
returns its result. Why a child at all (the libraries of a job never enter the daemon) and the
protocol: ``mediastack.supervisor.runtime.job_protocol``.

- The child has its own process group: Ctrl-C in a terminal reaches the daemon alone, which
  stops its jobs in its own order (an update is given time to finish).
- A hold the child announced and did not end (it crashed, or was killed mid-update) is ended
  here when the child exits (as a ``finally`` would have in one process): the cascade would
  otherwise ignore gluetun for good.
- ``terminate`` (SIGTERM) and ``kill`` (SIGKILL) reach the running child's whole process
  group from another thread (the daemon's stop): whatever the child started in its group
  (a compose call, the backup's workers) hears it too. Once terminated, no new run starts.
  A child ended that way without a result raises ``JobStopped``, one that ended by itself
  without one ``JobCrashed``.
- When the child has exited, whatever it left running in its group is killed (SIGKILL) before
  the child is reaped (so the group's id cannot have been reused yet): a job leaves nothing
  behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any, Protocol

from mediastack.config import LoadedConfig
from mediastack.notify.message import Notification
from mediastack.supervisor.runtime.job_protocol import (
    ACK,
    CHILD_MODULE,
    HoldEnded,
    HoldStarted,
    JobName,
    JobRequest,
    Message,
    Notify,
    ProtocolError,
    Result,
    decode_message,
)
from mediastack.supervisor.runtime.messages import Inbox, MaintenanceEnded, MaintenanceStarted
from mediastack.supervisor.runtime.notices import Notifier

logger = logging.getLogger("mediastack.supervisor")


class JobCrashed(Exception):
    """A job's process ended without a result: a bug (its traceback is in the log), or it
    was killed from outside. ``repr`` is the child's own description of what it raised."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def __repr__(self) -> str:
        return self.description


class JobStopped(Exception):
    """The daemon ended the job's process (it is stopping) before it gave a result."""


class MessageHandler(Protocol):
    """What a job's process may ask of the daemon while it runs."""

    def notify(self, notification: Notification) -> None: ...

    def hold_started(self, services: tuple[str, ...], reason: str) -> None: ...

    def hold_ended(self, services: tuple[str, ...], reason: str) -> None: ...


class DaemonHandler:
    """The daemon's answers: notifications into its queue, holds into its inbox
    (``MaintenanceStarted``/``MaintenanceEnded``, which the loop alone acts on)."""

    def __init__(self, notifier: Notifier, inbox: Inbox) -> None:
        self._notifier = notifier
        self._inbox = inbox

    def notify(self, notification: Notification) -> None:
        self._notifier.put(notification)

    def hold_started(self, services: tuple[str, ...], reason: str) -> None:
        self._inbox.put(MaintenanceStarted(services, reason))

    def hold_ended(self, services: tuple[str, ...], reason: str) -> None:
        self._inbox.put(MaintenanceEnded(services, reason))


class JobProcess:
    """Runs ``job`` in a child process, one run at a time (see the module docstring)."""

    def __init__(
        self,
        job: JobName,
        loaded: LoadedConfig,
        *,
        verbose: bool = False,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command`` replaces ``python -m <child module> <job>`` (tests)."""
        self.job = job
        self._config = loaded.config.model_dump(mode="json")
        self._config_path = str(loaded.path)
        self._verbose = verbose
        self._command = list(command or (sys.executable, "-m", CHILD_MODULE, job.value))
        self._lock = threading.Lock()
        self._child: subprocess.Popen[str] | None = None
        self._signalled = False
        self._closed = False  # terminated: the daemon is stopping, no new run starts

    def run(self, arguments: Mapping[str, Any], handler: MessageHandler) -> Mapping[str, Any]:
        """Run the job once with ``arguments``; return its result. Raise JobStopped when
        ``terminate``/``kill`` ended it first, JobCrashed when it ended without a result."""
        request = JobRequest(self._config, self._config_path, self._verbose, arguments)
        child = self._start()
        try:
            result = _converse(child, request, handler)
        finally:
            code = self._finish(child)
            with self._lock:
                signalled, self._signalled = self._signalled, False
        if result is not None:
            return result
        if signalled:
            raise JobStopped(f"the {self.job} process was stopped (exit code {code})")
        raise JobCrashed(f"the {self.job} process ended with exit code {code} and no result")

    def terminate(self) -> None:
        """Ask the running child's process group, if any, to end (SIGTERM); start no new
        run from now on (the daemon is stopping)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """End the running child's process group, if any, at once (SIGKILL)."""
        self._signal(signal.SIGKILL)

    def _start(self) -> subprocess.Popen[str]:
        with self._lock:
            if self._closed:
                raise JobStopped(f"the {self.job} process was not started: stopping")
            child = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                process_group=0,
            )
            self._child = child
        logger.debug("%s: process %d started", self.job, child.pid)
        return child

    def _signal(self, number: signal.Signals) -> None:
        with self._lock:
            self._closed = True
            # Not reaped yet (``_finish`` reaps under this lock): the group's id is still ours.
            if self._child is None:
                return
            self._signalled = True
            _signal_group(self._child.pid, number)

    def _finish(self, child: subprocess.Popen[str]) -> int:
        """Close the child's pipes, wait for it to exit, kill what it left in its group, and
        reap it; return its exit code."""
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                # A broken pipe on close: the child is gone already.
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        with self._lock:
            _signal_group(child.pid, signal.SIGKILL)
            self._child = None
            return child.wait()


def _signal_group(group: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, number)


def _converse(
    child: subprocess.Popen[str], request: JobRequest, handler: MessageHandler
) -> Mapping[str, Any] | None:
    """Send the request, serve the child's messages until it closes stdout; return its
    result (None: it gave none). Holds left open are ended."""
    assert child.stdin is not None and child.stdout is not None
    _send(child.stdin, request.encode())
    open_holds: list[HoldStarted] = []
    result: Mapping[str, Any] | None = None
    try:
        for line in child.stdout:
            message = _decoded(line)
            if isinstance(message, Result):
                result = message.payload
            elif message is not None:
                _serve(message, handler, child.stdin, open_holds)
    finally:
        for hold in open_holds:
            held = ", ".join(hold.services)
            logger.warning("the job ended inside its hold on %s: ending it", held)
            handler.hold_ended(hold.services, hold.reason)
    return result


def _serve(
    message: Message, handler: MessageHandler, stdin: IO[str], open_holds: list[HoldStarted]
) -> None:
    match message:
        case Notify(notification):
            handler.notify(notification)
        case HoldStarted(services, reason):
            handler.hold_started(services, reason)
            open_holds.append(message)
            _send(stdin, ACK)  # only now: the hold is in the inbox before any event it causes
        case HoldEnded(services, reason):
            handler.hold_ended(services, reason)
            if HoldStarted(services, reason) in open_holds:
                open_holds.remove(HoldStarted(services, reason))


def _decoded(line: str) -> Message | None:
    try:
        return decode_message(line)
    except ProtocolError as error:
        logger.warning("a job process said something unreadable (%s): %.200s", error, line)
        return None


def _send(stdin: IO[str], line: str) -> None:
    try:
        stdin.write(line + "\n")
        stdin.flush()
    except (BrokenPipeError, ValueError):  # the child is gone; its exit code tells why
        logger.debug("a job process no longer reads its input")
