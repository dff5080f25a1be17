"""What Sonarr 4, Radarr 6 and Prowlarr 2 share: the API key, /ping, system/status, tags,
config/host, and the stand-in's own /_standin/ endpoints.

Sources (Sonarr v4.0.19.2979; Radarr v6.0.3.10276 and Prowlarr v2.3.5.5323 are alike):
- ``src/Sonarr.Http/Authentication/ApiKeyAuthenticationHandler.cs``: the key from the
  ``apikey`` query parameter, else the ``X-Api-Key`` header, else ``Authorization: Bearer``;
  none or a wrong one: 401 with no body. ``/ping`` is anonymous (``Ping/PingController.cs``).
  The key comes from ``<APP>__AUTH__APIKEY`` (``ConfigFileProvider`` reads the environment
  over config.xml); without it the app makes one and keeps it (here: in the state file).
- ``src/Sonarr.Api.V3/System/SystemController.cs``: GET system/status.
- ``src/NzbDrone.Core/Tags/TagService.cs`` ``Add``: a label that exists (any case) returns
  the existing tag; a new one is stored lowercased.
- ``src/Sonarr.Api.V3/Config/HostConfigController.cs``: GET gives the whole resource with
  ``username``, ``password`` (the stored user's password hash, not the password) and an empty
  ``passwordConfirmation``; PUT validates (username and password required for basic/forms,
  passwordConfirmation must match unless the password is the stored hash, port 1..65535 and
  not below 1024 except 80/443, urlBase, logSizeLimit 1..10, backupInterval 1..7,
  backupRetention 1..90, branch not empty), saves, and answers 202.
  ``<APP>__AUTH__METHOD`` / ``__REQUIRED`` win over what was saved, as the environment does
  over config.xml.
Simplified: the password hash is a salted SHA-256, not the real PBKDF2.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from typing import Any

from .schema import Failures, between, not_empty
from .store import Store
from .web import App, Counters, Request, Response, ValidationFailed, failure, json_response

AUTHENTICATION_METHODS = ("none", "basic", "forms", "external")
AUTHENTICATION_REQUIRED = ("enabled", "disabledForLocalAddresses")
URL_BASE_PATTERN = r"^(?!\/?https?://[-_a-z0-9.]+)"


def api_key(store: Store, variable: str) -> str:
    """Return the key from ``variable``, else the one made and kept on first start."""
    from_environment = os.environ.get(variable, "").strip()
    if from_environment:
        return from_environment
    kept = store.setting("apiKey")
    if not kept:
        kept = secrets.token_hex(16)
        store.set_setting("apiKey", kept)
    return str(kept)


def key_checker(key: str) -> Any:
    """Return the ApiKeyAuthenticationHandler check for ``key``."""

    def is_authorised(request: Request) -> bool:
        given = request.query_value("apikey")
        if given is None:
            given = request.header("X-Api-Key")
        if given is None:
            bearer = request.header("Authorization") or ""
            given = bearer.replace("Bearer ", "") if bearer else None
        return bool(given) and given == key

    return is_authorised


def register_common(app: App, store: Store, counters: Counters, *, api: str, app_name: str,
                    version: str, env_prefix: str, key: str) -> None:
    """Add /ping, status, tags, config/host and /_standin/ to ``app``."""
    _register_standin(app, counters)

    @app.route("GET", "/ping")
    def ping(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, {"status": "OK"})

    @app.route("GET", api + "/system/status")
    def status(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, _status(app_name, version, env_prefix, store))

    @app.route("GET", api + "/tag")
    def tags(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, store.all("tag"))

    @app.route("POST", api + "/tag")
    def add_tag(request: Request, match: re.Match[str]) -> Response:
        label = (request.json() or {}).get("label")
        if not isinstance(label, str) or not label.strip():
            raise ValidationFailed(not_empty("Label", label))
        for tag in store.all("tag"):
            if tag["label"].lower() == label.lower():
                return json_response(201, tag)
        return json_response(201, store.insert("tag", {"label": label.lower()}))

    @app.route("GET", api + r"/config/host(?:/1)?")
    def host_config(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, _host_config(store, env_prefix, key, app_name))

    @app.route("PUT", api + r"/config/host(?:/\d+)?")
    def save_host_config(request: Request, match: re.Match[str]) -> Response:
        body = request.json()
        current = _host_config(store, env_prefix, key, app_name)
        resource = {**current, **(body if isinstance(body, dict) else {})}
        problems = _host_problems(resource, store)
        if problems:
            raise ValidationFailed(problems)
        _save_host_config(store, resource)
        return json_response(202, _host_config(store, env_prefix, key, app_name))


def _register_standin(app: App, counters: Counters) -> None:
    @app.route("GET", "/_standin/requests")
    def requests(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, counters.snapshot())

    @app.route("POST", "/_standin/reset-counts")
    def reset(request: Request, match: re.Match[str]) -> Response:
        counters.reset()
        return json_response(200, {})


def _status(app_name: str, version: str, env_prefix: str, store: Store) -> dict[str, Any]:
    method = _environment_enum(f"{env_prefix}__AUTH__METHOD", AUTHENTICATION_METHODS)
    return {
        "appName": app_name,
        "instanceName": store.setting("host", {}).get("instanceName", app_name),
        "version": version,
        "isDebug": False,
        "isProduction": True,
        "isAdmin": False,
        "isUserInteractive": False,
        "startupPath": f"/app/{app_name.lower()}/bin",
        "appData": "/config",
        "osName": "debian",
        "isNetCore": True,
        "isLinux": True,
        "isOsx": False,
        "isWindows": False,
        "isDocker": True,
        "mode": "console",
        "branch": "main" if app_name == "Sonarr" else "master",
        "authentication": method or store.setting("host", {}).get("authenticationMethod",
                                                                  "none"),
        "databaseType": "sqLite",
        "urlBase": "",
        "runtimeName": ".NET",
        "packageAuthor": "[linuxserver.io](https://linuxserver.io)",
        "packageUpdateMechanism": "docker",
    }


def _environment_enum(variable: str, names: tuple[str, ...]) -> str | None:
    value = os.environ.get(variable, "").strip()
    for name in names:
        if value.lower() == name.lower():
            return name
    return None


def _host_config(store: Store, env_prefix: str, key: str, app_name: str) -> dict[str, Any]:
    saved = store.setting("host", {})
    user = store.setting("user")
    resource = {
        "id": 1,
        "bindAddress": "*",
        "port": int(os.environ.get("PORT", "0") or 0),
        "sslPort": 9898,
        "enableSsl": False,
        "launchBrowser": True,
        "authenticationMethod": "none",
        "authenticationRequired": "enabled",
        "analyticsEnabled": True,
        "logLevel": "info",
        "logSizeLimit": 1,
        "consoleLogLevel": "",
        "branch": "main",
        "sslCertPath": "",
        "sslCertPassword": "",
        "urlBase": "",
        "instanceName": app_name,
        "applicationUrl": "",
        "updateAutomatically": False,
        "updateMechanism": "docker",
        "updateScriptPath": "",
        "proxyEnabled": False,
        "proxyType": "http",
        "proxyHostname": "",
        "proxyPort": 8080,
        "proxyUsername": "",
        "proxyPassword": "",
        "proxyBypassFilter": "",
        "proxyBypassLocalAddresses": True,
        "certificateValidation": "enabled",
        "backupFolder": "Backups",
        "backupInterval": 7,
        "backupRetention": 28,
        "trustCgnatIpAddresses": False,
        **saved,
    }
    method = _environment_enum(f"{env_prefix}__AUTH__METHOD", AUTHENTICATION_METHODS)
    required = _environment_enum(f"{env_prefix}__AUTH__REQUIRED", AUTHENTICATION_REQUIRED)
    resource["authenticationMethod"] = method or resource["authenticationMethod"]
    resource["authenticationRequired"] = required or resource["authenticationRequired"]
    resource["apiKey"] = key
    resource["username"] = user["username"] if user else ""
    resource["password"] = user["password"] if user else ""
    resource["passwordConfirmation"] = ""
    return resource


def _host_problems(resource: dict[str, Any], store: Store) -> Failures:
    problems: Failures = []
    method = str(resource.get("authenticationMethod") or "").lower()
    if method not in AUTHENTICATION_METHODS:
        problems.append(failure("AuthenticationMethod", f"'{method}' is not a valid value"))
    required = resource.get("authenticationRequired")
    if required not in AUTHENTICATION_REQUIRED:
        problems.append(failure("AuthenticationRequired", f"'{required}' is not a valid value"))
    if method in ("basic", "forms"):
        problems += not_empty("Username", resource.get("username"))
        problems += not_empty("Password", resource.get("password"))
    user = store.setting("user")
    same_hash = user is not None and user["password"] == resource.get("password")
    if not same_hash and resource.get("password") != resource.get("passwordConfirmation"):
        problems.append(failure("PasswordConfirmation", "Must match Password"))
    problems += _port_problems("Port", resource.get("port"))
    url_base = resource.get("urlBase") or ""
    if not re.match(URL_BASE_PATTERN, url_base, re.IGNORECASE):
        problems.append(failure("UrlBase", "Must be a valid URL path (ie: '/sonarr')"))
    for name, low, high in (("logSizeLimit", 1, 10), ("backupInterval", 1, 7),
                            ("backupRetention", 1, 90)):
        problems += between(name[:1].upper() + name[1:], int(resource.get(name) or 0), low, high)
    if not resource.get("branch"):
        problems.append(failure("Branch", "Branch name is required, 'main' is the default"))
    return problems


def _port_problems(name: str, port: Any) -> Failures:
    """RuleBuilderExtensions.ValidPort: 1..65535, and not 1..1024 unless 80 or 443."""
    value = port if isinstance(port, int) else 0
    problems = between(name, value, 1, 65535)
    if not problems and value <= 1024 and value not in (80, 443):
        problems.append(failure(name, "'Port' is not valid.", attempted=port))
    return problems


def _save_host_config(store: Store, resource: dict[str, Any]) -> None:
    kept = {key: value for key, value in resource.items()
            if key not in ("id", "apiKey", "username", "password", "passwordConfirmation")}
    store.set_setting("host", kept)
    username, password = resource.get("username"), resource.get("password")
    if username and password:
        user = store.setting("user")
        if user is None or user["password"] != password:
            salt = secrets.token_hex(8)
            digest = hashlib.sha256((salt + password).encode()).hexdigest()
            user = {"username": username, "password": f"{salt}:{digest}"}
        store.set_setting("user", {**user, "username": username})
