"""A local stand-in for an ntfy server's publish API, for tests.

No ntfy server can be installed here, so this receiver follows ntfy's publish contract as
the ntfy server's own source implements it (server.go ``parsePublishParams``,
``transformBodyJSON``, ``handleBodyAsTextMessage``; util ``ParsePriority``; errors.go):

- ``PUT``/``POST /<topic>`` (topic ``[-_A-Za-z0-9]{1,64}``): the body is the message
  (trimmed; empty means "triggered"; it must be UTF-8). Each option is read from the first
  non-empty of its header names, then from the same names, lower-case, in the query string:
  title ``X-Title``/``Title``/``t``; message ``X-Message``/``Message``/``m`` (used when the
  body is empty, ``\\n`` becomes a line break); priority ``X-Priority``/``Priority``/``prio``/
  ``p`` as 1-5 or min/low/default/high/urgent/max (anything else is 400, code 40007; an
  RFC 9218 ``Priority: u=3, i`` header from a proxy is ignored); tags ``X-Tags``/``Tags``/
  ``tag``/``ta`` (comma-separated); click ``X-Click``/``Click``; icon ``X-Icon``/``Icon``;
  markdown ``X-Markdown``/``Markdown``/``md``. Header values may be RFC 2047 encoded.
- ``PUT``/``POST /`` with a JSON object ``{"topic", "message", "title", "priority" (int),
  "tags" (list), "click", "icon", "markdown", ...}``: the JSON fields replace the matching
  ``X-`` headers, then the request is handled as a publish to ``/<topic>``. A body that is
  not that JSON is 400 (40017); a bad topic is 400 (40009).
- ``Authorization: Bearer <token>`` or ``Basic ...`` (or ``?auth=`` holding it base64-encoded)
  is recorded, not checked.
- A publish is answered ``200`` with the message as JSON and a newline, as ntfy does:
  ``{"id", "time", "expires", "event": "message", "topic", "message"}`` plus ``title``,
  ``priority``, ``tags``, ``click``, ``icon`` when set. An error is answered with ntfy's error
  JSON ``{"code", "http", "error", "link"}``; a rate limit is ``429`` with code 42901
  "limit reached: too many requests" (ntfy sends no ``Retry-After``).

What Apprise's ntfy plugin sends (apprise/plugins/ntfy.py): a JSON ``POST /`` with
``{"topic", "title", "message"}`` and the options as headers ``X-Priority`` (a word, omitted
for default), ``X-Tags``, ``X-Click``, ``X-Icon``, ``X-Markdown``, ``X-Delay``, ``X-Email``,
``X-Actions``, with ``Authorization: Bearer`` for a ``tk_`` token or HTTP basic auth; and a
``POST /<topic>`` with the body as an attachment when the JSON would exceed 8000 bytes.

Test controls: :meth:`NtfyReceiver.rate_limit_next` answers the next N publishes with 429;
:meth:`NtfyReceiver.go_down` stops listening (connections are refused) and
:meth:`NtfyReceiver.come_back` listens again on the same port; :meth:`NtfyReceiver.wait_for`
waits, bounded, for messages. Not implemented: attachments' storage, delays, e-mail, calls,
templates, chunked request bodies.
"""

from __future__ import annotations

import base64
import binascii
import email.header
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TOPIC_PATTERN = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
EMPTY_MESSAGE = "triggered"
DEFAULT_PRIORITY = 3
MESSAGE_EXPIRY_SECONDS = 12 * 3600
POLL_SECONDS = 0.02
"""How often the serving thread checks for shutdown: go_down and stop take about this long."""
PRIORITY_WORDS = {
    "1": 1, "min": 1, "2": 2, "low": 2, "3": 3, "default": 3,
    "4": 4, "high": 4, "5": 5, "max": 5, "urgent": 5,
}  # fmt: skip
_PROXY_PRIORITY_HEADER = re.compile(r"^u=\d,\s*(i|\d)$|^u=\d$")
_COMPACT = (",", ":")
_LINK_PUBLISH = "https://ntfy.sh/docs/publish/"


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the receiver accepted, as ntfy would store it. ``priority`` is 1-5, 3 when
    none was given (ntfy stores 0 and phones show it as default); ``authorization`` is the
    ``Authorization`` header as received, or None."""

    topic: str
    title: str
    message: str
    priority: int
    tags: tuple[str, ...]
    click: str
    icon: str
    markdown: bool
    authorization: str | None
    method: str
    json_publish: bool


class NtfyError(Exception):
    """An ntfy error answer: HTTP status, ntfy's own code, its message and a docs link."""

    def __init__(self, http_status: int, code: int, error: str, link: str = "") -> None:
        super().__init__(error)
        self.http_status, self.code, self.error, self.link = http_status, code, error, link

    def body(self) -> bytes:
        """Return the error as ntfy's JSON line."""
        fields: dict[str, Any] = {"code": self.code, "http": self.http_status, "error": self.error}
        if self.link:
            fields["link"] = self.link
        return (json.dumps(fields, separators=_COMPACT) + "\n").encode()


