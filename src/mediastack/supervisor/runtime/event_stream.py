"""The supervisor's one intake: the Docker events stream, on its own thread, reconnected.

``EventStream`` opens the stream (``/events`` filtered to ``CONTAINER_EVENTS``), says so
(``StreamConnected``: the loop then re-reads the whole engine, so nothing that changed while
the stream was down is missed), and forwards each container event, parsed, to the inbox.
When the stream ends or fails (engine restarted, socket proxy gone) it says so
(``StreamLost``), waits with capped exponential backoff and opens it again, for as long as
the supervisor runs. The stream is opened before the re-read, so no event falls between them.

An idle cut is resumed instead. A socket proxy ends a stream that sent nothing for a while
(lscr.io/linuxserver/socket-proxy, HAProxy: ``timeout server 10m``, root/templates/haproxy.cfg;
its nginx releases before April 2025: ``proxy_read_timeout`` 240 s): a full re-read after each
such cut would cost an idle supervisor a list and an inspection of every container, 6 to 15
times an hour. So when a stream that stayed open ``IDLE_CUT_SECONDS`` ends (cleanly or cut)
with no event for that long, it is opened again at once with ``since=`` the ``EventCursor``'s
position (the last event's time, else the engine's clock when the stream opened): the engine
replays what happened in between, so nothing is lost, and the loop is told
``StreamConnected(resumed=True)``: no re-read. The gap is unknown, and the loop re-reads in
full, whenever: the supervisor starts; the stream ended within ``IDLE_CUT_SECONDS`` of opening
or of its last event (not an idle cut: an engine stopping sends its containers' ``die``
first); the immediate reopen failed (an engine restarting is not back within the
milliseconds of that reopen, and the proxy answers 502/503 meanwhile), so every reconnect
after a backoff re-reads; or no position is known.

Nothing here polls: the thread blocks on the socket, and an idle engine costs nothing.

The supervisor opens the stream through its own engine client (``SocketEventSource``: h11
on the engine's socket; see ``mediastack.adapters.engine_socket`` for why
not the SDK); ``DockerEventSource`` (the SDK) serves a ``DOCKER_HOST`` that client does not
reach (TLS, ssh://).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from mediastack.adapters.engine import unreachable
from mediastack.adapters.engine_socket import SocketEngine
from mediastack.supervisor.backoff import Backoff
from mediastack.supervisor.events import AUTOHEAL_LABEL, parse_container_event
from mediastack.supervisor.runtime.event_cursor import EventCursor
from mediastack.supervisor.runtime.messages import (
    EventArrived,
    Inbox,
    StreamConnected,
    StreamLost,
)

if TYPE_CHECKING:
    import docker

logger = logging.getLogger(__name__)

RECONNECT_BACKOFF = Backoff(timedelta(seconds=0.5), timedelta(seconds=30), max_attempts=1)
"""Waits between attempts: 0.5 s doubling to 30 s (attempts are not bounded: only the wait)."""
STABLE_SECONDS = 30.0
"""A stream that stayed open this long resets the backoff (one that drops at once does not)."""
IDLE_CUT_SECONDS = 30.0
"""A stream that was open this long, and sent no event for this long, before it ended was cut
for being idle: it is resumed, not followed by a full re-read (see the module docstring)."""
CONTAINER_EVENTS = {
    "type": "container",
    "event": ["start", "die", "stop", "destroy", "health_status"],
    "label": [f"{AUTOHEAL_LABEL}=true"],
}
"""Only what the supervisor acts on, from the containers it acts on. Measured on engine 20.10:
``health_status`` matches ``health_status: healthy|unhealthy`` (the engine matches that one
word fuzzily), and without the ``event`` filter every healthcheck run sends three ``exec_*``
events, so an idle stack would wake the supervisor several times per container per interval.

The label: every service mediastack renders carries ``autoheal=true`` (``render.compose``),
and it is what autoheal acts on host-wide (as willfarrell/autoheal does), so a host's other
containers never reach the inbox. Not the compose project labels: the engine ANDs the values
of one filter key (daemon/events/filter.go, ``MatchKVList``), so the three projects cannot be
asked for in one stream; the loop keeps to this homelab's projects (``relevance``)."""


class Subscription(Protocol):
    """An open event stream: iterate for decoded event dicts; ``close`` from another thread
    ends the iteration. ``engine_time_nano``: the engine's clock when it opened, if known."""

    @property
    def engine_time_nano(self) -> int | None: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


class EventSource(Protocol):
    """Opens event streams."""

    def open(self, since: str | None = None) -> Subscription:
        """Open a stream of container events (``since``: replaying those from then on, the
        engine's clock as ``SECONDS.NANOSECONDS``); raise an exception when the engine cannot
        be reached (any exception is taken as "try again later")."""
        ...


class SocketEventSource:
    """The engine's ``/events`` through the supervisor's own client: a connection of its own
    per stream, without a read timeout (the stream may stay silent for days)."""

    def __init__(self, engine: SocketEngine) -> None:
        self._engine = engine

    def open(self, since: str | None = None) -> Subscription:
        return self._engine.events(CONTAINER_EVENTS, since)


