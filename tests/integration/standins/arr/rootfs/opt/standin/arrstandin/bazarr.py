"""Bazarr (its own API under /api): settings (form POST), language profiles, status, ping.

Sources: bazarr v1.5.2 (master 920853d):
- ``bazarr/api/utils.py`` ``authenticate``: the key from ``?apikey=``, a form field
  ``apikey`` or the ``X-API-KEY`` header must equal ``settings.auth.apikey``; else 401.
- ``bazarr/app/config.py``: settings live in ``<config>/config/config.yaml`` (the linuxserver
  image: /config/config/config.yaml); at start every validator with a default replaces a
  missing or invalid key (``validate_all`` in a loop). ``save_settings``: each form key
  ``settings-<section>-<key>`` becomes a value (one value unless an array key; "" kept, other
  empty values such as "null" become None; cast to int when it parses, except str keys such
  as password; then exactly ``true``/``false`` become booleans: ``True`` stays a string and
  fails a bool validator); then the validators run: a failure reloads the old settings and
  answers 406 with the message, else the whole settings are written to config.yaml and the
  answer is 204. ``settings-auth-password`` is stored as its MD5 unless unchanged.
- ``bazarr/api/system/settings.py``: ``languages-profiles`` (a JSON list) replaces the
  profiles: each item needs profileId, name, cutoff, items, mustContain, mustNotContain,
  originalFormat (a missing key is a 500, as the KeyError is there); ids not sent are
  deleted. ``bazarr/app/database.py`` ``update_profile_id_list`` gives the GET shape.
- ``bazarr/api/system/status.py`` (``{"data": {...}}``), ``ping.py`` (anonymous).
Simplified: only the validators of the general/sonarr/radarr/auth keys mediastack touches
are checked (types and ranges); config.yaml is read and written by a small YAML subset
reader (two levels of mappings, scalars and lists), written in JSON-compatible flow style.
Profiles are kept in the state file (Bazarr keeps them in its database).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import secrets
from pathlib import Path
from typing import Any

from . import yaml_subset
from .store import Store
from .web import ApiError, App, Counters, Request, Response, json_response

VERSION = "1.5.2"
CONFIG_FILE = Path("/config/config/config.yaml")
EMPTY_VALUES = ("", "None", "null", "undefined", None, [])
STR_KEYS = ("chmod", "log_include_filter", "log_exclude_filter", "password", "f_password",
            "hashed_password")
ARRAY_KEYS = ("excluded_tags", "exclude", "included_codecs", "subzero_mods",
              "excluded_series_types", "enabled_providers", "enabled_integrations")
PROFILE_KEYS = ("profileId", "name", "cutoff", "items", "mustContain", "mustNotContain",
                "originalFormat")


def _arr_validators(section: str, port: int) -> dict[str, tuple[Any, Any, tuple[int, int] | None]]:
    return {
        f"{section}.ip": (str, "127.0.0.1", None),
        f"{section}.port": (int, port, (1, 65535)),
        f"{section}.base_url": (str, "/", None),
        f"{section}.ssl": (bool, False, None),
        f"{section}.http_timeout": (int, 60, None),
        f"{section}.apikey": (str, "", None),
        f"{section}.only_monitored": (bool, False, None),
        f"{section}.excluded_tags": (list, [], None),
    }


# name -> (type, default, inclusive range): Validator(..., is_type_of=..., gte=, lte=).
VALIDATORS: dict[str, tuple[Any, Any, tuple[int, int] | None]] = {
    "general.ip": (str, "*", None),
    "general.port": (int, 6767, (1, 65535)),
    "general.base_url": (str, "", None),
    "general.use_sonarr": (bool, False, None),
    "general.use_radarr": (bool, False, None),
    "general.serie_default_enabled": (bool, False, None),
    "general.serie_default_profile": ((int, str), "", None),
    "general.movie_default_enabled": (bool, False, None),
    "general.movie_default_profile": ((int, str), "", None),
    "auth.type": ((str, type(None)), None, None),
    "auth.username": (str, "", None),
    "auth.password": (str, "", None),
    **_arr_validators("sonarr", 8989),
    **_arr_validators("radarr", 7878),
}


class Settings:
    """Bazarr's settings, backed by config.yaml."""

    def __init__(self, path: Path):
        self.path = path
        document = yaml_subset.load(path.read_text()) if path.exists() else {}
        self.values: dict[str, dict[str, Any]] = {
            section: dict(values) for section, values in document.items()
            if isinstance(values, dict)
        }
        for name, (_, default, _) in VALIDATORS.items():
            if _problem(name, self.get(name)) is not None:
                self.set(name, copy.deepcopy(default))
        if not self.get("auth.apikey"):
            self.set("auth.apikey", secrets.token_hex(16))
        self.write()

    def get(self, name: str) -> Any:
        section, _, key = name.partition(".")
        return self.values.get(section, {}).get(key)

    def set(self, name: str, value: Any) -> None:
        section, _, key = name.partition(".")
        self.values.setdefault(section, {})[key] = value

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(yaml_subset.dump(self.values))


