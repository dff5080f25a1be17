"""One way to each app's HTTP API: ``AppApi`` (httpx), shared by the CLI and the supervisor.

Every request is bounded (``REQUEST_TIMEOUT_SECONDS``) and counted; a GET's answer is kept
until the next write to the same app, so one ``wire`` run reads each resource once (and again
only after a write, to read back what it wrote). Failures leave as ``AppError`` subclasses
that name the app and the URL and say how to fix it.

The *arr apps' error bodies (Sonarr 4 ``src/Sonarr.Http/ErrorManagement/``, FluentValidation)
are a JSON list of ``{propertyName, errorMessage, severity, isWarning}``; a POST whose provider
test only warns answers 400 with every entry ``isWarning: true`` (``?forceSave=true`` saves it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from mediastack.adapters.errors import AdapterError
from mediastack.links.model import Request

REQUEST_TIMEOUT_SECONDS = 30.0  # a provider POST runs its test: Sonarr -> qBittorrent, etc.
CONNECT_TIMEOUT_SECONDS = 3.0
WAIT_STEP_SECONDS = 1.0


class AppError(AdapterError):
    """An app's API failed; ``app`` names it."""

    def __init__(self, app: str, message: str, fix: str | None = None) -> None:
        super().__init__(message, fix)
        self.app = app


class AppUnreachableError(AppError):
    """Nothing answered (down, starting, wrong address)."""


class AppAuthError(AppError):
    """The app refused the API key (401/403)."""


class AppRefusedError(AppError):
    """The app refused a request (4xx/5xx); ``problems`` are its validation messages and
    ``warnings_only`` is True when every one of them is a warning."""

    def __init__(
        self,
        app: str,
        message: str,
        problems: tuple[str, ...],
        warnings_only: bool,
        status: int = 400,
    ) -> None:
        super().__init__(app, message)
        self.problems = problems
        self.warnings_only = warnings_only
        self.status = status


@dataclass
class RequestCounts:
    reads: int = 0
    writes: int = 0
    sent: list[Request] = field(default_factory=list)


class AppApi:
    """The API of one app at ``base_url``, authenticated by ``header: key``."""

    def __init__(
        self,
        app: str,
        base_url: str,
        api_key: str,
        *,
        header: str = "X-Api-Key",
        status_path: str = "/api/v3/system/status",
        counts: RequestCounts | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.status_path = status_path
        self.counts = counts if counts is not None else RequestCounts()
        self._cache: dict[str, Any] = {}
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={header: api_key},
            timeout=httpx.Timeout(REQUEST_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str) -> Any:
        """Return the JSON at ``path`` (once per run until a write to it); raise AppError."""
        if path not in self._cache:
            self.counts.reads += 1
            self._cache[path] = self._json(self._send("GET", path))
        return self._cache[path]

    def forget(self) -> None:
        """Read everything again from now on (something outside the API changed the app)."""
        self._cache.clear()

    def send(self, request: Request) -> Any:
        """Send a write; forget this app's cached reads; return the JSON answer (None
        when empty); raise AppRefusedError with the app's messages when refused."""
        self.counts.writes += 1
        self.counts.sent.append(request)
        # One write can change several resources (Bazarr's settings POST replaces its language
        # profiles too): every answer of this app is read again after a write.
        self._cache.clear()
        if request.form:
            response = self._send(request.method, request.path, data=request.body)
        else:
            response = self._send(request.method, request.path, json=request.body)
        return self._json(response)

    def wait_until_answering(self, seconds: float, clock: Callable[[], float] = time.monotonic,
                             sleep: Callable[[float], None] = time.sleep) -> None:
        """Return once ``status_path`` answers (a 4xx is an answer: the links then say what
        is wrong); wait through no answer or a 5xx (starting); raise the last AppError after
        ``seconds``, or at once a refused API key."""
        deadline = clock() + seconds
        while True:
            try:
                self._send("GET", self.status_path)
                return
            except AppAuthError:
                raise
            except AppError as error:
                if isinstance(error, AppRefusedError) and error.status < 500:
                    return  # it answered: the links say what is wrong
                if clock() >= deadline:
                    raise
                sleep(WAIT_STEP_SECONDS)

    def _send(self, method: str, path: str, **content: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(method, path, **content)
        except httpx.HTTPError as error:
            raise AppUnreachableError(
                self.app,
                f"{self.app} did not answer at {self.base_url}: {type(error).__name__} {error}",
                f"is it running? `mediastack status`, `mediastack logs {self.app}`",
            ) from None
        if response.status_code in (401, 403):
            raise AppAuthError(
                self.app,
                f"{self.app} refused the API key ({response.status_code} at {method} {url})",
                f"the key in .env ({self.app.upper()}_API_KEY) must be the one {self.app} uses: "
                f"`mediastack up {self.app}` recreates it with that key",
            )
        if response.status_code >= 400:
            raise _refused(self.app, method, url, response)
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text


def _refused(app: str, method: str, url: str, response: httpx.Response) -> AppRefusedError:
    problems, warnings = _problems(response)
    listed = "; ".join(problems) or response.text.strip()[:300] or response.reason_phrase
    return AppRefusedError(
        app,
        f"{app} refused {method} {url} ({response.status_code}): {listed}",
        tuple(problems),
        warnings_only=bool(problems) and all(warnings),
        status=response.status_code,
    )


def _problems(response: httpx.Response) -> tuple[list[str], list[bool]]:
    try:
        body = response.json()
    except ValueError:
        return [], []
    entries = body if isinstance(body, list) else [body] if isinstance(body, Mapping) else []
    problems: list[str] = []
    warnings: list[bool] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        message = entry.get("errorMessage") or entry.get("message") or entry.get("error")
        if message:
            prefix = f"{entry['propertyName']}: " if entry.get("propertyName") else ""
            problems.append(f"{prefix}{message}")
            warnings.append(bool(entry.get("isWarning")))
    return problems, warnings
