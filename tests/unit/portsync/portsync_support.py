"""Test doubles for port sync.

- :class:`FakeQbittorrent`: an HTTP server on 127.0.0.1 that answers like qBittorrent 4.5.2,
  with the status, headers and bodies captured from a real qbittorrent-nox (fixtures/
  qbittorrent-4.5.2, made by tests/integration/test_portsync_qbittorrent.py) and its rules
  as measured there: no session -> 403 ``Forbidden`` (unless the local-auth bypass is on);
  log-in -> ``Ok.`` with a SID cookie or ``Fails.``; once banned -> 403 with the ban text;
  any ``Origin``/``Referer`` -> 401; ``setPreferences`` -> 200, ``random_port`` meaning
  "port 0". Every request is recorded.
- :class:`FakeGluetunServer`: an HTTP server answering ``/v1/portforward`` as scripted.
- In-memory :class:`FakeGluetun`, :class:`FakeStore` and :class:`FakeTime` for ``sync_once``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from mediastack.adapters.gluetun import GluetunError, PublicAddress
from mediastack.adapters.qbittorrent import ListenPreferences, QbittorrentError

FIXTURES = Path(__file__).parent / "fixtures" / "qbittorrent-4.5.2"


@dataclass(frozen=True)
class Captured:
    """One captured answer of qbittorrent-nox."""

    status: int
    headers: dict[str, str]
    body: str


def captured(name: str) -> Captured:
    """Return the captured answer ``fixtures/qbittorrent-4.5.2/<name>.json``."""
    exchange = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    response = exchange["response"]
    return Captured(response["status"], dict(response["headers"]), response["body"])


def captured_preferences() -> dict[str, Any]:
    """Return the full preferences JSON qbittorrent-nox answered after start."""
    preferences: dict[str, Any] = json.loads(captured("preferences").body)
    return preferences


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


def _session_id() -> str:
    cookie = captured("login-ok").headers["set-cookie"]
    return cookie.split(";", 1)[0].removeprefix("SID=")


@dataclass
class FakeQbittorrent:
    """See the module docstring. Switches: ``bypass`` (no log-in needed), ``banned``,
    ``reject_all`` (401 on everything, as for a Host header with a foreign port),
    ``ignore_writes`` (answers 200 but keeps the old preferences), ``lose_sessions`` (log-ins
    succeed but their sessions are gone at once, as when qBittorrent restarts)."""

    password: str = "s3cret"
    bypass: bool = False
    banned: bool = False
    reject_all: bool = False
    ignore_writes: bool = False
    lose_sessions: bool = False
    preferences: dict[str, Any] = field(default_factory=captured_preferences)
    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)

    @property
    def listen(self) -> ListenPreferences:
        return ListenPreferences(
            self.preferences["listen_port"],
            self.preferences["random_port"],
            self.preferences["upnp"],
        )

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def answer(self, request: RecordedRequest) -> tuple[Captured, str | None]:
        """Return the captured answer to ``request`` (and a JSON body to send instead)."""
        self.requests.append(request)
        if self.reject_all or "Origin" in request.headers or "Referer" in request.headers:
            return captured("cross-site-401"), None
        if request.path == "/api/v2/auth/login":
            return self._login(request), None
        if not self._authorized(request):
            return captured("preferences-forbidden"), None
        return self._api(request)

    def _login(self, request: RecordedRequest) -> Captured:
        if self.banned:
            return captured("login-banned")
        if request.form.get("password") != self.password:
            return captured("login-fails")
        if not self.lose_sessions:
            self.sessions.add(_session_id())
        return captured("login-ok")

    def _authorized(self, request: RecordedRequest) -> bool:
        cookie = request.headers.get("Cookie", "")
        return self.bypass or any(f"SID={sid}" in cookie for sid in self.sessions)

    def _api(self, request: RecordedRequest) -> tuple[Captured, str | None]:
        if request.path == "/api/v2/app/preferences":
            return captured("preferences"), json.dumps(self.preferences)
        if request.path == "/api/v2/app/setPreferences":
            if not self.ignore_writes:
                self._apply(json.loads(request.form["json"]))
            return captured("set-preferences"), None
        if request.path == "/api/v2/auth/logout":
            self.sessions.clear()
            return captured("logout"), None
        if request.path == "/api/v2/app/version":
            return captured("version"), None
        return Captured(404, {}, "Not Found"), None

    def _apply(self, changes: dict[str, Any]) -> None:
        # As measured: random_port is "session port 0"; listen_port sets the port.
        if "listen_port" in changes:
            self.preferences["listen_port"] = changes["listen_port"]
        if changes.get("random_port") is True:
            self.preferences["listen_port"] = 0
        if "upnp" in changes:
            self.preferences["upnp"] = changes["upnp"]
        self.preferences["random_port"] = self.preferences["listen_port"] == 0

    def expire_sessions(self) -> None:
        """Forget every session, as a restarted qBittorrent does."""
        self.sessions.clear()


def _handler(answer: Callable[[RecordedRequest], tuple[Captured, str | None]]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._respond()

        def do_POST(self) -> None:
            self._respond()

        def do_HEAD(self) -> None:
            self._respond()

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = {key: values[0] for key, values in parse_qs(body).items()}
            request = RecordedRequest(self.command, self.path, dict(self.headers.items()), form)
            reply, json_body = answer(request)
            content = (json_body if json_body is not None else reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@contextmanager
def serving(answer: Callable[[RecordedRequest], tuple[Captured, str | None]]) -> Iterator[str]:
    """Serve ``answer`` over HTTP on 127.0.0.1; yield the base URL; stop afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answer))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class FakeGluetunServer:
    """Answers ``GET /v1/portforward`` with ``status`` and ``payload``; records headers."""

    payload: dict[str, Any] = field(default_factory=lambda: {"port": 43210})
    status: int = 200
    requests: list[RecordedRequest] = field(default_factory=list)

    def answer(self, request: RecordedRequest) -> tuple[Captured, str | None]:
        self.requests.append(request)
        if request.path != "/v1/portforward":
            return Captured(404, {}, "404 page not found"), None
        headers = {"Content-Type": "application/json"}
        return Captured(self.status, headers, json.dumps(self.payload)), None


