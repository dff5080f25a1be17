"""The qBittorrent download client of Sonarr 4, Radarr 6 and Prowlarr 2: its settings schema,
validator and provider test, run against the REAL qBittorrent at host:port.

Sources: Sonarr v4.0.19.2979 ``src/NzbDrone.Core/Download/Clients/QBittorrent/``
``QBittorrentSettings.cs`` (validator, defaults), ``QBittorrent.cs`` (Test, TestConnection,
TestCategory, TestPrioritySupport, TestGetTorrents, RemovesCompletedDownloads),
``QBittorrentProxySelector.cs`` and ``QBittorrentProxyV2.cs`` (IsApiSupported,
GetApiVersion, AuthenticateClient, ProcessRequest); messages from ``Localization/Core/en.json``.
Radarr v6.0.3.10276 and Prowlarr v2.3.5.5323 carry the same files with their own field names
(``movieCategory``; Prowlarr's single ``category``, default ``prowlarr``).

The test, in order: GET /api/v2/app/webapiVersion without a cookie (404: not API v2; 403 or
200: v2), log in (only when username AND password are set; a body other than "" or "Ok." is
"Fails.": authentication failure, never retried), GET webapiVersion again (a 403 logs in once
more), version checks, a warning when the category is empty, GET /api/v2/app/preferences (an
error when the ratio or seeding-time limit would remove torrents), GET
/api/v2/torrents/categories and POST /api/v2/torrents/createCategory when it is missing, the
queueing check when a priority is not "Last", GET /api/v2/torrents/info.
Simplified: no API v1 fallback (qBittorrent < 4.1 is "Unable to determine qBittorrent API
version"); HTTP basic credentials and SSL are not sent.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from .schema import Failures, FieldSpec, between, matches, not_empty
from .web import failure

HOST_PATTERN = r"^[-_a-z0-9.]+$"
CATEGORY_PATTERN = r"^([^\\\/](\/?[^\\\/])*)?$"
CATEGORY_MESSAGE = "Can not contain '\\', '//', or start/end with '/'"
URL_BASE_PATTERN = r"^(?!\/?https?://[-_a-z0-9.]+)"
PRIORITIES = ((0, "Last"), (1, "First"))
INITIAL_STATES = ((0, "Start"), (1, "ForceStart"), (2, "Pause"))
CONTENT_LAYOUTS = ((0, "Default"), (1, "Original"), (2, "Subfolder"))
REMOVE_ACTIONS = (1, 3)  # QBittorrentMaxRatioAction.Remove, DeleteFiles
MINIMUM_RETENTION_MINUTES = 60 * 24 * 14
TIMEOUT_SECONDS = 10

# ProxyV2's auth-cookie cache: keyed by base URL, user and password, kept for the process.
_cookie_jars: dict[str, http.cookiejar.CookieJar] = {}
_cookie_lock = threading.Lock()


@dataclass(frozen=True)
class Flavour:
    """What differs between the apps: field names, defaults and the app's own name."""

    app_name: str
    category: str
    category_default: str
    imported_category: str | None
    priorities: tuple[str, ...]
    has_api_key: bool


def settings_fields(flavour: Flavour) -> tuple[FieldSpec, ...]:
    """QBittorrentSettings' [FieldDefinition]s, in order."""
    fields = [
        FieldSpec("host", "Host", "string", "localhost"),
        FieldSpec("port", "Port", "int", 8080),
        FieldSpec("useSsl", "Use SSL", "bool", False, type="checkbox"),
        FieldSpec("urlBase", "URL Base", "string", None, advanced=True),
    ]
    if flavour.has_api_key:
        fields.append(FieldSpec("apiKey", "API Key", "string", None, privacy="apiKey"))
    fields += [
        FieldSpec("username", "Username", "string", None, privacy="userName"),
        FieldSpec("password", "Password", "string", None, type="password", privacy="password"),
        FieldSpec(flavour.category, "Category", "string", flavour.category_default),
    ]
    if flavour.imported_category:
        fields.append(FieldSpec(flavour.imported_category, "Post-Import Category", "string",
                                None, advanced=True))
    for name in flavour.priorities:
        fields.append(FieldSpec(name, "Priority", "int", 0, type="select",
                                select_options=PRIORITIES))
    fields += [
        FieldSpec("initialState", "Initial State", "int", 0, type="select",
                  select_options=INITIAL_STATES),
        FieldSpec("sequentialOrder", "Sequential Order", "bool", False, type="checkbox"),
        FieldSpec("firstAndLast", "First and Last First", "bool", False, type="checkbox"),
        FieldSpec("contentLayout", "Content Layout", "int", 0, type="select",
                  select_options=CONTENT_LAYOUTS),
    ]
    return tuple(fields)


