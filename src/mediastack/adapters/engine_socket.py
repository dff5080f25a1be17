"""The Docker engine API over its socket, with the standard library's ``socket`` and ``h11``:
the supervisor's engine access (container inspection, autoheal's restart, the events stream),
and the update pipeline's way to the image store (``engine_images``, through ``request``).

Why not the docker SDK (``mediastack.adapters.engine.DockerEngine``, which every command
uses): it brings requests, urllib3 and the ssl module, about 14 MB of resident memory that the
supervisor, running for months, would hold for good; issue 3 gives the idle supervisor 45 MB
(bench/README.md, "Supervisor: idle footprint"). httpx over the socket was measured too: 8 MB
(13 MB with the command-line extras it imports when click and rich are installed, as they are
with typer), and ``http.client`` imports ssl (4 MB). The supervisor needs four plain requests,
so they are made here on a socket, and the HTTP/1.1 is h11's (the pure-Python protocol state
machine under httpcore and httpx; no I/O, no ssl): 0.4 MB of its own, as most of what it
imports (dataclasses, inspect) is loaded anyway. Measured in fresh interpreters (VmRSS,
median): bare 13.6 MB, with json and socket 14.2 MB, and dataclasses and inspect 15.2 MB, and
h11 15.6 MB; importing this module 17.1 MB with the hand-written parser h11 replaced, 17.3 MB
with h11; the daemon built for a default config 35.3 MB, then 35.6 MB. One connection per
request (``Connection: close``), JSON in, parsed into the same typed models as the SDK's path
(``parse_container``).

Supported: ``DOCKER_HOST`` ``unix://PATH`` (default ``/var/run/docker.sock``) and
``tcp://HOST[:PORT]`` without TLS (the ops stack's socket proxy, ``tcp://socket-proxy:2375``).
For anything else (TLS, ``ssh://``) ``endpoint_from_environment`` returns None and the caller
uses the SDK. Failures leave as ``EngineUnreachableError`` (no engine, or an answer that is not
HTTP or is cut short) or ``EngineError`` (the engine refused), as from the SDK.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import h11

from mediastack.adapters.engine import (
    DEFAULT_ENGINE_TIMEOUT_SECONDS,
    ContainerInfo,
    Filters,
    network_namespace,
    parse_container,
    unreachable,
)
from mediastack.adapters.errors import EngineError

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_TCP_PORT = 2375
UNIX_HOST_HEADER = "docker"
RECEIVE_BYTES = 65536
"""At most this much per ``recv``: a whole answer in one read, mostly (an inspection is about
5 kB), while an event is handed on as soon as its bytes arrive."""
NOT_FOUND = 404
MINIMUM_ERROR_STATUS = 400


@dataclass(frozen=True)
class EngineEndpoint:
    """Where the engine listens: a unix socket, or a TCP host and port (plain HTTP)."""

    socket_path: str | None = None
    host: str | None = None
    port: int = DEFAULT_TCP_PORT

    def describe(self) -> str:
        if self.socket_path is not None:
            return f"unix://{self.socket_path}"
        return f"tcp://{self.host}:{self.port}"

    @property
    def host_header(self) -> str:
        if self.host is None:
            return UNIX_HOST_HEADER
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{host}:{self.port}"

    def open(self, timeout: float | None) -> socket.socket:
        """Return a connected socket; raise OSError."""
        if self.socket_path is not None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.settimeout(timeout)
                connection.connect(self.socket_path)
            except OSError:
                connection.close()
                raise
            return connection
        assert self.host is not None
        return socket.create_connection((self.host, self.port), timeout=timeout)


def endpoint_from_environment(environment: Mapping[str, str]) -> EngineEndpoint | None:
    """Return the engine ``DOCKER_HOST`` names, as the docker CLI reads it; None when reaching
    it needs what this client does not do (TLS: ``DOCKER_TLS_VERIFY`` or
    ``DOCKER_CERT_PATH`` set; a scheme other than unix:// and tcp://)."""
    if environment.get("DOCKER_TLS_VERIFY") or environment.get("DOCKER_CERT_PATH"):
        return None
    address = urlsplit(environment.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}")
    if address.scheme == "unix":
        return EngineEndpoint(socket_path=address.path or DEFAULT_SOCKET)
    if address.scheme in ("tcp", "http") and address.hostname:
        try:
            port = address.port or DEFAULT_TCP_PORT
        except ValueError:
            return None
        return EngineEndpoint(host=address.hostname, port=port)
    return None


# -- HTTP/1.1, through h11 ----------------------------------------------------------------------


class _Exchange:
    """One request and its answer on a connection of its own, h11 doing the HTTP/1.1. Whatever
    breaks the conversation (the socket, an answer that is not HTTP or is cut short) leaves as
    EngineUnreachableError."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._protocol = h11.Connection(h11.CLIENT)
        self.headers: list[tuple[bytes, bytes]] = []
        """The answer's headers (names lower-case), once ``ask`` returned."""

    def ask(self, method: str, path: str, host: str) -> int:
        """Send a request without a body; return the answer's status once its head is in."""
        with _as_unreachable():
            self._connection.sendall(self._request(method, path, host))
            while True:
                event = self._next_event()
                if isinstance(event, h11.Response):
                    self.headers = list(event.headers)
                    return event.status_code
                if not isinstance(event, h11.InformationalResponse):  # "100 Continue" and kin
                    raise _unexpected(event)

    def body(self) -> Iterator[bytes]:
        """Yield the answer's body as it arrives, however it is framed (chunked, a
        Content-Length, up to the end of the connection: h11 tells the end)."""
        with _as_unreachable():
            while not isinstance(event := self._next_event(), h11.EndOfMessage):
                if not isinstance(event, h11.Data):
                    raise _unexpected(event)
                yield bytes(event.data)

    def _request(self, method: str, path: str, host: str) -> bytes:
        # Connection: close, so that the engine ends the connection and nothing is kept open
        # between requests; a POST says its empty body's length, as RFC 9110 asks of a client.
        headers = [("Host", host), ("User-Agent", "mediastack"), ("Connection", "close")]
        if method == "POST":
            headers.append(("Content-Length", "0"))
        request = self._protocol.send(h11.Request(method=method, target=path, headers=headers))
        return request + self._protocol.send(h11.EndOfMessage())

    def _next_event(self) -> h11.Event:
        while True:
            event = self._protocol.next_event()
            if isinstance(event, h11.Event):
                return event
            if event is not h11.NEED_DATA:  # PAUSED: only after the answer's end, never read
                raise _unexpected(event)
            # b"" at the end of the connection: h11 then ends a body read to the close, and
            # raises RemoteProtocolError for an answer cut short.
            self._protocol.receive_data(self._connection.recv(RECEIVE_BYTES))


@contextlib.contextmanager
def _as_unreachable() -> Iterator[None]:
    """Turn socket errors (timeouts included) and h11's protocol errors into the
    EngineUnreachableError the SDK's path raises for them."""
    try:
        yield
    except (OSError, h11.ProtocolError) as error:
        raise unreachable(error) from error


def _unexpected(event: object) -> h11.RemoteProtocolError:
    return h11.RemoteProtocolError(f"unexpected in the engine's answer: {event!r}")


def json_lines(chunks: Iterator[bytes]) -> Iterator[Any]:
    """Given a streamed body of JSON objects, one a line (``/events``), yield each decoded,
    as its line completes."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.strip():
                yield json.loads(line)
    if pending.strip():
        yield json.loads(pending)


def encode_filters(filters: Filters) -> str:
    """Return engine filters as the API takes them: JSON of name -> list of values."""
    listed = {
        name: [values] if isinstance(values, str) else list(values)
        for name, values in filters.items()
    }
    return json.dumps(listed)


def error_message(status: int, body: bytes) -> str:
    """Return the engine's message for a failed request: its JSON ``message`` (what the SDK
    calls the error's explanation), else the body, else the status."""
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) else body.decode(errors="replace")
    return text.strip()[:500] or f"the engine answered {status}"


