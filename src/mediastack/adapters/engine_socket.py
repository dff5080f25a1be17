"""The Docker engine API over its socket, with the standard library alone: the supervisor's
engine access (container inspection, autoheal's restart, the events stream).

Why not the docker SDK (``mediastack.adapters.engine.DockerEngine``, which every command
uses): it brings requests, urllib3 and the ssl module, about 14 MB of resident memory that the
supervisor, running for months, would hold for good; issue 3 gives the idle supervisor 45 MB
(bench/README.md, "Supervisor: idle footprint"). httpx over the socket was measured too: 8 MB
(13 MB with the command-line extras it imports when click and rich are installed, as they are
with typer), and ``http.client`` imports ssl (4 MB). The supervisor needs four plain HTTP/1.1
requests, so they are made here on a socket: one connection per request (``Connection:
close``), JSON in, parsed into the same typed models as the SDK's path (``parse_container``).

Supported: ``DOCKER_HOST`` ``unix://PATH`` (default ``/var/run/docker.sock``) and
``tcp://HOST[:PORT]`` without TLS (the ops stack's socket proxy, ``tcp://socket-proxy:2375``).
For anything else (TLS, ``ssh://``) ``endpoint_from_environment`` returns None and the caller
uses the SDK. Failures leave as ``EngineUnreachableError`` or ``EngineError``, as from the SDK.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

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
MAXIMUM_HEAD_LINES = 100
MAXIMUM_LINE_BYTES = 65536
NOT_FOUND = 404
MINIMUM_ERROR_STATUS = 400


class AnswerError(ValueError):
    """The engine's answer is not the HTTP/1.1 this client reads."""


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
        return UNIX_HOST_HEADER if self.host is None else f"{self.host}:{self.port}"

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


# -- HTTP/1.1, the part of it the engine answers with (pure over a byte stream) -------------------


def request_bytes(method: str, path: str, host: str) -> bytes:
    """Return one request without a body, asking the server to close after answering."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: mediastack"]
    lines += ["Connection: close", *(["Content-Length: 0"] if method == "POST" else []), "", ""]
    return "\r\n".join(lines).encode("ascii")


def read_head(reader: IO[bytes]) -> tuple[int, dict[str, str]]:
    """Read the status line and headers; return the status and the headers (names in lower
    case). Raise AnswerError for anything else, e.g. a connection closed first."""
    status_line = _line(reader)
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise AnswerError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAXIMUM_HEAD_LINES):
        line = _line(reader)
        if not line:
            return int(parts[1]), headers
        name, separator, value = line.partition(":")
        if not separator:
            raise AnswerError(f"not a header: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    raise AnswerError("too many headers")


def read_body(reader: IO[bytes], status: int, headers: Mapping[str, str]) -> Iterator[bytes]:
    """Yield the body as it arrives: chunk by chunk (chunked), at once (Content-Length), or
    up to the end of the connection. Raise AnswerError when it is cut short."""
    if status in (204, 304) or 100 <= status < 200:
        return
    if "chunked" in headers.get("transfer-encoding", "").lower():
        yield from _chunks(reader)
    elif "content-length" in headers:
        yield _exactly(reader, _length(headers["content-length"]))
    else:
        yield reader.read()


def _chunks(reader: IO[bytes]) -> Iterator[bytes]:
    while True:
        size_line = _line(reader).split(";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise AnswerError(f"not a chunk size: {size_line[:20]!r}") from None
        if size == 0:
            while _line(reader):  # trailers, up to the empty line
                pass
            return
        yield _exactly(reader, size)
        if _line(reader):
            raise AnswerError("a chunk does not end with CRLF")


def _exactly(reader: IO[bytes], size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise AnswerError(f"the answer ended after {len(data)} of {size} bytes")
    return data


def _length(text: str) -> int:
    if not text.isdigit():
        raise AnswerError(f"not a Content-Length: {text[:20]!r}")
    return int(text)


def _line(reader: IO[bytes]) -> str:
    line = reader.readline(MAXIMUM_LINE_BYTES)
    if not line.endswith(b"\n"):
        raise AnswerError("the connection closed mid-answer" if not line else "line too long")
    return line.rstrip(b"\r\n").decode("latin-1")


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
    (the cascade's second step), plus ``restart`` (autoheal) and ``events``. Thread-safe:
    every request has its own connection."""

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

    def restart(self, container_id: str, stop_timeout_seconds: int) -> None:
        """Restart a container in place (SIGTERM, SIGKILL after ``stop_timeout_seconds``);
        raise EngineError when the engine refuses (e.g. the container is gone)."""
        path = f"/containers/{quote(container_id)}/restart?t={stop_timeout_seconds}"
        self._post(path, self._timeout + stop_timeout_seconds)

    def events(self, filters: Filters) -> EventSubscription:
        """Open the events stream (no read timeout: it may stay silent for days)."""
        query = urlencode({"filters": encode_filters(filters)})
        return EventSubscription(self.endpoint, self._path(f"/events?{query}"))

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
    ends the iteration (the socket is shut down under the reader)."""

    def __init__(self, endpoint: EngineEndpoint, path: str) -> None:
        try:
            self._connection = endpoint.open(None)
        except OSError as error:
            raise unreachable(error) from error
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._connection.sendall(request_bytes("GET", path, endpoint.host_header))
            self._reader = self._connection.makefile("rb")
            self._status, self._headers = read_head(self._reader)
        except (OSError, AnswerError) as error:
            self.close()
            raise unreachable(error) from error
        if self._status >= MINIMUM_ERROR_STATUS:
            body = b"".join(read_body(self._reader, self._status, self._headers))
            self.close()
            raise EngineError(error_message(self._status, body))

    def __iter__(self) -> Iterator[Any]:
        return json_lines(read_body(self._reader, self._status, self._headers))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(OSError):
            self._connection.shutdown(socket.SHUT_RDWR)
        self._connection.close()


def _request(endpoint: EngineEndpoint, method: str, path: str, timeout: float) -> tuple[int, bytes]:
    """Make one request; return the status and the whole body. Raise EngineUnreachableError
    when the engine cannot be reached or answers something unreadable."""
    try:
        with endpoint.open(timeout) as connection:
            connection.sendall(request_bytes(method, path, endpoint.host_header))
            with connection.makefile("rb") as reader:
                status, headers = read_head(reader)
                return status, b"".join(read_body(reader, status, headers))
    except (OSError, AnswerError) as error:
        raise unreachable(error) from error


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
