"""The What's Up Docker compatible webhook: WUD's HTTP trigger posts here, updates get queued.

Why no web framework, and not ``http.server`` either: one route, one method, JSON in and out,
and every limit must be ours (``webhook_http``). Each request has one deadline
(``request_deadline_seconds``, default 10 s) for its head and body together, enforced across
reads; a client still sending at its deadline is answered 408 and dropped, so slow clients
cannot keep the ``max_connections`` slots. A connection beyond the slots waits (in the
listen backlog) for one to free, at most one deadline, then gets 503. The order is: head, rate
limit (429 with ``Retry-After``), method (405), token (401, at once: not a body byte is read
without it), length (411 without ``Content-Length``, 413 over ``max_body_bytes``), body, payload.

Auth: WUD's HTTP trigger sends ``Authorization: Bearer <token>`` (``AUTH_TYPE=BEARER``,
``AUTH_BEARER=<token>``) or Basic (``AUTH_TYPE=BASIC``; the password must be the token, the
user is not checked). Compared in constant time (``_operator._compare_digest``, what
``hmac.compare_digest`` is: ``hmac`` itself loads OpenSSL, 3.6 MB, into the daemon).

Answers: 202 ``{"queued": [...], "ignored": [...]}`` when something was queued; 200 with the
same shape when everything was ignored (no update available, not our service); 400 for a
request that is not HTTP or a body that is not WUD's payload; 405 for anything but POST
(configure WUD's method POST, its default); 503 when the queue refuses.

The same listener serves the supervisor's read-only pages: given ``pages`` (its status
routes), a GET is handed to them after its own rate limit (``read_requests_per_minute``, a
window apart from the POSTs') and before any body is read (a GET's body is never read); they
check their own token. Without ``pages`` a GET is a 405. With the update webhook off (no
``token``) the listener serves the pages only and a POST is a 404 that says how to switch it
on. A page whose body is a
``StreamBody`` (server-sent events) keeps its connection, and so one slot, for as long as that
body bounds itself: the status stream takes at most a few of the slots, each for minutes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import socketserver
import threading
import time
from _operator import _compare_digest as compare_digest
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol, runtime_checkable

from mediastack.updates.model import Source
from mediastack.updates.queue import UpdateRequest
from mediastack.updates.ratelimit import SlidingWindowLimiter
from mediastack.updates.webhook_http import (
    ClientGoneError,
    Deadline,
    DeadlineExpiredError,
    MalformedRequestError,
    RequestHead,
    StreamChannel,
    parse_head,
    receive_body,
    receive_head,
    response_bytes,
    send_and_close,
    stream_head_bytes,
)
from mediastack.updates.wud import PayloadError, Resolution, ServiceDirectory, parse_wud_payload

LOGGER = logging.getLogger(__name__)
MINIMUM_TOKEN_LENGTH = 16
# Basic first: Chromium reads only the first challenge of a header line, and prompts for none
# when that one is Bearer (a phone's browser then shows the 401 body instead of a log-in).
AUTH_REALM = 'Basic realm="mediastack", Bearer realm="mediastack"'

Enqueue = Callable[[UpdateRequest], bool]


class WebhookConfigError(ValueError):
    """The webhook cannot start as configured (no token, a token too short)."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where the webhook listens and its limits."""

    bind_address: str
    port: int
    # None: the update webhook is off and only the read-only pages are served (a POST is 404).
    token: str | None
    max_body_bytes: int = 1_048_576
    requests_per_minute: int = 30
    # GETs (the pages, a scrape, a dashboard's poll) have their own window, so a dashboard
    # cannot use up WUD's.
    read_requests_per_minute: int = 120
    max_connections: int = 8
    # One deadline for the whole request (head and body), not a timeout per read.
    request_deadline_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MINIMUM_TOKEN_LENGTH:
            raise WebhookConfigError(
                f"the webhook token must be at least {MINIMUM_TOKEN_LENGTH} characters "
                "(e.g. `openssl rand -hex 32`)"
            )


# Set in the supervisor service's environment by the catalogue (the reason is there).
CONTAINER_BIND_VARIABLE = "MEDIASTACK_WEBHOOK_BIND_ADDRESS"
HOST_BIND_ADDRESS = "127.0.0.1"


def webhook_bind_address(configured: str | None, environment: Mapping[str, str]) -> str:
    """Return where the webhook listens: the configured address; else the one the
    supervisor's container is given; else, in a daemon run on a host, 127.0.0.1 (plain HTTP on
    every host interface only when asked for)."""
    if configured is not None:
        return configured
    return environment.get(CONTAINER_BIND_VARIABLE) or HOST_BIND_ADDRESS