def validate(flavour: Flavour, settings: dict[str, Any]) -> Failures:
    """QBittorrentSettingsValidator."""
    host = settings.get("host")
    problems = not_empty("Host", host)
    if not _valid_host(host):
        problems.append(failure("Host", "must be valid Host without http://", attempted=host))
    problems += between("Port", settings["port"], 1, 65535)
    url_base = settings.get("urlBase")
    if url_base and url_base.strip():
        problems += matches("UrlBase", url_base, URL_BASE_PATTERN,
                            "Must be a valid URL path (ie: '/sonarr')", flags=2)
    if flavour.has_api_key and (settings.get("apiKey") or "").strip():
        for name in ("username", "password"):
            if settings.get(name):
                problems.append(failure(name.capitalize(),
                                        f"{name.capitalize()} must be empty when using API Key."))
    for name in filter(None, (flavour.category, flavour.imported_category)):
        problems += matches(name[:1].upper() + name[1:], settings.get(name),
                            CATEGORY_PATTERN, CATEGORY_MESSAGE)
    return problems


def _valid_host(host: Any) -> bool:
    if not isinstance(host, str) or not host:
        return False
    if re.fullmatch(HOST_PATTERN, host, re.IGNORECASE):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AuthenticationFailed(Exception):
    """DownloadClientAuthenticationException."""


class ClientError(Exception):
    """DownloadClientException: qBittorrent answered, but not as expected."""


