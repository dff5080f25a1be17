"""What reaches the daemon's loop: one inbox fed by the event stream thread, the workers and
the signal handlers, drained by the loop alone (so the decision core sees one input at a time).
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from dataclasses import dataclass

from mediastack.supervisor.events import ContainerEvent
from mediastack.supervisor.observations import PrepareResult, RecreateResult


@dataclass(frozen=True)
class EventArrived:
    """A container event from the engine, parsed where it entered."""

    event: ContainerEvent


@dataclass(frozen=True)
class StreamConnected:
    """The event stream is (again) open; ``failures`` is how many attempts failed before it.
    Events from now on are not missed, so the loop re-reads the whole engine state, unless
    ``resumed``: reopened at once after an idle cut with the events in between replayed
    (``event_stream``), so nothing was missed. ``connects``: the stream's openings so far."""

    failures: int
    resumed: bool = False
    connects: int = 1


@dataclass(frozen=True)
class StreamLost:
    """The event stream dropped or could not be opened; the next attempt is in ``retry_in``
    seconds."""

    reason: str
    retry_in: float


@dataclass(frozen=True)
class PrepareFinished:
    """A prepare job (compose creating new containers, not starting them) ended, with one
    result per dependent."""

    results: tuple[PrepareResult, ...]


@dataclass(frozen=True)
class RecreateFinished:
    """A recreate job (one or more compose calls) ended, with one result per dependent."""

    results: tuple[RecreateResult, ...]


@dataclass(frozen=True)
class RestartFinished:
    """An autoheal restart ended; ``error`` says why it failed, None when it worked."""

    name: str
    error: str | None


@dataclass(frozen=True)
class StopRequested:
    """SIGTERM or SIGINT: finish the current compose call, save, exit."""

    reason: str


@dataclass(frozen=True)
class MaintenanceStarted:
    """An update (on the daemon's update worker) begins recreating ``services``: until the
    matching ``MaintenanceEnded`` the cascade ignores gluetun's events and autoheal leaves
    them alone."""

    services: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class MaintenanceEnded:
    """The update that held ``services`` is done (whatever its outcome)."""

    services: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class JobFinished:
    """A background job (port sync, backup) ended a run: the loop recomputes its wakeup."""

    job: str


Message = (
    EventArrived
    | StreamConnected
    | StreamLost
    | PrepareFinished
    | RecreateFinished
    | RestartFinished
    | StopRequested
    | MaintenanceStarted
    | MaintenanceEnded
    | JobFinished
)


class Inbox:
    """A thread-safe FIFO of messages: any thread puts, the loop gets."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Message] = queue.Queue()

    def put(self, message: Message) -> None:
        """Add ``message``; never blocks."""
        self._queue.put(message)

    def get(self, timeout: float | None) -> Message | None:
        """Return the next message, waiting at most ``timeout`` seconds (None: forever; 0: not
        at all); None when none came in time."""
        try:
            if timeout is not None and timeout <= 0:
                return self._queue.get_nowait()
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> Sequence[Message]:
        """Return every message waiting now, in order, without waiting for more."""
        messages: list[Message] = []
        while (message := self.get(0)) is not None:
            messages.append(message)
        return messages