# -- the client ----------------------------------------------------------------------------------


class SocketEngine:
    """The engine, as the supervisor uses it: a ``ContainerReader`` and a ``ContainerStarter``
    (the cascade's second step, and removing what a failed compose call left), plus
    ``restart`` (autoheal) and ``events``. Thread-safe: every request has its own connection."""

    def __init__(
        self,
        endpoint: EngineEndpoint,
        api_version: str,
        timeout_seconds: float = DEFAULT_ENGINE_TIMEOUT_SECONDS,
    ) -> None:
        self.endpoint = endpoint
        self.api_version = api_version
        self._timeout = timeout_seconds

    @classmethod
    def connect(
        cls, endpoint: EngineEndpoint, timeout_seconds: float = DEFAULT_ENGINE_TIMEOUT_SECONDS
    ) -> SocketEngine:
        """Ask the engine its API version (as the SDK does); raise EngineUnreachableError
        when there is no engine to talk to."""
        status, body = _request(endpoint, "GET", "/version", timeout_seconds)
        version = _json_object(status, body).get("ApiVersion")
        if not isinstance(version, str) or not version:
            raise EngineError(f"the engine at {endpoint.describe()} names no API version")
        return cls(endpoint, version, timeout_seconds)

    def server_version(self) -> str:
        """Return the engine's version, e.g. ``20.10.24+dfsg1``."""
        return str(self._get("/version").get("Version"))

    def inspect_containers(self, filters: Filters) -> list[ContainerInfo]:
        """Return every container (running or not) matching ``filters``, fully inspected; one
        removed between listing and inspecting is left out."""
        query = {"all": "1", **({"filters": encode_filters(filters)} if filters else {})}
        summaries = self._get(f"/containers/json?{urlencode(query)}")
        containers = []
        for summary in summaries:
            raw = self._inspect_or_none(str(summary["Id"]))
            if raw is not None:
                containers.append(parse_container(raw))
        return containers

    def network_namespace(self, pid: int) -> str | None:
        return network_namespace(pid)

    def start(self, container_id: str) -> None:
        """Start a created (or stopped) container; raise EngineError when the engine refuses
        (e.g. "cannot join network of a non running container")."""
        self._post(f"/containers/{quote(container_id)}/start", self._timeout)

    def remove(self, container_id: str) -> None:
        """Remove a container that does not run (a half-made one compose left); its volumes
        are kept (a replacement may share them with the container it replaces). Raise
        EngineError when the engine refuses (e.g. it runs)."""
        status, body = self.request("DELETE", f"/containers/{quote(container_id)}")
        if status >= MINIMUM_ERROR_STATUS and status != NOT_FOUND:
            raise EngineError(error_message(status, body))

    def restart(self, container_id: str, stop_timeout_seconds: int) -> None:
        """Restart a container in place (SIGTERM, SIGKILL after ``stop_timeout_seconds``);
        raise EngineError when the engine refuses (e.g. the container is gone)."""
        path = f"/containers/{quote(container_id)}/restart?t={stop_timeout_seconds}"
        self._post(path, self._timeout + stop_timeout_seconds)

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        """Make one request of ``method`` (GET, POST, DELETE; no body) on ``path`` (without
        the API version: it is prefixed); return the status and the whole body, whatever the
        status. Raise EngineUnreachableError when the engine cannot be reached or answers
        something that is not HTTP."""
        return _request(self.endpoint, method, self._path(path), self._timeout)

    def events(self, filters: Filters, since: str | None = None) -> EventSubscription:
        """Open the events stream (no read timeout: it may stay silent for days); with
        ``since`` (``SECONDS.NANOSECONDS``, the engine's clock) the engine first replays the
        events it still holds from then on (``since`` included)."""
        query = {"filters": encode_filters(filters), **({"since": since} if since else {})}
        return EventSubscription(self.endpoint, self._path(f"/events?{urlencode(query)}"))

    def _inspect_or_none(self, container_id: str) -> Mapping[str, Any] | None:
        path = self._path(f"/containers/{quote(container_id)}/json")
        status, body = _request(self.endpoint, "GET", path, self._timeout)
        if status == NOT_FOUND:
            return None
        return _json_object(status, body)

    def _get(self, path: str) -> Any:
        status, body = _request(self.endpoint, "GET", self._path(path), self._timeout)
        if status >= MINIMUM_ERROR_STATUS:
            raise EngineError(error_message(status, body))
        return _json(body)

    def _post(self, path: str, timeout: float) -> None:
        # As the SDK: only 4xx and 5xx are errors (``start`` answers 304 when running).
        status, body = _request(self.endpoint, "POST", self._path(path), timeout)
        if status >= MINIMUM_ERROR_STATUS:
            raise EngineError(error_message(status, body))

    def _path(self, path: str) -> str:
        return f"/v{self.api_version}{path}"


