"""Local stand-ins of the push monitors the supervisor pings, for tests.

Neither service can run here, so each stand-in follows its ping contract as the service's own
source implements it (the facts and versions are in
``mediastack.supervisor.runtime.push_monitors``):

- ``HealthchecksStandIn``: healthchecks' ``hc/api/urls.py`` and ``views.ping`` /
  ``ping_by_slug``, at the root as on hc-ping.com (``prefix=""``) or under ``/ping`` as
  self-hosted: ``/<uuid>`` and ``/<ping-key>/<slug>``, each with ``/fail``, ``/start``,
  ``/log`` or ``/<exit status>``; HEAD, GET and POST. A known check: ``200 OK`` with
  ``Ping-Body-Limit``, the body kept up to that limit; an unknown one (or an upper-case UUID,
  which Django's uuid converter does not route): ``404 not found``; an exit status over 255
  or a slug with capitals: ``400 invalid url format``. A check made POST-only records a GET
  as ``ign`` (ignored), as ``check.methods == "POST"`` does.
- ``KumaStandIn``: Uptime Kuma's ``/api/push/:pushToken`` (``server/routers/api-router.js``):
  GET only (1.23 routes GET; 2.x every method: a client that works with both uses GET; a
  POST is Express's own ``404 Cannot POST``). ``status`` ``up`` is up, anything else down
  (default up); ``msg`` defaults to ``OK``; ``ping`` is JavaScript's ``parseFloat`` of it or
  null, and out of 0..1e11 is refused. A known, active token: ``200 {"ok":true}``; else
  ``404 {"ok":false,"msg":"Monitor not found or not active."}``.
- ``GenericReceiver``: any GET is ``200 ok`` (a plain "ping this URL" monitor).

Every stand-in records what it took, can answer late (``delay_seconds``: the answer is held
back, the connection left open) and can stop listening and come back on the same port.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

POLL_SECONDS = 0.05
PING_BODY_LIMIT = 100_000
"""hc-ping.com keeps the first 100 kB of a ping's body (self-hosted default: 10 000 bytes)."""
MAX_PING_MS = 100_000_000_000
KUMA_NOT_FOUND = "Monitor not found or not active."
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SLUG = r"[-a-zA-Z0-9_]+"
_ACTION = r"(?:/(?P<action>fail|start|log|[0-9]+))?"
_JS_FLOAT = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class HealthchecksPing:
    """One ping a check took: ``check`` is its UUID or ``<ping-key>/<slug>``."""

    check: str
    action: str  # success, fail, start, log, ign
    method: str
    body: str
    exit_status: int | None


@dataclass(frozen=True)
class KumaBeat:
    """One heartbeat a push monitor took."""

    token: str
    up: bool
    message: str
    ping: float | None


@dataclass(frozen=True)
class GenericHit:
    """One GET a generic receiver took."""

    path: str
    authorization: str | None


class _StandIn:
    """A threaded HTTP server on 127.0.0.1 (see the module docstring); a context manager."""

    name: ClassVar[str] = "stand-in"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delay_seconds = 0.0
        self.requests = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (the first time on a free port, then on the same one)."""
        self._stopping.clear()
        server = self._bind()
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=self.name,
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop listening and free the port (connections are refused); a held answer is
        dropped."""
        self._stopping.set()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    go_down = stop

    def come_back(self) -> None:
        """Listen again, on the same port as before."""
        self.start()

    def _bind(self, attempts: int = 50) -> ThreadingHTTPServer:
        for _ in range(attempts - 1):
            try:
                return self._new_server()
            except OSError:  # a port just released may still be held for a moment
                time.sleep(0.02)
        return self._new_server()

    def _new_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        return server

    def hold_back(self) -> bool:
        """Wait ``delay_seconds`` before answering; return False when stopped meanwhile."""
        with self.lock:
            self.requests += 1
            delay = self.delay_seconds
        return not (delay and self._stopping.wait(delay))

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _text(status: int, text: str, *headers: tuple[str, str]) -> Answer:
    return Answer(status, text.encode(), "text/plain; charset=utf-8", headers)


def _json(status: int, document: object) -> Answer:
    return Answer(status, json.dumps(document).encode(), "application/json; charset=utf-8")