def rate_limited() -> NtfyError:
    """Return ntfy's answer to a visitor over its request limit."""
    return NtfyError(429, 42901, "limit reached: too many requests", _LINK_PUBLISH + "#limitations")


def _bad_request(code: int, error: str) -> NtfyError:
    return NtfyError(400, code, error)


class _Parameters:
    """ntfy's ``readParam``: the first non-empty header among the names (JSON-derived ``X-``
    headers replace sent ones), else the first non-empty query parameter (lower-case)."""

    def __init__(
        self, headers: Mapping[str, str], overrides: Mapping[str, str], query: str
    ) -> None:
        self._headers = {name.lower(): value for name, value in headers.items()}
        self._headers.update({name.lower(): value for name, value in overrides.items()})
        self._query = {name: values[0] for name, values in parse_qs(query).items()}

    def read(self, *names: str) -> str:
        for name in names:
            value = _decode_header(name, self._headers.get(name.lower(), "")).strip()
            if value:
                return value
        for name in names:
            value = self._query.get(name.lower(), "").strip()
            if value:
                return value
        return ""


def _decode_header(name: str, value: str) -> str:
    """Decode RFC 2047 words as Go's mime.WordDecoder; ignore an RFC 9218 Priority header."""
    try:
        parts = email.header.decode_header(value)
        decoded = "".join(
            part.decode(charset or "utf-8") if isinstance(part, bytes) else part
            for part, charset in parts
        )
    except (LookupError, UnicodeDecodeError, ValueError):
        decoded = value
    if name.lower() == "priority" and _PROXY_PRIORITY_HEADER.match(decoded.strip()):
        return ""
    return decoded


def _parse_priority(text: str) -> int:
    if not text:
        return DEFAULT_PRIORITY
    priority = PRIORITY_WORDS.get(text.strip().lower())
    if priority is None:
        raise _bad_request(40007, "invalid priority parameter")
    return priority


def _json_overrides(body: bytes) -> tuple[str, str, dict[str, str]]:
    """Given a JSON publish body, return (topic, message, X- headers) as ntfy's
    ``transformBodyJSON`` derives them; raise NtfyError as ntfy does."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _bad_request(40017, "invalid request: request body must be message JSON") from error
    if not isinstance(document, dict) or not _json_types_fit(document):
        raise _bad_request(40017, "invalid request: request body must be message JSON")
    topic = document.get("topic") or ""
    if not TOPIC_PATTERN.match(topic):
        raise _bad_request(40009, "invalid request: topic invalid")
    headers = {
        f"X-{name.capitalize()}": str(document[name])
        for name in ("title", "click", "icon")
        if document.get(name)
    }
    if document.get("priority"):
        headers["X-Priority"] = str(document["priority"])
    if document.get("tags"):
        headers["X-Tags"] = ",".join(document["tags"])
    if document.get("markdown"):
        headers["X-Markdown"] = "yes"
    return topic, document.get("message") or EMPTY_MESSAGE, headers


def _json_types_fit(document: dict[str, Any]) -> bool:
    """Return False where Go's json.Unmarshal into ntfy's publishMessage would fail."""
    strings = ("topic", "title", "message", "click", "icon", "attach", "filename", "delay")
    if any(not isinstance(document.get(name, ""), str) for name in strings):
        return False
    priority = document.get("priority", 0)
    tags = document.get("tags", [])
    return (
        isinstance(priority, int)
        and not isinstance(priority, bool)
        and isinstance(tags, list)
        and all(isinstance(tag, str) for tag in tags)
        and isinstance(document.get("markdown", False), bool)
    )


class NtfyReceiver:
    """An ntfy publish endpoint on ``host`` (default 127.0.0.1; a lab network's gateway to be
    reached from its containers), on an ephemeral port, that records what it gets.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Thread-safe.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._condition = threading.Condition()
        self._messages: list[ReceivedMessage] = []
        self._requests = 0
        self._to_rate_limit = 0
        self._to_fail = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    def __enter__(self) -> NtfyReceiver:
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """Return the port the receiver listens on (kept across go_down/come_back)."""
        return self._port

    def url(self, topic: str, token: str | None = None) -> str:
        """Return the Apprise URL (``ntfy://`` is plain http) of ``topic`` on this receiver,
        with ``token`` as the access token when given."""
        credentials = f"{token}@" if token else ""
        return f"ntfy://{credentials}{self._host}:{self._port}/{topic}"

    def start(self) -> None:
        """Listen on the host address (the first time on a free port, then on the same one)."""
        server = self._bind()
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="ntfy-receiver",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def _bind(self, attempts: int = 50) -> ThreadingHTTPServer:
        """Bind to the port (retrying briefly: a port just released may still be held)."""
        for _ in range(attempts - 1):
            try:
                return self._new_server()
            except OSError:
                time.sleep(0.02)
        return self._new_server()

    def _new_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        return server

    def stop(self) -> None:
        """Stop listening and free the port; connections are refused from now on."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def go_down(self) -> None:
        """Stop listening (as an ntfy server that is down); :meth:`come_back` restarts it."""
        self.stop()

    def come_back(self) -> None:
        """Listen again, on the same port as before."""
        self.start()

    def rate_limit_next(self, count: int) -> None:
        """Answer the next ``count`` publish requests with ntfy's 429 (code 42901)."""
        with self._condition:
            self._to_rate_limit = count

    def fail_next(self, count: int) -> None:
        """Answer the next ``count`` publish requests with ntfy's 500 (code 50001)."""
        with self._condition:
            self._to_fail = count

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Return the messages accepted so far, in arrival order."""
        with self._condition:
            return list(self._messages)

    @property
    def requests(self) -> int:
        """Return how many publish requests arrived, refused ones included."""
        with self._condition:
            return self._requests

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait at most ``timeout`` seconds until at least ``count`` messages were accepted;
        return them all; raise TimeoutError (saying what did arrive) when they do not."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} ntfy message(s) within {timeout} s, got "
                    f"{len(self._messages)}: {self._messages!r}"
                )
            return list(self._messages)

    def _admit(self) -> NtfyError | None:
        """Count a publish request; return the 429 or 500 to answer when one is due."""
        with self._condition:
            self._requests += 1
            if self._to_rate_limit > 0:
                self._to_rate_limit -= 1
                return rate_limited()
            if self._to_fail > 0:
                self._to_fail -= 1
                return NtfyError(500, 50001, "internal server error")
            return None

    def _record(self, message: ReceivedMessage) -> None:
        with self._condition:
            self._messages.append(message)
            self._condition.notify_all()


def _handler_for(receiver: NtfyReceiver) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to ``receiver``."""

    class Handler(_PublishHandler):
        owner = receiver

    return Handler


