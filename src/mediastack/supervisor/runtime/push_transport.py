"""The push pings' HTTP client: the standard library's ``urllib.request``, bounded in time.

Why not httpx (which the jobs use): it would load h11, httpcore, anyio, certifi, idna and
sniffio into the daemon for good, and the idle daemon has 45 MB (issue 3; bench/README.md,
"Supervisor: idle footprint"). ``urllib.request`` is the smallest client that speaks https
(``http.client`` alone imports ssl too, ~1 MB less): measured in fresh interpreters (Python
3.11, VmRSS, median): with json, socket, threading and logging 14.8 MB; and
``urllib.request`` 21.4 MB (ssl is 4 MB of it); and a TLS context with the system's CA store
23.2 MB. So this module is imported only when a push URL is configured
(``push_pings.build_push_thread``), and the TLS context is made on the first https ping
(then kept: loading the CA store every minute would cost CPU each time instead).

Bounds: the TCP connect and the TLS handshake within ``connect_seconds`` (3 s), the whole
request within ``total_seconds`` (10 s): after the connect, the socket's timeout is what is
left of the total, so a server that accepts and then says nothing costs at most the total
(a server dripping one byte at a time could stretch each read to that limit, not the sum:
not a push monitor's way). Name resolution is the system resolver's (``getaddrinfo`` takes
no timeout; glibc's default gives up after 2 attempts of 5 s). No retry: the next interval
is the retry. Redirects are followed (a POST answered 307/308 is not: urllib refuses to
resend a body, and that is reported as the answer's status). Proxies come from the
environment (``https_proxy``, ``no_proxy``), as for every urllib client.

Nothing here logs: failures leave as ``NoReply`` whose detail names neither the URL nor its
parts (``push_pings`` redacts them once more before logging).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import mediastack
from mediastack.supervisor.runtime.push_monitors import NoReply, PushOutcome, PushRequest, Reply

CONNECT_SECONDS = 3.0
TOTAL_SECONDS = 10.0
ANSWER_BYTES = 1024
"""At most this much of an answer is read: "OK", or Kuma's short JSON."""
LEAST_READ_SECONDS = 0.05
USER_AGENT = f"mediastack/{mediastack.__version__} (supervisor push ping)"


class UrllibTransport:
    """Makes one ``PushRequest`` and returns its ``Reply`` (any status), or raises
    ``NoReply`` (timed out, or no answer). Safe to call from one thread at a time."""

    def __init__(
        self, connect_seconds: float = CONNECT_SECONDS, total_seconds: float = TOTAL_SECONDS
    ) -> None:
        self._connect_seconds = connect_seconds
        self._total_seconds = total_seconds
        self._opener = _opener(connect_seconds)

    def __call__(self, request: PushRequest) -> Reply:
        prepared = urllib.request.Request(
            request.url,
            data=request.body,
            headers={"User-Agent": USER_AGENT, **dict(request.headers)},
            method=request.method,
        )
        try:
            with self._opener.open(prepared, timeout=self._total_seconds) as answer:
                return Reply(answer.status, _text(answer.read(ANSWER_BYTES)))
        except urllib.error.HTTPError as error:  # an answer, only not a 2xx one
            with error:
                return Reply(error.code, _text(error.read(ANSWER_BYTES)))
        except urllib.error.URLError as error:  # raised before the request went: connecting
            connecting = f"no connection within {self._connect_seconds:g} s"
            raise _no_reply(error.reason, connecting) from None
        except (OSError, http.client.HTTPException, ValueError) as error:  # waiting for it
            raise _no_reply(error, f"no answer within {self._total_seconds:g} s") from None


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _no_reply(reason: object, timed_out: str) -> NoReply:
    if isinstance(reason, TimeoutError):
        return NoReply(PushOutcome.TIMED_OUT, timed_out)
    if isinstance(reason, ssl.SSLError):
        return NoReply(PushOutcome.UNREACHABLE, f"TLS: {reason.reason or type(reason).__name__}")
    if isinstance(reason, socket.gaierror):
        return NoReply(PushOutcome.UNREACHABLE, "the host name does not resolve")
    if isinstance(reason, ConnectionRefusedError):
        return NoReply(PushOutcome.UNREACHABLE, "connection refused")
    if isinstance(reason, http.client.RemoteDisconnected):
        return NoReply(PushOutcome.UNREACHABLE, "the connection closed without an answer")
    if isinstance(reason, OSError) and reason.strerror:
        return NoReply(PushOutcome.UNREACHABLE, reason.strerror)
    # urllib's own messages (an unknown scheme, a bad port) can quote the URL: the type only
    return NoReply(PushOutcome.UNREACHABLE, type(reason).__name__)


def _opener(connect_seconds: float) -> urllib.request.OpenerDirector:
    """An opener with no file://, ftp:// or data: handler (``build_opener`` adds them): a
    redirect elsewhere than http(s) is refused."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _BoundedHTTPHandler(connect_seconds),
        _BoundedHTTPSHandler(connect_seconds),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


def _bounded_connect(
    connection: http.client.HTTPConnection, connect: Callable[[], None], connect_seconds: float
) -> None:
    """``connect`` (TCP, and TLS for https) within ``connect_seconds``; then leave the socket
    what is left of the request's timeout (http.client would give every step all of it)."""
    started = time.monotonic()
    total = connection.timeout
    connection.timeout = min(connect_seconds, total) if total is not None else connect_seconds
    try:
        connect()
    finally:
        connection.timeout = total
    if total is not None and connection.sock is not None:
        left = total - (time.monotonic() - started)
        connection.sock.settimeout(max(LEAST_READ_SECONDS, left))


class _BoundedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, host: str, /, *, connect_seconds: float = CONNECT_SECONDS, **options: Any
    ) -> None:
        super().__init__(host, **options)
        self._connect_seconds = connect_seconds

    def connect(self) -> None:
        _bounded_connect(self, super().connect, self._connect_seconds)


class _BoundedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self, host: str, /, *, connect_seconds: float = CONNECT_SECONDS, **options: Any
    ) -> None:
        super().__init__(host, **options)
        self._connect_seconds = connect_seconds

    def connect(self) -> None:
        _bounded_connect(self, super().connect, self._connect_seconds)


class _BoundedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_seconds: float) -> None:
        super().__init__()
        self._connect_seconds = connect_seconds

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_BoundedHTTPConnection, req, connect_seconds=self._connect_seconds)


class _BoundedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, connect_seconds: float) -> None:
        super().__init__()
        self._connect_seconds = connect_seconds
        self._tls: ssl.SSLContext | None = None

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        if self._tls is None:  # the CA store is loaded on the first https ping, then kept
            self._tls = ssl.create_default_context()
        return self.do_open(
            _BoundedHTTPSConnection, req, context=self._tls, connect_seconds=self._connect_seconds
        )