class HealthchecksStandIn(_StandIn):
    """healthchecks' ping endpoints (root as hc-ping.com, or under ``prefix``)."""

    name = "healthchecks-stand-in"

    def __init__(
        self,
        uuids: tuple[str, ...] = (),
        slugs: tuple[tuple[str, str], ...] = (),
        post_only: tuple[str, ...] = (),
        prefix: str = "",
    ) -> None:
        super().__init__()
        self.uuids, self.slugs, self.post_only = set(uuids), set(slugs), set(post_only)
        self.prefix = prefix
        self.pings: list[HealthchecksPing] = []
        self._routes = (
            re.compile(rf"^{prefix}/(?P<uuid>{_UUID}){_ACTION}/?$"),
            re.compile(rf"^{prefix}/(?P<key>{_SLUG})/(?P<slug>{_SLUG}){_ACTION}/?$"),
        )

    def url(self, check: str) -> str:
        """The ping URL of ``check`` (a UUID, or ``<ping-key>/<slug>``)."""
        return f"{self.base_url()}{self.prefix}/{check}"

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        if method not in ("GET", "HEAD", "POST"):
            return _text(405, "")
        path = urlsplit(target).path
        found = self._routes[0].match(path) or self._routes[1].match(path)
        if found is None:
            return _text(404, "not found")
        groups = found.groupdict()
        action = groups["action"] or "success"
        exit_status = int(action) if action.isdigit() else None
        if exit_status is not None and exit_status > 255:
            return _text(400, "invalid url format")
        if groups.get("slug") is not None and groups["slug"] != groups["slug"].lower():
            return _text(400, "invalid url format")
        check = groups.get("uuid") or f"{groups['key']}/{groups['slug']}"
        if check not in self.uuids and (groups.get("key"), groups.get("slug")) not in self.slugs:
            return _text(404, "not found")
        if exit_status is not None:
            action = "fail" if exit_status > 0 else "success"
        if check in self.post_only and method != "POST":
            action = "ign"
        text = body[:PING_BODY_LIMIT].decode("utf-8", errors="replace")
        with self.lock:
            self.pings.append(HealthchecksPing(check, action, method, text, exit_status))
        return _text(200, "OK", ("Ping-Body-Limit", str(PING_BODY_LIMIT)))


class KumaStandIn(_StandIn):
    """Uptime Kuma's push endpoint for the ``tokens`` of its active push monitors."""

    name = "kuma-stand-in"
    _ROUTE = re.compile(r"^/api/push/(?P<token>[^/]+)/?$")

    def __init__(self, tokens: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.tokens = set(tokens)
        self.beats: list[KumaBeat] = []

    def url(self, token: str, query: str = "status=up&msg=OK&ping=") -> str:
        """The push URL as Kuma's UI shows it."""
        return f"{self.base_url()}/api/push/{token}{f'?{query}' if query else ''}"

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        found = self._ROUTE.match(parts.path)
        if method != "GET" or found is None:
            return Answer(404, f"Cannot {method} {parts.path}".encode(), "text/html")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        ping = _parse_float(query.get("ping", ""))
        if ping is not None and not 0 <= ping <= MAX_PING_MS:
            message = f"Invalid ping value. Must be between 0 and {MAX_PING_MS} ms."
            return _json(404, {"ok": False, "msg": message})
        if found["token"] not in self.tokens:
            return _json(404, {"ok": False, "msg": KUMA_NOT_FOUND})
        beat = KumaBeat(
            found["token"], (query.get("status") or "up") == "up", query.get("msg") or "OK", ping
        )
        with self.lock:
            self.beats.append(beat)
        return _json(200, {"ok": True})


def _parse_float(text: str) -> float | None:
    """JavaScript's ``parseFloat(text) || null``."""
    found = _JS_FLOAT.match(text)
    value = float(found[0]) if found else 0.0
    return value or None


class GenericReceiver(_StandIn):
    """Any GET is a ping: ``200 ok``."""

    name = "generic-receiver"

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[GenericHit] = []

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        if method != "GET":
            return _text(405, "method not allowed")
        with self.lock:
            self.hits.append(GenericHit(urlsplit(target).path, headers.get("authorization")))
        return _text(200, "ok")


def _handler_for(stand_in: _StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not stand_in.hold_back():
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = stand_in.answer(self.command, self.path, headers, body)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)
            except OSError:  # the client gave up (its timeout) before the answer
                pass

        do_GET = do_POST = do_HEAD = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