# --- in-memory doubles for sync_once ------------------------------------------------------

GluetunAnswer = tuple[int, ...] | GluetunError


@dataclass
class FakeGluetun:
    """Answers ``forwarded_ports`` from a script (the last entry repeats)."""

    script: list[GluetunAnswer]
    calls: int = 0
    address: PublicAddress | GluetunError | None = None

    def forwarded_ports(self) -> tuple[int, ...]:
        answer = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(answer, GluetunError):
            raise answer
        return answer

    def public_address(self) -> PublicAddress | None:
        if isinstance(self.address, GluetunError):
            raise self.address
        return self.address


@dataclass
class FakeStore:
    """qBittorrent's listen preferences in memory; records writes."""

    current: ListenPreferences = field(
        default_factory=lambda: ListenPreferences(listen_port=6881, random_port=False, upnp=True)
    )
    writes: list[ListenPreferences] = field(default_factory=list)
    ignore_writes: bool = False
    read_error: QbittorrentError | None = None
    write_error: QbittorrentError | None = None

    def read_preferences(self) -> ListenPreferences:
        if self.read_error is not None:
            raise self.read_error
        return self.current

    def write_preferences(self, preferences: ListenPreferences) -> None:
        if self.write_error is not None:
            raise self.write_error
        self.writes.append(preferences)
        if not self.ignore_writes:
            self.current = preferences


@dataclass
class FakeTime:
    """A monotonic clock and a ``wait`` that advances it; ``stop_after`` waits, ask to stop."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)
    stop_after: int | None = None

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return self.stop_after is not None and len(self.waits) >= self.stop_after


def free_url() -> str:
    """Return the URL of a port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"