def _problem(name: str, value: Any) -> str | None:
    kind, _, bounds = VALIDATORS[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if value is None and type(None) not in kinds:
        return f"{name} is required in env main"
    wrong_type = not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool))
    if wrong_type:
        names = ", ".join(f"<class '{item.__name__}'>" for item in kinds)
        return f"{name} must is_type_of {names} but it is {value!r} in env main"
    if bounds and not bounds[0] <= value <= bounds[1]:
        return f"{name} must gte {bounds[0]} and lte {bounds[1]} but it is {value} in env main"
    return None


def build(store: Store, counters: Counters, config_file: Path = CONFIG_FILE) -> App:
    from .common import _register_standin

    settings = Settings(config_file)

    def is_authorised(request: Request) -> bool:
        key = settings.get("auth.apikey")
        form = request.form() if _is_form(request) else {}
        given = [request.query_value("apikey"), (form.get("apikey") or [None])[0],
                 request.header("X-API-KEY")]
        return key in given

    app = App("Bazarr", [], is_authorised, frozenset({"/", "/api/system/ping"}))
    _register_standin(app, counters)

    @app.route("GET", "/")
    def index(request: Request, match: re.Match[str]) -> Response:
        return Response(200, b"<!doctype html><title>Bazarr</title>", "text/html")

    @app.route("GET", "/api/system/ping")
    def ping(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, {"status": "OK"})

    @app.route("GET", "/api/system/status")
    def status(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, {"data": {
            "bazarr_version": VERSION, "package_version": "", "sonarr_version": "",
            "radarr_version": "", "operating_system": "Linux", "python_version": "3.11",
            "bazarr_directory": "/app/bazarr/bin", "bazarr_config_directory": "/config",
        }})

    @app.route("GET", "/api/system/settings")
    def get_settings(request: Request, match: re.Match[str]) -> Response:
        data: dict[str, Any] = copy.deepcopy(settings.values)
        data["notifications"] = {"providers": []}
        return json_response(200, data)

    @app.route("POST", "/api/system/settings")
    def post_settings(request: Request, match: re.Match[str]) -> Response:
        form = request.form()
        profiles = (form.get("languages-profiles") or [""])[0]
        if profiles:
            store.set_setting("profiles", _profiles(json.loads(profiles)))
        return _save(settings, form)

    @app.route("GET", "/api/system/languages/profiles")
    def get_profiles(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, store.setting("profiles", []))

    return app


def _is_form(request: Request) -> bool:
    content_type = request.header("Content-Type") or ""
    return request.method == "POST" and "application/x-www-form-urlencoded" in content_type


def _profiles(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The profiles replacing all others; a missing key fails as Bazarr's KeyError does."""
    kept = []
    for item in items:
        missing = [key for key in PROFILE_KEYS if key not in item]
        if missing:
            raise ApiError(500, {"message": f"KeyError: {missing[0]!r}"})
        kept.append({**{key: item[key] for key in PROFILE_KEYS}, "tag": item.get("tag")})
    return kept


def _save(settings: Settings, form: dict[str, list[str]]) -> Response:
    """save_settings: apply every settings-* key, validate, roll back on a failure."""
    before = copy.deepcopy(settings.values)
    for key, values in form.items():
        parts = key.split("-")
        if parts[0] != "settings" or len(parts) != 3:
            continue
        value = _coerce(parts[-1], values)
        if key == "settings-auth-password" and value not in (None, settings.get("auth.password")):
            value = hashlib.md5(str(value).encode()).hexdigest()
        if key in ("settings-general-base_url", "settings-sonarr-base_url",
                   "settings-radarr-base_url") and isinstance(value, str):
            value = re.sub("/{2,}", "/", value)
        settings.set(f"{parts[1]}.{parts[2]}", value)
    for name in VALIDATORS:
        problem = _problem(name, settings.get(name))
        if problem is not None:
            settings.values = before
            return Response(406, problem.encode(), "text/html; charset=utf-8")
    settings.write()
    return Response(204)


def _coerce(name: str, values: list[str]) -> Any:
    value: Any = values
    if len(values) == 1 and name not in ARRAY_KEYS:
        value = values[0]
        if value in EMPTY_VALUES and value != "":
            value = None
    if isinstance(value, str) and name not in STR_KEYS:
        with contextlib.suppress(ValueError):
            value = int(value)
    if name in ARRAY_KEYS and (not value or value[0] in EMPTY_VALUES):
        value = []
    if value == "true":
        return True
    if value == "false":
        return False
    return value