class _PublishHandler(BaseHTTPRequestHandler):
    owner: NtfyReceiver
    server_version = "ntfy-receiver"

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._answer(404, NtfyError(404, 40401, "page not found").body())

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest shows test output, not access logs."""

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        if path != "/" and not TOPIC_PATTERN.match(path.removeprefix("/")):
            self._answer(404, NtfyError(404, 40401, "page not found").body())
            return
        refusal = self.owner._admit()
        try:
            if refusal is not None:
                raise refusal
            message = self._publish(path, query, body)
        except NtfyError as error:
            self._answer(error.http_status, error.body())
            return
        self.owner._record(message)
        self._answer(200, _message_json(message))

    def _publish(self, path: str, query: str, body: bytes) -> ReceivedMessage:
        """Return the message a publish request carries; raise NtfyError as ntfy would."""
        overrides: dict[str, str] = {}
        json_publish = path == "/"
        if json_publish:
            topic, text, overrides = _json_overrides(body)
            body = text.encode()
        else:
            topic = path.removeprefix("/")
        parameters = _Parameters(dict(self.headers.items()), overrides, query)
        return ReceivedMessage(
            topic=topic,
            title=parameters.read("x-title", "title", "t"),
            message=_message_text(body, parameters),
            priority=_parse_priority(parameters.read("x-priority", "priority", "prio", "p")),
            tags=_tags(parameters.read("x-tags", "tags", "tag", "ta")),
            click=parameters.read("x-click", "click"),
            icon=parameters.read("x-icon", "icon"),
            markdown=parameters.read("x-markdown", "markdown", "md").lower()
            in {"1", "yes", "true"},
            authorization=self._authorization(query),
            method=self.command,
            json_publish=json_publish,
        )

    def _authorization(self, query: str) -> str | None:
        """Return the Authorization header, or the one ``?auth=`` carries base64-encoded."""
        header = self.headers.get("Authorization")
        if header:
            return header
        encoded = parse_qs(query).get("auth", [""])[0]
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode() or None
        except (binascii.Error, UnicodeDecodeError):
            return None

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _message_text(body: bytes, parameters: _Parameters) -> str:
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        raise _bad_request(40011, "invalid request: message must be UTF-8 encoded") from error
    if not text:
        text = parameters.read("x-message", "message", "m").replace("\\n", "\n")
    return text or EMPTY_MESSAGE


def _tags(text: str) -> tuple[str, ...]:
    return tuple(tag.strip() for tag in text.split(",") if tag.strip())


def _message_json(message: ReceivedMessage) -> bytes:
    """Return the JSON line ntfy answers a publish with (empty fields omitted)."""
    now = int(time.time())
    fields: dict[str, Any] = {
        "id": secrets.token_urlsafe(9)[:12],
        "time": now,
        "expires": now + MESSAGE_EXPIRY_SECONDS,
        "event": "message",
        "topic": message.topic,
        "title": message.title,
        "message": message.message,
        "priority": message.priority if message.priority != DEFAULT_PRIORITY else 0,
        "tags": list(message.tags),
        "click": message.click,
        "icon": message.icon,
        "content_type": "text/markdown" if message.markdown else "",
    }
    return (
        json.dumps({key: value for key, value in fields.items() if value}, separators=_COMPACT)
        + "\n"
    ).encode()
