"""The webhook's HTTP on a raw socket: one deadline per request, the head before the body.

Why not ``http.server``: its reads time out per ``recv``, so a client sending one byte every
few seconds holds a thread (and one of the webhook's few slots) for as long as it likes, and
it reads the request line and headers in one go, leaving no place to check the token before
the body. Here every read sets the socket's timeout to what is left of the request's single
deadline, the head is parsed on its own (pure: ``parse_head``), and the body is read only when
the caller decides to.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

HEAD_END = b"\r\n\r\n"
RECEIVE_CHUNK_BYTES = 4096
# WUD's request head is a few hundred bytes; browsers' rarely pass 8 KiB.
MAX_HEAD_BYTES = 16_384
TOKEN_CHARACTERS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


class MalformedRequestError(ValueError):
    """The request head is not HTTP/1.x (answered 400)."""


class DeadlineExpiredError(TimeoutError):
    """The request's deadline passed before the client sent what was needed."""


class ClientGoneError(ConnectionError):
    """The client closed the connection before the request was complete."""


class Deadline:
    """One point in monotonic time by which a request must be complete."""

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._due = monotonic() + seconds

    def remaining(self) -> float:
        """Return the seconds left (0 when passed)."""
        return max(0.0, self._due - self._monotonic())


@dataclass(frozen=True)
class RequestHead:
    """A parsed request line and headers (names lower-cased; a repeated header keeps the
    last value)."""

    method: str
    target: str
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_head(raw: bytes) -> RequestHead:
    """Given the bytes before the blank line, return the request head; raise
    MalformedRequestError when it is not a request line plus ``Name: value`` lines."""
    try:
        text = raw.decode("iso-8859-1")
    except UnicodeDecodeError as error:  # pragma: no cover - latin-1 decodes every byte
        raise MalformedRequestError("the request head is not text") from error
    request_line, *header_lines = text.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not _is_token(parts[0]) or not parts[2].startswith("HTTP/1."):
        raise MalformedRequestError("the request line is not `METHOD TARGET HTTP/1.x`")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not _is_token(name):
            raise MalformedRequestError(f"not a header line: {line[:40]!r}")
        headers[name.lower()] = value.strip(" \t")
    return RequestHead(parts[0], parts[1], headers)


def _is_token(text: str) -> bool:
    return bool(text) and all(character in TOKEN_CHARACTERS for character in text.lower())


def receive_head(connection: socket.socket, deadline: Deadline) -> tuple[bytes, bytes]:
    """Read until the blank line that ends the head; return (head, body bytes already read).
    Raise DeadlineExpiredError, ClientGoneError, or MalformedRequestError when the head passes
    MAX_HEAD_BYTES."""
    received = b""
    while HEAD_END not in received and len(received) <= MAX_HEAD_BYTES:
        received += _receive(connection, deadline, RECEIVE_CHUNK_BYTES)
    head, _, rest = received.partition(HEAD_END)
    if len(head) > MAX_HEAD_BYTES:
        raise MalformedRequestError(f"the request head is over {MAX_HEAD_BYTES} bytes")
    return head, rest


def receive_body(
    connection: socket.socket, deadline: Deadline, length: int, already: bytes
) -> bytes:
    """Return exactly ``length`` body bytes (``already`` are the first ones); raise
    DeadlineExpiredError or ClientGoneError when they do not all come in time."""
    chunks = [already[:length]]
    missing = length - len(chunks[0])
    while missing > 0:
        chunk = _receive(connection, deadline, min(missing, 65_536))
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _receive(connection: socket.socket, deadline: Deadline, size: int) -> bytes:
    remaining = deadline.remaining()
    if remaining <= 0:
        raise DeadlineExpiredError("the request deadline passed")
    connection.settimeout(remaining)
    try:
        chunk = connection.recv(size)
    except TimeoutError as error:
        raise DeadlineExpiredError("the request deadline passed") from error
    if not chunk:
        raise ClientGoneError("the client closed the connection")
    return chunk


def response_bytes(status: int, payload: bytes, headers: Mapping[str, str]) -> bytes:
    """Return a whole HTTP/1.0 answer: the connection closes after it (one request each)."""
    reason = HTTPStatus(status).phrase
    lines = [f"HTTP/1.0 {status} {reason}", "Server: mediastack-webhook", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def send_and_close(connection: socket.socket, answer: bytes, deadline: Deadline) -> None:
    """Send ``answer`` within what is left of the deadline (answers are far smaller than a
    socket buffer, so this does not wait on a client that never reads), then close. Unread
    body bytes make the close a reset: the client gets its answer, not our patience."""
    with contextlib.suppress(OSError):
        connection.settimeout(max(deadline.remaining(), 0.001))
        connection.sendall(answer)
        connection.shutdown(socket.SHUT_WR)
    with contextlib.suppress(OSError):
        connection.close()


def stream_head_bytes(status: int, headers: Mapping[str, str]) -> bytes:
    """Return the head of an answer whose body runs until the connection closes (a stream of
    server-sent events): HTTP/1.0, no ``Content-Length``."""
    reason = HTTPStatus(status).phrase
    lines = [f"HTTP/1.0 {status} {reason}", "Server: mediastack-webhook", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# How long one write to a stream client may wait (a client that stops reading is dropped), and
# how often a wait looks whether the server is stopping.
STREAM_SEND_TIMEOUT_SECONDS = 10.0
STREAM_WAIT_SLICE_SECONDS = 1.0


class StreamChannel:
    """An open connection a stream writes to, until the client goes, stops reading, or the
    server stops."""

    def __init__(
        self,
        connection: socket.socket,
        stopping: threading.Event,
        send_timeout: float = STREAM_SEND_TIMEOUT_SECONDS,
    ) -> None:
        self._connection = connection
        self._stopping = stopping
        self._send_timeout = send_timeout
        self._broken = False

    def send(self, data: bytes) -> bool:
        """Send ``data``; return False when the client is gone or did not take it in time
        (then every later send is False too)."""
        if self._broken or self._stopping.is_set():
            return False
        try:
            self._connection.settimeout(self._send_timeout)
            self._connection.sendall(data)
        except OSError:
            self._broken = True
        return not self._broken

    def wait(self, seconds: float) -> bool:
        """Wait ``seconds``; return False as soon as the client closes or the server stops.
        Whatever the client sends meanwhile is read and dropped."""
        due = time.monotonic() + seconds
        while not self._stopping.is_set():
            remaining = due - time.monotonic()
            if remaining <= 0:
                return True
            try:
                readable, _, _ = select.select(
                    [self._connection], [], [], min(remaining, STREAM_WAIT_SLICE_SECONDS)
                )
                if readable and not self._connection.recv(RECEIVE_CHUNK_BYTES):
                    return False  # the client closed its end
            except (OSError, ValueError):
                return False
        return False