def token_matches(authorization: str | None, token: str) -> bool:
    """Return True when an ``Authorization`` header carries ``token``, as a Bearer token or as
    a Basic password. Always compares (in constant time), also for malformed headers."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    offered = credentials.strip()
    if scheme.lower() == "basic":
        offered = _basic_password(offered)
    elif scheme.lower() != "bearer":
        offered = ""
    matches = compare_digest(offered.encode(), token.encode())
    return matches and bool(offered)


def _basic_password(encoded: str) -> str:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


@dataclass(frozen=True)
class Answer:
    """What to send back: a status, its body (JSON, or bytes sent as they are with the
    ``Content-Type`` in ``headers``), and any extra headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class StreamBody(Protocol):
    """An answer's body that is written for as long as it likes (server-sent events): it
    bounds its own lifetime, and ends when the channel says the client or server is gone."""

    def run(self, channel: StreamChannel) -> None: ...


class Pages(Protocol):
    """Read-only GET routes served on the webhook's listener."""

    def answer(self, head: RequestHead) -> Answer: ...


@dataclass(frozen=True)
class ReadBody:
    """The head passed every check: read ``length`` body bytes, then decide."""

    length: int


def _refusal(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


def _too_many(retry_after_seconds: int) -> Answer:
    return Answer(
        HTTPStatus.TOO_MANY_REQUESTS,
        {"retry_after": retry_after_seconds},
        {"Retry-After": str(retry_after_seconds)},
    )


class WebhookServer:
    """The webhook, served from its own threads. ``start()`` binds and returns; ``stop()``
    stops serving and closes the socket. ``enqueue`` (None: the webhook is off, a POST is
    404) receives one UpdateRequest per accepted request and returns False when it cannot
    take it."""

    def __init__(
        self,
        settings: WebhookSettings,
        directory: ServiceDirectory,
        enqueue: Enqueue | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        pages: Pages | None = None,
    ) -> None:
        self.settings = settings
        self._pages = pages
        self._directory = directory
        self._enqueue = enqueue
        self._monotonic = monotonic
        self._limiter = SlidingWindowLimiter(settings.requests_per_minute)
        self._read_limiter = SlidingWindowLimiter(settings.read_requests_per_minute)
        self._server: _SlotServer | None = None
        self._thread: threading.Thread | None = None
        # Set by stop(): open streams end within a second (a plain request by its deadline).
        self.stopping = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        """Return the bound (host, port): the real port when 0 was asked for."""
        if self._server is None:
            raise RuntimeError("the webhook is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and serve in a daemon thread; raise OSError when the address is taken."""
        server = _SlotServer(self)
        self.stopping.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="mediastack-webhook", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port (requests in flight end by their deadline)."""
        self.stopping.set()
        if self._server is not None:
            self._server.stopping.set()
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def decide_head(self, client: str, head: RequestHead) -> Answer | ReadBody:
        """Decide on a request from its head alone: an answer, or how many body bytes to read.
        Pure apart from the limiter's memory; the token is checked before any body is read."""
        reading = head.method == "GET" and self._pages is not None
        limiter = self._read_limiter if reading else self._limiter
        admission = limiter.admit(client, self._monotonic())
        if not admission.allowed:
            return _too_many(admission.retry_after_seconds)
        if reading and self._pages is not None:
            return self._pages.answer(head)
        if head.method != "POST":
            allowed = "GET, POST" if self._pages is not None else "POST"
            return Answer(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"error": "POST only (WUD's default method)"},
                {"Allow": allowed},
            )
        if self.settings.token is None:
            return _refusal(
                HTTPStatus.NOT_FOUND,
                "the update webhook is off: set updates.webhook.enabled: true and a token",
            )
        if not token_matches(head.header("Authorization"), self.settings.token):
            return Answer(
                HTTPStatus.UNAUTHORIZED,
                {"error": "a valid token is required"},
                {"WWW-Authenticate": AUTH_REALM},
            )
        length = _declared_length(head)
        if length is None:
            return _refusal(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        if length > self.settings.max_body_bytes:
            return _refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        return ReadBody(length)

    def decide_body(self, body: bytes) -> Answer:
        """Decide on an authorised body: queue the services the payload names."""
        try:
            containers = parse_wud_payload(body)
        except PayloadError as error:
            return _refusal(HTTPStatus.BAD_REQUEST, str(error))
        resolutions = [self._directory.resolve(container) for container in containers]
        return self._queue(resolutions)

    def serve_connection(self, connection: socket.socket, client: str) -> None:
        """Serve one request on ``connection`` within one deadline, answer, and close."""
        deadline = Deadline(self.settings.request_deadline_seconds, self._monotonic)
        answer, target = self._answer_connection(connection, client, deadline)
        if answer is not None and isinstance(answer.body, StreamBody):
            self._stream(connection, answer, answer.body)
            LOGGER.debug("webhook %s: %s -> stream ended", client, target)
        elif answer is not None:
            body = answer.body
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **answer.headers}
            send_and_close(connection, response_bytes(answer.status, payload, headers), deadline)
            # A page read that worked (a Prometheus scrape, a dashboard's poll) is routine:
            # logged only with --verbose, so the log is not one line per scrape.
            routine = target.startswith("GET ") and answer.status < HTTPStatus.BAD_REQUEST
            LOGGER.log(
                logging.DEBUG if routine else logging.INFO,
                "webhook %s: %s -> %d", client, target, answer.status,
            )  # fmt: skip
        else:
            with contextlib.suppress(OSError):
                connection.close()

    def _stream(self, connection: socket.socket, answer: Answer, body: StreamBody) -> None:
        """Send the head, hand the connection to ``body`` until it ends, then close."""
        channel = StreamChannel(connection, self.stopping)
        try:
            channel.send(stream_head_bytes(answer.status, answer.headers))
            body.run(channel)  # always run: it frees what it holds (a failed send ends it)
        finally:
            with contextlib.suppress(OSError):
                connection.close()

    def _answer_connection(
        self, connection: socket.socket, client: str, deadline: Deadline
    ) -> tuple[Answer | None, str]:
        target = "(no request line)"
        try:
            raw_head, early_body = receive_head(connection, deadline)
            head = parse_head(raw_head)
            target = f"{head.method} {head.target[:80]}"
            verdict = self.decide_head(client, head)
            if isinstance(verdict, Answer):
                return verdict, target
            body = receive_body(connection, deadline, verdict.length, early_body)
        except MalformedRequestError as error:
            return _refusal(HTTPStatus.BAD_REQUEST, str(error)), target
        except DeadlineExpiredError:
            return _refusal(HTTPStatus.REQUEST_TIMEOUT, "the request took too long"), target
        except (ClientGoneError, OSError):
            return None, target  # the client went away: nothing to answer
        return self.decide_body(body), target

    def _queue(self, resolutions: Sequence[Resolution]) -> Answer:
        services = sorted({r.service for r in resolutions if r.service is not None})
        ignored = [
            {"name": r.container_name, "reason": r.reason} for r in resolutions if r.service is None
        ]
        if not services:
            return Answer(HTTPStatus.OK, {"queued": [], "ignored": ignored})
        request = UpdateRequest(Source.WEBHOOK, frozenset(services))
        if self._enqueue is None or not self._enqueue(request):
            return _refusal(HTTPStatus.SERVICE_UNAVAILABLE, "the update queue is full")
        LOGGER.info("webhook queued an update check of %s", ", ".join(services))
        return Answer(HTTPStatus.ACCEPTED, {"queued": services, "ignored": ignored})


def _declared_length(head: RequestHead) -> int | None:
    if head.header("Transfer-Encoding"):
        return None
    try:
        length = int(head.header("Content-Length") or "")
    except ValueError:
        return None
    return length if length >= 0 else None


BUSY_ANSWER = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n"
# How often a wait for a slot looks whether the server is stopping.
SLOT_POLL_SECONDS = 0.2


class _SlotServer(socketserver.ThreadingTCPServer):
    """At most ``max_connections`` requests in flight. The accept loop itself waits for a
    slot, so connections beyond them queue in the kernel's listen backlog (no thread each);
    since every request ends by its deadline, a slot frees within one deadline."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, webhook: WebhookServer) -> None:
        settings = webhook.settings
        self.webhook = webhook
        self.slots = threading.BoundedSemaphore(settings.max_connections)
        self.stopping = threading.Event()
        if ":" in settings.bind_address:
            self.address_family = socket.AF_INET6
        super().__init__((settings.bind_address, settings.port), socketserver.BaseRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._wait_for_slot():
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.sendall(BUSY_ANSWER)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def _wait_for_slot(self) -> bool:
        deadline = Deadline(self.webhook.settings.request_deadline_seconds)
        while not self.stopping.is_set():
            if self.slots.acquire(timeout=min(SLOT_POLL_SECONDS, deadline.remaining())):
                return True
            if deadline.remaining() <= 0:
                return False
        return False

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.webhook.serve_connection(request, str(client_address[0]))

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()
