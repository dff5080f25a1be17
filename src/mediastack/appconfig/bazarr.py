"""Bazarr: ``/config/config/config.yaml``, only mediastack's keys merged in.

Read from bazarr's ``bazarr/app/config.py`` (v1.5.2): the file is
``<config dir>/config/config.yaml`` (the linuxserver image passes ``--config /config``);
dynaconf loads it and every validator with ``must_exist=True`` and a default fills a
missing or invalid key (``validate_all`` in a loop), so a file holding only our keys is
complete. Keys: ``auth.apikey`` (str), ``general.use_sonarr`` / ``general.use_radarr``
(bool), ``sonarr.ip`` (str, default 127.0.0.1), ``sonarr.port`` (int), ``sonarr.base_url``
(str, default ``/``), ``sonarr.apikey`` (str), and the same under ``radarr``.

Sonarr and Radarr share gluetun's namespace with Bazarr, so they are 127.0.0.1 (Bazarr's
own default, and no IPv6 ``localhost`` surprise). Holds API keys: the writer makes it 0600.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from mediastack.appconfig.yaml_mapping import load_mapping

CONFIG_FILE = PurePosixPath("config/config.yaml")  # below the app's /config
ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class ArrLink:
    """Where Bazarr finds one of Sonarr or Radarr, and its API key."""

    port: int
    api_key: str
    base_url: str = "/"


@dataclass(frozen=True)
class BazarrSettings:
    """Bazarr's own API key; ``sonarr``/``radarr`` None: that app is not enabled."""

    api_key: str
    sonarr: ArrLink | None
    radarr: ArrLink | None


def bazarr_config(settings: BazarrSettings, existing: str | None) -> str:
    """Given the settings and the current config.yaml (None: none yet), return the file with
    mediastack's keys set and every other key kept; raise ForeignFileError when the current
    file is not a YAML mapping. Unchanged content comes back byte for byte."""
    document = _load(existing)
    merged = {
        section: dict(values) if isinstance(values, dict) else values
        for section, values in document.items()
    }
    _set(merged, "auth", {"apikey": settings.api_key})
    _set(merged, "general", {"use_sonarr": settings.sonarr is not None})
    _set(merged, "general", {"use_radarr": settings.radarr is not None})
    for section, link in (("sonarr", settings.sonarr), ("radarr", settings.radarr)):
        if link is not None:
            values = {"ip": ADDRESS, "port": link.port, "base_url": link.base_url}
            _set(merged, section, {**values, "apikey": link.api_key})
    if existing is not None and merged == document:
        return existing
    return yaml.safe_dump(merged, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _set(document: dict[str, Any], section: str, values: dict[str, Any]) -> None:
    current = document.get(section)
    document[section] = {**(current if isinstance(current, dict) else {}), **values}


def _load(existing: str | None) -> dict[str, Any]:
    return {} if existing is None else load_mapping(existing)