class Client:
    """The calls QBittorrentProxyV2 makes, with its cookie cache and one re-login on 403."""

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings
        self.base = f"http://{settings['host']}:{settings['port']}"
        url_base = (settings.get("urlBase") or "").strip("/")
        if url_base:
            self.base += "/" + url_base
        key = f"{self.base}:{settings.get('username')}:{settings.get('password')}"
        with _cookie_lock:
            self.jar = _cookie_jars.setdefault(key, http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.api_key = (settings.get("apiKey") or "").strip()

    def raw(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """Send one request; return (status, body). Connection errors propagate (OSError)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with self.opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def is_api_v2(self) -> bool:
        status, _ = self.raw("/api/v2/app/webapiVersion")
        if status == 404:
            return False
        if status == 401:
            raise ClientError("Failed to connect to qBittorrent. Check your settings and "
                              "qBittorrent configuration.")
        if status >= 400 and status != 403:
            raise ClientError("Failed to connect to qBittorrent, check your settings.")
        return True

    def login(self, again: bool = False) -> None:
        """AuthenticateClient: log in when username and password are set and no cookie is
        cached (or ``again``); never retried after "Fails."."""
        username, password = self.settings.get("username"), self.settings.get("password")
        if not (username or "").strip() or not (password or "").strip():
            if again:
                raise AuthenticationFailed("Failed to authenticate with qBittorrent.")
            return
        if len(self.jar) and not again:
            return
        self.jar.clear()
        status, body = self.raw("/api/v2/auth/login", {"username": username,
                                                       "password": password})
        if status in (401, 403):
            raise AuthenticationFailed("Failed to authenticate with qBittorrent.")
        if status >= 400:
            raise ClientError("Failed to connect to qBittorrent, please check your settings.")
        if body.strip() and body != "Ok.":
            raise AuthenticationFailed("Failed to authenticate with qBittorrent.")

    def call(self, path: str, form: dict[str, str] | None = None) -> str:
        """ProcessRequest: log in if needed, send, and on 403 log in once more and resend."""
        if not self.api_key:
            self.login()
        status, body = self.raw(path, form)
        if status == 403 and not self.api_key:
            self.login(again=True)
            status, body = self.raw(path, form)
        if status in (401, 403) and self.api_key:
            raise AuthenticationFailed("Failed to authenticate with qBittorrent.")
        if status >= 400:
            raise ClientError(f"Failed to connect to qBittorrent, check your settings. "
                              f"(HTTP {status})")
        return body

    def api_version(self) -> tuple[int, ...]:
        """QBittorrentProxySelector.GetApiVersion(force: true)."""
        if not self.is_api_v2():
            raise ClientError("Unable to determine qBittorrent API version")
        text = self.call("/api/v2/app/webapiVersion").strip()
        try:
            return tuple(int(part) for part in text.split("."))
        except ValueError:
            raise ClientError(f"Unexpected webapiVersion answer: {text!r}") from None

    def json(self, path: str) -> Any:
        return json.loads(self.call(path))


def run_test(flavour: Flavour, settings: dict[str, Any]) -> Failures:
    """QBittorrent.Test: TestConnection, then (unless it failed) the category, priority and
    torrent-list checks; return the failures (errors and warnings)."""
    client = Client(settings)
    connection = _test_connection(flavour, client)
    if connection is not None:
        return [connection]
    return [
        found
        for found in (_test_category(flavour, client), _test_priority(flavour, client),
                      _test_torrents(flavour, client))
        if found is not None
    ]


def _test_connection(flavour: Flavour, client: Client) -> dict[str, Any] | None:
    category = client.settings.get(flavour.category)
    try:
        version = client.api_version()
        if version < (1, 5):
            return failure("Host", f"qBittorrent version should be at least 3.2.4. "
                                   f"Version reported is {'.'.join(map(str, version))}")
        if version < (1, 6):
            if (category or "").strip():
                return failure("Category", "Category is not supported")
        elif not (category or "").strip():
            return failure(flavour.category[:1].upper() + flavour.category[1:],
                           "Category is recommended", warning=True)
        if _removes_completed(client.json("/api/v2/app/preferences")):
            return failure("", "qBittorrent is configured to remove torrents when they reach "
                               "their Share Ratio Limit")
    except AuthenticationFailed:
        detail = (f"Please verify your credentials. Also verify if the host running "
                  f"{flavour.app_name} isn't blocked from accessing qBittorrent by WhiteList "
                  f"limitations in the qBittorrent configuration.")
        return failure("ApiKey" if client.api_key else "Username", "Authentication Failure",
                       detail=detail)
    except (TimeoutError, OSError) as error:
        return failure("Host", "Unable to connect to qBittorrent",
                       detail=f"Please verify the hostname and port. ({error})")
    except Exception as error:
        return failure("Host", "Unable to connect to qBittorrent", detail=str(error))
    return None


def _removes_completed(preferences: dict[str, Any]) -> bool:
    """QBittorrent.RemovesCompletedDownloads."""
    limited = preferences.get("max_ratio_enabled") or (
        preferences.get("max_seeding_time_enabled")
        and preferences.get("max_seeding_time", 0) < MINIMUM_RETENTION_MINUTES
    )
    return bool(limited) and preferences.get("max_ratio_act") in REMOVE_ACTIONS


def _test_category(flavour: Flavour, client: Client) -> dict[str, Any] | None:
    names = [
        name for name in (flavour.category, flavour.imported_category)
        if name and (client.settings.get(name) or "").strip()
    ]
    if not names or client.api_version() < (2, 0):
        return None
    labels = client.json("/api/v2/torrents/categories")
    for name in names:
        wanted = client.settings[name]
        if wanted in labels:
            continue
        client.call("/api/v2/torrents/createCategory", {"category": wanted})
        labels = client.json("/api/v2/torrents/categories")
        if wanted not in labels:
            return failure(name[:1].upper() + name[1:], "Configuration of category failed")
    return None


def _test_priority(flavour: Flavour, client: Client) -> dict[str, Any] | None:
    changed = [name for name in flavour.priorities if client.settings.get(name) != 0]
    if not changed:
        return None
    try:
        preferences = client.json("/api/v2/app/preferences")
    except Exception as error:
        return failure("", f"Unknown exception: {error}")
    if not preferences.get("queueing_enabled", True):
        return failure(changed[0][:1].upper() + changed[0][1:], "Queueing Not Enabled")
    return None


def _test_torrents(flavour: Flavour, client: Client) -> dict[str, Any] | None:
    category = client.settings.get(flavour.category)
    query = f"?{urllib.parse.urlencode({'category': category})}" if category else ""
    try:
        client.json("/api/v2/torrents/info" + query)
    except Exception as error:
        return failure("", f"Failed to get the list of torrents: {error}")
    return None
