"""qBittorrent's WebAPI v2, through the ``qbittorrent-api`` package: the three preferences
port sync reads and writes (``listen_port``, ``random_port``, ``upnp``).

What qBittorrent does (measured on qbittorrent-nox 4.5.2, WebAPI 2.8.19; see
tests/unit/portsync/fixtures/qbittorrent-4.5.2/):

- Without a session every API call answers ``403 Forbidden``; ``qbittorrent-api`` then logs
  in (form ``username``/``password``) and repeats the call. A log-in answers ``200 Ok.`` or
  ``200 Fails.`` (5.2+: 204/401); after ``WebUI\\MaxAuthenticationFailCount`` failures
  (default 5) the client address is banned (``WebUI\\BanDuration``, default 3600 s) and every
  log-in answers ``403 Your IP address has been banned...``. So a log-in is only attempted
  with a configured password: with none, a 403 means the local-auth bypass does not cover us.
- An ``Origin``/``Referer`` that differs from the target, or a ``Host`` header whose port is
  not qBittorrent's own WebUI port (a published port mapped to another one), answers
  ``401 Unauthorized`` on every route, log-in included. We send neither header.
- ``setPreferences`` answers ``200`` to anything, even a port of 70000 or JSON it cannot
  read; so a write is checked by reading the preferences back (the caller's job).
- ``random_port`` is not stored: qBittorrent reports it true exactly when the session port
  is 0, and ``{"random_port": true}`` sets the port to 0. ``{"listen_port": N,
  "random_port": false}`` in one call sets N.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import qbittorrentapi

from mediastack.adapters.errors import AdapterError

DEFAULT_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 3.05  # a little over a multiple of 3 s, as requests advises
BANNED_MARKER = "banned"

Result = TypeVar("Result")


class QbittorrentError(AdapterError):
    """qBittorrent's WebAPI could not be read or written."""


class QbittorrentUnreachableError(QbittorrentError):
    """Nothing answered at the WebUI address (down, restarting, wrong address)."""


class QbittorrentLoginFailedError(QbittorrentError):
    """qBittorrent rejected the user name or password."""


class QbittorrentLoginRequiredError(QbittorrentError):
    """qBittorrent asks for a log-in and no password is configured."""


class QbittorrentBannedError(QbittorrentError):
    """qBittorrent banned this client address after too many failed log-ins."""


class QbittorrentRejectedError(QbittorrentError):
    """qBittorrent answered 401: its cross-site (Origin/Referer) or Host header check failed."""


class QbittorrentSessionLostError(QbittorrentError):
    """A 403 after a successful log-in: the session was lost in between (qBittorrent
    restarted, or the connection broke and the package dropped its cookie). Worth retrying."""


class QbittorrentAnswerError(QbittorrentError):
    """qBittorrent answered something this contract does not describe."""


@dataclass(frozen=True)
class ListenPreferences:
    """The preferences that decide where qBittorrent listens for peers."""

    listen_port: int
    random_port: bool
    upnp: bool

    def as_json(self) -> dict[str, int | bool]:
        """Return the ``setPreferences`` JSON that sets all three at once."""
        return {"listen_port": self.listen_port, "random_port": self.random_port, "upnp": self.upnp}


def parse_listen_preferences(raw: Mapping[str, Any]) -> ListenPreferences:
    """Given the JSON of ``GET /api/v2/app/preferences``, return its listen preferences;
    raise QbittorrentAnswerError when one is missing or of the wrong type."""
    listen_port = raw.get("listen_port")
    random_port = raw.get("random_port")
    upnp = raw.get("upnp")
    if isinstance(listen_port, bool) or not isinstance(listen_port, int):
        raise QbittorrentAnswerError(
            f"qBittorrent's preferences have no listen_port: {listen_port!r}"
        )
    if not isinstance(random_port, bool) or not isinstance(upnp, bool):
        raise QbittorrentAnswerError(
            f"qBittorrent's preferences lack random_port/upnp: {random_port!r}, {upnp!r}"
        )
    return ListenPreferences(listen_port=listen_port, random_port=random_port, upnp=upnp)


class _LoginRequired(Exception):
    """Raised in place of a log-in attempt when no password is configured."""


