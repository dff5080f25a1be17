"""The HTTP layer shared by every stand-in: requests, responses, routing, API-key checks and the
request counters served at ``/_standin/requests``.

A handler takes a Request and returns a Response, or raises ApiError (any status) or
ValidationFailed (400 with the Servarr validation body: a JSON list of failures, as
``Sonarr.Http/ErrorManagement/SonarrErrorPipeline.cs`` writes a FluentValidation
``ValidationException``). The server is threaded: Prowlarr's application test calls Sonarr,
which calls Prowlarr back while the first request is still open.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STANDIN_PREFIX = "/_standin/"


class ApiError(Exception):
    """Answer ``status`` with ``body`` (JSON unless bytes)."""

    def __init__(self, status: int, body: Any = None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


class ValidationFailed(Exception):
    """Answer 400 with the list of failures (see failure())."""

    def __init__(self, failures: list[dict[str, Any]]):
        super().__init__("; ".join(str(item["errorMessage"]) for item in failures))
        self.failures = failures


def failure(
    property_name: str,
    message: str,
    *,
    warning: bool = False,
    detail: str | None = None,
    attempted: Any = None,
) -> dict[str, Any]:
    """Return one validation failure shaped as Sonarr serialises NzbDroneValidationFailure
    (``NzbDrone.Core/Validation/NzbDroneValidationFailure.cs`` on FluentValidation's
    ValidationFailure): propertyName, errorMessage, attemptedValue, severity, isWarning..."""
    return {
        "isWarning": warning,
        "detailedDescription": detail,
        "infoLink": None,
        "propertyName": property_name,
        "errorMessage": message,
        "attemptedValue": attempted,
        "severity": "warning" if warning else "error",
        "errorCode": None,
    }


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def query_value(self, name: str) -> str | None:
        """Return the first ``name`` query parameter (names compared case-insensitively, as
        ASP.NET does), or None."""
        for key, values in self.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None

    def flag(self, name: str) -> bool:
        """Return a boolean query parameter such as ``?forceSave=true``."""
        return (self.query_value(name) or "").lower() == "true"

    def json(self) -> Any:
        """Return the parsed JSON body; raise ApiError 400 when it is not JSON."""
        try:
            return json.loads(self.body.decode() or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(400, {"message": f"Invalid JSON body: {error}"}) from None

    def form(self) -> dict[str, list[str]]:
        """Return the urlencoded form body, every value of every key in order."""
        return urllib.parse.parse_qs(self.body.decode(), keep_blank_values=True)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data).encode())


Handler = Callable[[Request, "re.Match[str]"], Response]


@dataclass
class App:
    """One stand-in app: its routes, which paths need no key, how a key is checked."""

    name: str
    routes: list[tuple[str, re.Pattern[str], Handler]]
    is_authorised: Callable[[Request], bool]
    open_paths: frozenset[str]
    response_headers: dict[str, str] = field(default_factory=dict)

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator: register ``handler`` for ``method`` and the full-match regex ``pattern``
        (matched case-insensitively: ASP.NET routes are)."""

        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(pattern, re.IGNORECASE), handler))
            return handler

        return register


class Counters:
    """What the tests read at GET /_standin/requests: reads (GET) and writes (everything
    else) to the app's API, with a log; /_standin/* and health paths are not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append({"method": method, "path": path, "status": status})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            log = list(self._log)
        reads = sum(1 for item in log if item["method"] in ("GET", "HEAD"))
        return {"reads": reads, "writes": len(log) - reads, "log": log}

    def reset(self) -> None:
        with self._lock:
            self._log.clear()


def dispatch(app: App, counters: Counters, request: Request) -> Response:
    """Route ``request``; return the response (API key checked, errors mapped, counted)."""
    if request.path.startswith(STANDIN_PREFIX):
        return _answer(app, request)
    response = _answer(app, request) if _authorised(app, request) else Response(401, b"")
    if request.path not in app.open_paths:
        counters.record(request.method, request.path, response.status)
    return response


def _authorised(app: App, request: Request) -> bool:
    return request.path in app.open_paths or app.is_authorised(request)


def _answer(app: App, request: Request) -> Response:
    allowed: list[str] = []
    for method, pattern, handler in app.routes:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        if method != request.method:
            allowed.append(method)
            continue
        try:
            return handler(request, match)
        except ValidationFailed as failed:
            return json_response(400, failed.failures)
        except ApiError as error:
            if isinstance(error.body, bytes):
                return Response(error.status, error.body, "text/plain; charset=utf-8")
            return json_response(error.status, error.body) if error.body is not None else (
                Response(error.status, b"")
            )
        except Exception as error:  # the real apps answer 500 with the message
            traceback.print_exc()
            return json_response(500, {"message": str(error), "description": repr(error)})
    return Response(405 if allowed else 404, b"")


def serve(app: App, counters: Counters, port: int, extra: Iterable[tuple[str, str]] = ()) -> None:
    """Serve ``app`` on 0.0.0.0:``port`` until killed."""
    headers = dict(extra)

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = app.name

        def _handle(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=urllib.parse.unquote(parsed.path) or "/",
                query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                headers=dict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
            )
            response = dispatch(app, counters, request)
            self.send_response(response.status)
            for name, value in {**headers, **app.response_headers, **response.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{app.name}: {format % args}", flush=True)

    server = ThreadingHTTPServer(("0.0.0.0", port), RequestHandler)
    server.daemon_threads = True
    server.serve_forever()
