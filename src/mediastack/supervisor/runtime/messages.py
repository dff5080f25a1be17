"""What reaches the daemon's loop: one inbox fed by the event stream thread, the workers and
the signal handlers, drained by the loop alone (so the decision core sees one input at a time).
"""

from __future__ import annotations

import queue
import threading
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
class InboxOverflowed:
    """Events came faster than the loop took them and ``Inbox.EVENT_LIMIT`` were waiting: the
    ones after were dropped, so the loop re-reads the whole engine (as after a reconnect)
    instead of acting on a partial history."""

    dropped: int


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
    """A recreate job (one or more compose calls) or, with ``started``, a start of prepared
    containers ended, with one result per dependent."""

    results: tuple[RecreateResult, ...]
    started: bool = False


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
    | InboxOverflowed
    | PrepareFinished
    | RecreateFinished
    | RestartFinished
    | StopRequested
    | MaintenanceStarted
    | MaintenanceEnded
    | JobFinished
)


class Inbox:
    """A thread-safe FIFO of messages: any thread puts, the loop gets.

    Events are bounded: a flood (a host's other containers restarting in a loop; a replay
    after a long cut) must not grow the supervisor's memory without end. Past ``event_limit``
    waiting events the next ones are dropped and one ``InboxOverflowed`` is queued in their
    place: the loop re-reads the engine when it reaches it, which is later than every dropped
    event, so what they changed is seen. Every other message (a job's results, a stop) is a
    decision's input and is never dropped; there are few of them."""

    EVENT_LIMIT = 1000

    def __init__(self, event_limit: int = EVENT_LIMIT) -> None:
        self._queue: queue.Queue[Message] = queue.Queue()
        self._event_limit = event_limit
        self._lock = threading.Lock()
        self._events_waiting = 0
        self._dropped = 0  # since the InboxOverflowed now waiting; 0: none waits

    def put(self, message: Message) -> None:
        """Add ``message``; never blocks (an event past the limit is dropped: see above)."""
        if isinstance(message, EventArrived):
            with self._lock:
                if self._dropped or self._events_waiting >= self._event_limit:
                    self._dropped += 1
                    if self._dropped > 1:
                        return
                    message_to_queue: Message = InboxOverflowed(1)
                else:
                    self._events_waiting += 1
                    message_to_queue = message
            self._queue.put(message_to_queue)
            return
        self._queue.put(message)

    def get(self, timeout: float | None) -> Message | None:
        """Return the next message, waiting at most ``timeout`` seconds (None: forever; 0: not
        at all); None when none came in time."""
        try:
            if timeout is not None and timeout <= 0:
                message = self._queue.get_nowait()
            else:
                message = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return self._taken(message)

    def _taken(self, message: Message) -> Message:
        with self._lock:
            if isinstance(message, EventArrived):
                self._events_waiting -= 1
            elif isinstance(message, InboxOverflowed):
                message, self._dropped = InboxOverflowed(self._dropped), 0
        return message

    def drain(self) -> Sequence[Message]:
        """Return every message waiting now, in order, without waiting for more."""
        messages: list[Message] = []
        while (message := self.get(0)) is not None:
            messages.append(message)
        return messages
