"""What looks at the supervisor's status pages during the footprint benchmark's windows.

- ``StreamClient``: a browser tab left open on the live page, reduced to what it does on the
  wire: one ``GET /api/v1/stream`` (``Authorization: Bearer <token>``) read until the server
  closes it (after its 300 s lifetime), then, after the ``retry:`` the stream announced (an
  EventSource's habit), the same request again, until stopped. Counts what it got.
- ``Scraper``: Prometheus, reduced likewise: ``GET /metrics`` every ``interval`` seconds (fixed
  rate, 15 s: Prometheus' usual ``scrape_interval``).

Both talk plain sockets to the published port on 127.0.0.1 (the listener answers HTTP/1.0 and
closes), each on a thread of the benchmark's process, so nothing of theirs runs in the
supervisor's container.
"""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections import Counter
from typing import Any, Protocol

CONNECT_TIMEOUT_SECONDS = 5.0
READ_SLICE_SECONDS = 1.0


class Looker(Protocol):
    """A client run over one window: ``start`` at its beginning, ``stop`` at its end."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def summary(self) -> dict[str, Any]: ...


def request_bytes(path: str, port: int, token: str, accept: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: {accept}\r\nConnection: close\r\n\r\n"
    ).encode()


def status_of(head: bytes) -> int:
    """Return the status code of an HTTP answer's head (0 when it is not one)."""
    parts = head.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def get(port: int, path: str, token: str = "", timeout: float = 10.0) -> tuple[int, bytes]:
    """One GET on 127.0.0.1:``port``: (status, body); (0, b"") when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(request_bytes(path, port, token, "*/*"))
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
    except OSError:
        return 0, b""
    head, _, body = received.partition(b"\r\n\r\n")
    return status_of(head), body


class StreamClient:
    """One live page's stream, reconnecting when the server ends it (see the module)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.connections = 0
        self.statuses: Counter[int] = Counter()
        self.events: Counter[str] = Counter()
        # What changed from one event to the next: section ids, and the status JSON's
        # fields (two levels deep), to see why an event was sent.
        self.sections_sent: Counter[str] = Counter()
        self.status_fields_changed: Counter[str] = Counter()
        self._last_status: dict[str, Any] | None = None
        self.keepalives = 0
        self.bytes_received = 0
        self.closed_by_server = 0
        self.errors: list[str] = []
        self.connected_seconds: list[float] = []
        self.first_event_seconds: list[float] = []
        self._retry_seconds = 3.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._one_connection()
            self._stop.wait(self._retry_seconds)

    def _one_connection(self) -> None:
        opened = time.monotonic()
        try:
            connection = socket.create_connection(
                ("127.0.0.1", self.port), timeout=CONNECT_TIMEOUT_SECONDS
            )
        except OSError as error:
            self.errors.append(f"connect: {error}")
            return
        self.connections += 1
        with connection:
            connection.settimeout(READ_SLICE_SECONDS)
            try:
                connection.sendall(request_bytes("/api/v1/stream", self.port, self.token,
                                                 "text/event-stream"))  # fmt: skip
                self._read(connection, opened)
            except OSError as error:
                self.errors.append(f"read: {error}")
        self.connected_seconds.append(round(time.monotonic() - opened, 1))

    def _read(self, connection: socket.socket, opened: float) -> None:
        buffer, head_seen = b"", False
        while not self._stop.is_set():
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                self.closed_by_server += 1
                return
            self.bytes_received += len(chunk)
            buffer += chunk
            if not head_seen:
                if b"\r\n\r\n" not in buffer:
                    continue
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                head_seen = True
                self.statuses[status_of(head)] += 1
                if status_of(head) != 200:
                    return
            buffer = self._take_events(buffer, opened)

    def _take_events(self, buffer: bytes, opened: float) -> bytes:
        """Count the whole events in ``buffer``; return what is left of it."""
        while b"\n\n" in buffer:
            block, _, buffer = buffer.partition(b"\n\n")
            lines = block.decode("utf-8", "replace").split("\n")
            if all(line.startswith(":") for line in lines):
                self.keepalives += 1
                continue
            event = ""
            for line in lines:
                if line.startswith("retry:"):
                    self._retry_seconds = int(line[6:].strip()) / 1000
                elif line.startswith("event:"):
                    event = line[6:].strip()
                    if not self.events:
                        self.first_event_seconds.append(round(time.monotonic() - opened, 3))
                    self.events[event] += 1
                elif line.startswith("data:"):
                    self._note(event, line[5:].strip())
        return buffer

    def _note(self, event: str, data: str) -> None:
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if event == "sections" and isinstance(payload, dict):
            self.sections_sent.update(payload.keys())
        elif event == "status" and isinstance(payload, dict):
            if self._last_status is not None:
                self.status_fields_changed.update(changed_fields(self._last_status, payload))
            self._last_status = payload

    def summary(self) -> dict[str, Any]:
        return {
            "client": "GET /api/v1/stream with the status token, read until the server closes "
            "it, reconnecting after the stream's retry:",
            "connections": self.connections,
            "answers": {str(status): count for status, count in self.statuses.items()},
            "events": dict(self.events),
            "sections_sent": dict(self.sections_sent.most_common()),
            "status_fields_changed_between_events": dict(self.status_fields_changed.most_common()),
            "keepalives": self.keepalives,
            "bytes_received": self.bytes_received,
            "bytes_per_connected_hour": (
                round(self.bytes_received * 3600 / sum(self.connected_seconds))
                if sum(self.connected_seconds)
                else None
            ),
            "closed_by_the_server": self.closed_by_server,
            "connected_seconds": self.connected_seconds,
            "first_event_after_seconds": self.first_event_seconds,
            "errors": self.errors[:10],
        }


def changed_fields(before: dict[str, Any], after: dict[str, Any], depth: int = 2) -> list[str]:
    """Return the dotted names of the fields that differ, ``depth`` levels deep."""
    changed: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if depth > 1 and isinstance(old, dict) and isinstance(new, dict):
            changed += [f"{key}.{name}" for name in changed_fields(old, new, depth - 1)]
        else:
            changed.append(key)
    return changed


class Scraper:
    """``GET /metrics`` every ``interval`` seconds, fixed rate (see the module)."""

    def __init__(self, port: int, token: str, interval: float = 15.0) -> None:
        self.port = port
        self.token = token
        self.interval = interval
        self.statuses: Counter[int] = Counter()
        self.seconds: list[float] = []
        self.body_bytes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-scrape", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            begun = time.monotonic()
            status, body = get(self.port, "/metrics", self.token)
            self.seconds.append(time.monotonic() - begun)
            self.statuses[status] += 1
            self.body_bytes.append(len(body))
            due += self.interval
            self._stop.wait(max(0.0, due - time.monotonic()))

    def summary(self) -> dict[str, Any]:
        return {
            "client": f"GET /metrics with the status token every {self.interval:g} s",
            "scrapes": sum(self.statuses.values()),
            "answers": {str(status): count for status, count in self.statuses.items()},
            "seconds_first": round(self.seconds[0], 3) if self.seconds else None,
            "seconds_median": round(statistics.median(self.seconds), 3) if self.seconds else None,
            "body_bytes_median": statistics.median(self.body_bytes) if self.body_bytes else None,
        }


class Nobody:
    """No one looks (the idle variants)."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def summary(self) -> dict[str, Any]:
        return {"client": "none"}