class EventSubscription:
    """An open ``/events`` stream: iterate for decoded events; ``close`` from another thread
    ends the iteration (the socket is shut down under the reader). ``engine_time_nano`` is
    the engine's clock when it opened (its answer's ``Date``, to the second), None when the
    answer has no readable one."""

    def __init__(self, endpoint: EngineEndpoint, path: str) -> None:
        with _as_unreachable():
            self._connection = endpoint.open(None)
        self._lock = threading.Lock()
        self._closed = False
        self._exchange = _Exchange(self._connection)
        try:
            status = self._exchange.ask("GET", path, endpoint.host_header)
            if status >= MINIMUM_ERROR_STATUS:
                raise EngineError(error_message(status, b"".join(self._exchange.body())))
        except BaseException:  # the connection is closed; the error goes on
            self.close()
            raise
        self.engine_time_nano = date_nanoseconds(dict(self._exchange.headers).get(b"date"))

    def __iter__(self) -> Iterator[Any]:
        return json_lines(self._exchange.body())

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(OSError):
            self._connection.shutdown(socket.SHUT_RDWR)
        self._connection.close()


def date_nanoseconds(value: bytes | None) -> int | None:
    """Given an HTTP ``Date`` header (``Wed, 02 Dec 2026 05:10:43 GMT``), return it as
    nanoseconds since the epoch; None when missing or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError):
        return None
    return int(moment.timestamp()) * 1_000_000_000


def _request(endpoint: EngineEndpoint, method: str, path: str, timeout: float) -> tuple[int, bytes]:
    """Make one request; return the status and the whole body. Raise EngineUnreachableError
    when the engine cannot be reached or answers something unreadable."""
    with _as_unreachable(), endpoint.open(timeout) as connection:
        exchange = _Exchange(connection)
        status = exchange.ask(method, path, endpoint.host_header)
        return status, b"".join(exchange.body())


def _json_object(status: int, body: bytes) -> dict[str, Any]:
    if status >= MINIMUM_ERROR_STATUS:
        raise EngineError(error_message(status, body))
    value = _json(body)
    if not isinstance(value, dict):
        raise EngineError("unexpected engine answer: not a JSON object")
    return value


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise EngineError(f"unexpected engine answer: {error}") from None
