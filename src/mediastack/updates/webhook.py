"""The What's Up Docker compatible webhook: WUD's HTTP trigger posts here, updates get queued.

Why the standard library's ``ThreadingHTTPServer`` and not a web framework: one route, one
method, JSON in and out. Every limit is explicit here rather than a framework default: at most
``max_connections`` requests in flight (more are answered 503 at once), a socket timeout per
connection (a slow client cannot hold a thread), the body read only after its declared
``Content-Length`` passed the cap (413; no length: 411), a per-client rate limit (429 with
``Retry-After``), and the token before anything is parsed (401).

Auth: WUD's HTTP trigger sends ``Authorization: Bearer <token>`` (``AUTH_TYPE=BEARER``,
``AUTH_BEARER=<token>``) or Basic (``AUTH_TYPE=BASIC``; the password must be the token, the
user is not checked). Compared in constant time (``hmac.compare_digest``).

Answers: 202 ``{"queued": [...], "ignored": [...]}`` when something was queued; 200 with the
same shape when everything was ignored (no update available, not our service); 400 for a body
that is not WUD's payload; 405 for anything but POST (configure WUD's method POST, its
default); 503 when the queue refuses.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mediastack.updates.model import Source
from mediastack.updates.queue import UpdateRequest
from mediastack.updates.ratelimit import SlidingWindowLimiter
from mediastack.updates.wud import PayloadError, Resolution, ServiceDirectory, parse_wud_payload

LOGGER = logging.getLogger(__name__)
MINIMUM_TOKEN_LENGTH = 16
AUTH_REALM = 'Bearer realm="mediastack", Basic realm="mediastack"'

Enqueue = Callable[[UpdateRequest], bool]


class WebhookConfigError(ValueError):
    """The webhook cannot start as configured (no token, a token too short)."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where the webhook listens and its limits."""

    bind_address: str
    port: int
    token: str
    max_body_bytes: int = 1_048_576
    requests_per_minute: int = 30
    max_connections: int = 8
    read_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if len(self.token) < MINIMUM_TOKEN_LENGTH:
            raise WebhookConfigError(
                f"the webhook token must be at least {MINIMUM_TOKEN_LENGTH} characters "
                "(e.g. `openssl rand -hex 32`)"
            )