class _Client(qbittorrentapi.Client):
    """``qbittorrent-api``'s client, except that it never tries a log-in without a password:
    the package logs in on any 403, and a failed log-in counts towards qBittorrent's ban."""

    def __init__(self, url: str, username: str, password: str, timeout_seconds: float) -> None:
        super().__init__(
            host=url,
            username=username,
            password=password,
            REQUESTS_ARGS={"timeout": (CONNECT_TIMEOUT_SECONDS, timeout_seconds)},
            # Use the scheme we were given; the package would otherwise probe for https first.
            FORCE_SCHEME_FROM_HOST=True,
            SIMPLE_RESPONSES=True,
        )
        self.may_log_in = bool(password)
        self.logged_in = False

    def auth_log_in(
        self, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if not self.may_log_in:
            raise _LoginRequired
        super().auth_log_in(username, password, **kwargs)
        self.logged_in = True


class QbittorrentClient:
    """One qBittorrent WebUI, e.g. ``http://gluetun:8080``. An empty ``password`` relies on
    qBittorrent's authentication bypass (localhost, or a whitelisted subnet) and never logs
    in. Keeps its session between calls (logging in again when it expired); ``close`` ends it.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = _Client(self.url, username, password, timeout_seconds)

    def __enter__(self) -> QbittorrentClient:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def read_preferences(self) -> ListenPreferences:
        """Return the listen preferences; raise a QbittorrentError subclass on failure."""
        raw = self._call(self._client.app_preferences)
        if not isinstance(raw, Mapping):
            raise QbittorrentAnswerError(f"qBittorrent's preferences are not an object: {raw!r}")
        return parse_listen_preferences(raw)

    def write_preferences(self, preferences: ListenPreferences) -> None:
        """Set all three listen preferences in one ``setPreferences``; raise a
        QbittorrentError subclass on failure. qBittorrent does not say whether it applied
        them: read them back to know."""
        self._call(lambda: self._client.app_set_preferences(prefs=preferences.as_json()))

    def close(self) -> None:
        """End the session if one was opened (best effort: qBittorrent may be gone)."""
        if self._client.logged_in:
            # Best effort: the session expires on its own anyway (WebUI\SessionTimeout).
            with contextlib.suppress(qbittorrentapi.APIError):
                self._client.auth_log_out()
            self._client.logged_in = False

    def _call(self, request: Callable[[], Result]) -> Result:
        try:
            return request()
        except _LoginRequired:
            raise self._login_required() from None
        except qbittorrentapi.APIError as error:
            raise self._translate(error) from None

    def _login_required(self) -> QbittorrentLoginRequiredError:
        return QbittorrentLoginRequiredError(
            f"qBittorrent at {self.url} asks for a log-in and no password is configured",
            "put the WebUI password in .env (portsync.qbittorrent_password_variable, default "
            "QBITTORRENT_PASSWORD); or, in qBittorrent's WebUI options, bypass authentication "
            "for clients on localhost / in whitelisted subnets (add the shared network's "
            "subnet for the supervisor)",
        )

    def _translate(self, error: qbittorrentapi.APIError) -> QbittorrentError:
        """Return the QbittorrentError that says what ``error`` means for the user."""
        text = str(error).strip()
        if isinstance(error, qbittorrentapi.Unauthorized401Error):
            return _rejected(self.url)
        if isinstance(error, qbittorrentapi.Forbidden403Error):
            return _forbidden(self.url, text)
        if isinstance(error, qbittorrentapi.LoginFailed):
            return QbittorrentLoginFailedError(
                f"qBittorrent at {self.url} rejected the user name or password",
                "set portsync.qbittorrent_username and the password in .env to the WebUI's "
                "(repeated failures get this address banned, by default for an hour)",
            )
        if isinstance(error, qbittorrentapi.HTTPError):
            return QbittorrentAnswerError(
                f"qBittorrent at {self.url} answered {error.http_status_code}: {text[:200]}"
            )
        if isinstance(error, qbittorrentapi.APIConnectionError):
            return QbittorrentUnreachableError(
                f"cannot reach qBittorrent's WebUI at {self.url}",
                "check that qbittorrent is running and healthy (`mediastack status`)",
            )
        return QbittorrentAnswerError(f"qBittorrent at {self.url}: {text[:200]}")


def _rejected(url: str) -> QbittorrentRejectedError:
    return QbittorrentRejectedError(
        f"qBittorrent at {url} answered 401: its cross-site or Host header check refused the "
        "request (mediastack sends no Origin or Referer, so most likely the port in the URL "
        "is not qBittorrent's own WebUI port)",
        "reach qBittorrent on its own WebUI port (the container port, 8080), not through a "
        "port mapped to another one; or switch off Host header validation in its WebUI options",
    )


def _forbidden(url: str, text: str) -> QbittorrentError:
    if BANNED_MARKER in text.lower():
        return QbittorrentBannedError(
            f"qBittorrent at {url} banned this address after too many failed log-ins",
            "fix the password in .env, then wait for the ban to end (WebUI\\BanDuration, "
            "default an hour) or restart qbittorrent",
        )
    return QbittorrentSessionLostError(
        f"qBittorrent at {url} answered 403 ({text[:100]}) right after a successful log-in: "
        "the session was lost in between (qBittorrent restarting?)",
        "nothing, if it was restarting: the next sync logs in again; else check its logs",
    )