class DockerEventSource:
    """The engine's ``/events``, through a fresh SDK client per stream (the SDK's read timeout
    does not apply to it: the stream may stay silent for days)."""

    def open(self, since: str | None = None) -> Subscription:
        import docker
        import docker.errors
        import requests.exceptions

        try:
            client = docker.from_env()
            # The SDK takes whole seconds: the replay starts earlier, and the cursor drops
            # what was forwarded already.
            seconds = int(since.partition(".")[0]) if since else None
            stream = client.events(decode=True, filters=CONTAINER_EVENTS, since=seconds)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise unreachable(error) from error
        return _DockerSubscription(client, stream)


class _DockerSubscription:
    engine_time_nano = None  # the SDK does not show the answer's headers

    def __init__(self, client: docker.DockerClient, stream: Any) -> None:
        self._client = client
        self._stream = stream

    def __iter__(self) -> Iterator[Any]:
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # already closed by the engine; nothing left to release
            logger.debug("closing the event stream failed", exc_info=True)
        self._client.close()


@dataclass(frozen=True)
class StreamCounts:
    """How often the stream was opened: ``connects`` in all, of which ``resumed`` after an
    idle cut (no re-read), and ``failed`` attempts (a stream that broke or would not open)."""

    connects: int = 0
    resumed: int = 0
    failed: int = 0


class EventStream:
    """Runs the stream on a daemon thread until ``stop``; reports into ``inbox`` only."""

    def __init__(
        self,
        source: EventSource,
        inbox: Inbox,
        backoff: Backoff = RECONNECT_BACKOFF,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._inbox = inbox
        self._backoff = backoff
        self._monotonic = monotonic
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._subscription: Subscription | None = None
        self._cursor = EventCursor()
        self._last_event_at = 0.0
        self.counts = StreamCounts()
        self._thread = threading.Thread(target=self.run, name="docker-events", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the stream and the thread (waiting at most ``timeout`` seconds for it)."""
        self._stopping.set()
        with self._lock:
            subscription = self._subscription
        if subscription is not None:
            subscription.close()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run(self) -> None:
        """Open, forward, resume or reconnect, until stopped. Public so tests can run it
        inline."""
        failures = 0
        since: str | None = None  # set only right after an idle cut: resume from there
        while not self._stopping.is_set():
            subscription = self._open(since)
            if isinstance(subscription, str):
                since = None  # the gap is unknown now: the next connect re-reads in full
                failures = self._wait_after_failure(failures, subscription)
                continue
            resumed = since is not None
            self._connected(subscription, failures, resumed)
            opened_at = self._last_event_at = self._monotonic()
            reason = self._forward(subscription)
            if self._stopping.is_set():
                break
            ended_at = self._monotonic()
            if ended_at - opened_at >= STABLE_SECONDS:
                failures = 0
            since = self._resume_point(opened_at, ended_at)
            if since is None:
                failures = self._wait_after_failure(failures, reason)
            else:
                logger.info("event stream cut while idle (%s); resuming from %s", reason, since)

    def _connected(self, subscription: Subscription, failures: int, resumed: bool) -> None:
        if not resumed:
            self._cursor.opened(subscription.engine_time_nano)
        self.counts = replace(
            self.counts,
            connects=self.counts.connects + 1,
            resumed=self.counts.resumed + int(resumed),
        )
        self._inbox.put(StreamConnected(failures, resumed, self.counts.connects))

    def _resume_point(self, opened_at: float, ended_at: float) -> str | None:
        """Return where to resume after a stream that ended at ``ended_at``: the cursor's
        position after an idle cut, None otherwise (see the module docstring)."""
        idle = ended_at - self._last_event_at >= IDLE_CUT_SECONDS
        if ended_at - opened_at >= IDLE_CUT_SECONDS and idle:
            return self._cursor.since()
        return None

    def _open(self, since: str | None) -> Subscription | str:
        """Return the open stream, or why it could not be opened."""
        try:
            subscription = self._source.open(since)
        except Exception as error:  # whatever the engine did, try again later
            return f"cannot open the event stream: {error}"
        with self._lock:
            self._subscription = subscription
        if self._stopping.is_set():
            subscription.close()
            return "stopping"
        return subscription

    def _forward(self, subscription: Subscription) -> str:
        """Forward events until the stream ends; return why it ended."""
        try:
            for raw in subscription:
                if not self._cursor.admit(raw):
                    continue  # replayed by a resumed stream, and forwarded before
                self._last_event_at = self._monotonic()
                event = parse_container_event(raw)
                if event is not None:
                    self._inbox.put(EventArrived(event))
        except Exception as error:  # a broken connection surfaces as many exception types
            return f"the event stream failed: {error}"
        finally:
            with self._lock:
                self._subscription = None
            subscription.close()
        return "the engine closed the event stream"

    def _wait_after_failure(self, failures: int, reason: str) -> int:
        """Report the loss, wait the backoff (cut short by ``stop``); return the new count."""
        failures += 1
        self.counts = replace(self.counts, failed=self.counts.failed + 1)
        delay = self._backoff.delay(failures).total_seconds()
        if not self._stopping.is_set():
            self._inbox.put(StreamLost(reason, delay))
            self._stopping.wait(delay)
        return failures