def token_matches(authorization: str | None, token: str) -> bool:
    """Return True when an ``Authorization`` header carries ``token``, as a Bearer token or as
    a Basic password. Always compares (in constant time), also for malformed headers."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    offered = credentials.strip()
    if scheme.lower() == "basic":
        offered = _basic_password(offered)
    elif scheme.lower() != "bearer":
        offered = ""
    matches = hmac.compare_digest(offered.encode(), token.encode())
    return matches and bool(offered)


def _basic_password(encoded: str) -> str:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


class WebhookServer:
    """The webhook, served from its own threads. ``start()`` binds and returns; ``stop()``
    stops serving and closes the socket. ``enqueue`` receives one UpdateRequest per accepted
    request and returns False when it cannot take it."""

    def __init__(
        self,
        settings: WebhookSettings,
        directory: ServiceDirectory,
        enqueue: Enqueue,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._directory = directory
        self._enqueue = enqueue
        self._monotonic = monotonic
        self._limiter = SlidingWindowLimiter(settings.requests_per_minute)
        self._server: _BoundedServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Return the bound (host, port): the real port when 0 was asked for."""
        if self._server is None:
            raise RuntimeError("the webhook is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and serve in a daemon thread; raise OSError when the address is taken."""
        server = _BoundedServer(
            (self.settings.bind_address, self.settings.port), _handler_for(self)
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="mediastack-webhook", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port (requests in flight finish on their own)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def answer(self, client: str, authorization: str | None, body: bytes) -> tuple[int, Any]:
        """Decide the answer to an authorised-size POST from ``client``: (status, JSON body).
        Rate limit, then token, then payload; queue the services it names. Pure apart from
        the limiter's memory and the enqueue call."""
        admission = self._limiter.admit(client, self._monotonic())
        if not admission.allowed:
            return HTTPStatus.TOO_MANY_REQUESTS, {"retry_after": admission.retry_after_seconds}
        if not token_matches(authorization, self.settings.token):
            return HTTPStatus.UNAUTHORIZED, {"error": "a valid token is required"}
        try:
            containers = parse_wud_payload(body)
        except PayloadError as error:
            return HTTPStatus.BAD_REQUEST, {"error": str(error)}
        resolutions = [self._directory.resolve(container) for container in containers]
        return self._queue(resolutions)

    def admit(self, client: str) -> int | None:
        """Count a request that is refused before ``answer`` (411, 413, 405) against the rate
        limit; return the seconds to wait when it is over the limit, else None."""
        admission = self._limiter.admit(client, self._monotonic())
        return None if admission.allowed else admission.retry_after_seconds

    def _queue(self, resolutions: Sequence[Resolution]) -> tuple[int, Any]:
        services = sorted({r.service for r in resolutions if r.service is not None})
        ignored = [
            {"name": r.container_name, "reason": r.reason} for r in resolutions if r.service is None
        ]
        if not services:
            return HTTPStatus.OK, {"queued": [], "ignored": ignored}
        if not self._enqueue(UpdateRequest(Source.WEBHOOK, frozenset(services))):
            return HTTPStatus.SERVICE_UNAVAILABLE, {"error": "the update queue is full"}
        LOGGER.info("webhook queued an update check of %s", ", ".join(services))
        return HTTPStatus.ACCEPTED, {"queued": services, "ignored": ignored}


class _BoundedServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that serves at most ``max_connections`` requests at once."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.slots = threading.BoundedSemaphore(getattr(handler, "max_connections", 8))
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def _refuse_busy(request: socket.socket) -> None:
    with contextlib.suppress(OSError):
        request.sendall(
            b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n"
        )


def _handler_for(webhook: WebhookServer) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to ``webhook`` (http.server wants a class)."""
    settings = webhook.settings

    class Handler(_WebhookHandler):
        owner = webhook
        max_connections = settings.max_connections
        timeout = settings.read_timeout_seconds

    return Handler


class _WebhookHandler(BaseHTTPRequestHandler):
    owner: WebhookServer
    max_connections: int
    protocol_version = "HTTP/1.0"
    server_version = "mediastack-webhook"
    sys_version = ""

    def do_POST(self) -> None:
        client = str(self.client_address[0])
        length = self._declared_length()
        if length is None or length > self.owner.settings.max_body_bytes:
            wait = self.owner.admit(client)
            if wait is not None:
                self._send(HTTPStatus.TOO_MANY_REQUESTS, {"retry_after": wait})
            elif length is None:
                self._send(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is required"})
            else:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
            return
        try:
            body = self.rfile.read(length)
        except OSError:
            return  # the client went away or was too slow: nothing to answer
        status, answer = self.owner.answer(client, self.headers.get("Authorization"), body)
        self._send(status, answer)

    def do_GET(self) -> None:
        self._not_allowed()

    def do_PUT(self) -> None:
        self._not_allowed()

    def do_DELETE(self) -> None:
        self._not_allowed()

    def do_PATCH(self) -> None:
        self._not_allowed()

    def _not_allowed(self) -> None:
        wait = self.owner.admit(str(self.client_address[0]))
        if wait is not None:
            self._send(HTTPStatus.TOO_MANY_REQUESTS, {"retry_after": wait})
            return
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST only (WUD's default method)"})

    def _declared_length(self) -> int | None:
        if self.headers.get("Transfer-Encoding"):
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        return length if length >= 0 else None

    def _send(self, status: int, answer: Any) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", AUTH_REALM)
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "POST")
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            self.send_header("Retry-After", str(answer.get("retry_after", 60)))
        try:
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the caller left before the answer
            LOGGER.info("webhook %s: gone before the answer", self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        LOGGER.info("webhook %s: %s", self.client_address[0], format % args)
