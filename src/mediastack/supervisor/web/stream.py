"""``GET /api/v1/stream``: the status page's live updates as server-sent events.

Bounded so that the webhook's listener keeps its slots for WUD and scrapes: at most
``max_clients`` streams at once (a further one is answered 503 with ``Retry-After``), each
closed after ``lifetime_seconds`` (the browser's EventSource reconnects by itself, after
``retry_milliseconds``). While a client is connected the view is read from the daemon's files
every ``poll_seconds`` and an event is sent only when something changed; nothing is read, and
nothing runs, while no one is connected. Never an engine call.

Events: ``sections`` (JSON: element id -> inner HTML, only the sections that changed; the
first event carries all) and ``status`` (the ``/api/v1/status`` JSON without its
``generated_at``, when it changed). A ``: keepalive`` comment goes out when nothing changed
for ``keepalive_seconds``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from mediastack.supervisor.web.page import render_sections
from mediastack.supervisor.web.status_view import StatusView
from mediastack.supervisor.web.topology import Topology
from mediastack.updates.webhook import Answer
from mediastack.updates.webhook_http import StreamChannel

LOGGER = logging.getLogger(__name__)
STREAM_PATH = "/api/v1/stream"


@dataclass(frozen=True)
class StreamSettings:
    """The stream's bounds."""

    max_clients: int = 2
    lifetime_seconds: float = 300.0
    poll_seconds: float = 2.0
    keepalive_seconds: float = 20.0
    retry_milliseconds: int = 3000


@dataclass(frozen=True)
class Frame:
    """What one look at the view gives: the sections' HTML and the status JSON."""

    sections: dict[str, str]
    status: dict[str, Any]


def frame_of(view: StatusView, topology: Topology) -> Frame:
    """Return the sections and the JSON of ``view`` (its ``generated_at`` left out, so an
    unchanged view compares equal)."""
    status = view.to_json()
    status.pop("generated_at", None)
    return Frame(render_sections(view, topology), status)


def event_bytes(event: str, data: Any) -> bytes:
    """Return one server-sent event carrying ``data`` as one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class SectionStream:
    """One client's stream (a ``StreamBody``): ``release`` is called once when it ends."""

    def __init__(
        self,
        look: Callable[[], Frame],
        settings: StreamSettings,
        release: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._look = look
        self._settings = settings
        self._release = release
        self._monotonic = monotonic

    def run(self, channel: StreamChannel) -> None:
        """Send events until the lifetime ends or the channel closes; then release."""
        try:
            self._serve(channel)
        except Exception:  # a broken read must end this stream, never the listener
            LOGGER.exception("the status stream ended on an error")
        finally:
            self._release()

    def _serve(self, channel: StreamChannel) -> None:
        settings = self._settings
        ends_at = self._monotonic() + settings.lifetime_seconds
        if not channel.send(f"retry: {settings.retry_milliseconds}\n\n".encode()):
            return
        last: Frame | None = None
        quiet_since = self._monotonic()
        while True:
            frame = self._look()
            message = _changes(last, frame)
            now = self._monotonic()
            if message:
                last, quiet_since = frame, now
            elif now - quiet_since >= settings.keepalive_seconds:
                message, quiet_since = b": keepalive\n\n", now
            if message and not channel.send(message):
                return
            left = ends_at - now
            if left <= 0 or not channel.wait(min(settings.poll_seconds, left)):
                return


def _changes(last: Frame | None, frame: Frame) -> bytes:
    """Return the events that take a client from ``last`` to ``frame`` (empty: no change)."""
    before = last.sections if last is not None else {}
    changed = {name: html for name, html in frame.sections.items() if before.get(name) != html}
    message = event_bytes("sections", changed) if changed else b""
    if last is None or last.status != frame.status:
        message += event_bytes("status", frame.status)
    return message


class StreamGate:
    """Hands out at most ``settings.max_clients`` streams at once."""

    def __init__(
        self,
        read_view: Callable[[], StatusView],
        topology: Topology,
        settings: StreamSettings | None = None,
    ) -> None:
        self._read_view = read_view
        self._topology = topology
        self.settings = settings or StreamSettings()
        self._slots = threading.BoundedSemaphore(self.settings.max_clients)

    def answer(self) -> Answer:
        """Return a stream answer, or 503 when every stream slot is taken."""
        if not self._slots.acquire(blocking=False):
            seconds = max(1, self.settings.retry_milliseconds // 1000)
            return Answer(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": f"at most {self.settings.max_clients} live pages at once"},
                {"Retry-After": str(seconds)},
            )
        stream = SectionStream(
            lambda: frame_of(self._read_view(), self._topology), self.settings, self._slots.release
        )
        headers = {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a reverse proxy must not hold the events back
        }
        return Answer(HTTPStatus.OK, stream, headers)
