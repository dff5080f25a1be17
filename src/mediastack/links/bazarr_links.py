"""Bazarr's links: Sonarr and Radarr switched on with their keys, and a language profile
from ``apps.bazarr.languages`` set as the default for new series and movies (Bazarr
downloads nothing without one).

Read from Bazarr's ``bazarr/api/system/settings.py`` (1.4/1.5): ``POST /api/system/settings``
is a form; ``languages-enabled`` (repeated) replaces the enabled languages,
``languages-profiles`` (JSON) replaces the whole list of profiles (one left out is deleted:
every existing profile is sent back), ``settings-<section>-<key>`` set the config keys,
booleans as lowercase ``true``/``false``. ``GET /api/system/languages/profiles`` lists the
profiles; auth is the ``X-API-KEY`` header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mediastack.links.link import Context, Inspection, LinkStatus, ok
from mediastack.links.model import Request

PROFILE_NAME = "mediastack"
PROFILES_PATH = "/api/system/languages/profiles"
SETTINGS_PATH = "/api/system/settings"
ARR_PORTS = {"sonarr": 8989, "radarr": 7878}
DEFAULT_KEYS = {"sonarr": "serie", "radarr": "movie"}


@dataclass(frozen=True)
class BazarrLink:
    """Bazarr uses ``arr_keys``' apps and the ``languages`` profile by default."""

    languages: tuple[str, ...]
    arr_keys: Mapping[str, str] = field(repr=False)  # sonarr/radarr -> API key
    app: str = "bazarr"
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return "bazarr:languages"

    @property
    def title(self) -> str:
        return f"Sonarr/Radarr and subtitles in {', '.join(self.languages)}"

    def inspect(self, context: Context) -> Inspection:
        api = context.api(self.app)
        profiles: list[dict[str, Any]] = list(api.get(PROFILES_PATH) or [])
        settings = api.get(SETTINGS_PATH) or {}
        general = settings.get("general", {}) if isinstance(settings, Mapping) else {}
        ours = next((item for item in profiles if item.get("name") == PROFILE_NAME), None)
        drift = self._drift(ours, general, settings)
        if not drift:
            return ok()
        form = self._form(profiles, ours)
        request = Request(
            self.app, "POST", SETTINGS_PATH, form, form=True, secrets=tuple(self.arr_keys.values())
        )
        status = LinkStatus.MISSING if ours is None else LinkStatus.DRIFTED
        return Inspection(status, "; ".join(drift), (request,))

    def _drift(
        self, ours: Mapping[str, Any] | None, general: Mapping[str, Any], settings: Any
    ) -> list[str]:
        drift = []
        if ours is None:
            drift.append(f"no language profile {PROFILE_NAME!r}")
        elif [item.get("language") for item in ours.get("items", [])] != list(self.languages):
            drift.append(f"profile {PROFILE_NAME!r} is not {', '.join(self.languages)}")
        for app, prefix in DEFAULT_KEYS.items():
            if app not in self.arr_keys:
                continue
            if general.get(f"use_{app}") is not True:
                drift.append(f"{app} is off")
            elif settings.get(app, {}).get("apikey") != self.arr_keys[app]:
                drift.append(f"{app}'s API key differs")
            profile = ours.get("profileId") if ours else None
            if general.get(f"{prefix}_default_enabled") is not True or (
                str(general.get(f"{prefix}_default_profile")) != str(profile)
            ):
                drift.append(f"{prefix} default profile is not {PROFILE_NAME!r}")
        return drift

    def _form(
        self, profiles: Sequence[Mapping[str, Any]], ours: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        identifier = ours["profileId"] if ours else 1 + max(
            [0, *(int(item.get("profileId", 0)) for item in profiles)]
        )
        mine = {
            "profileId": identifier, "name": PROFILE_NAME, "cutoff": None,
            "items": [
                {"id": index + 1, "language": code, "forced": "False", "hi": "False",
                 "audio_exclude": "False"}
                for index, code in enumerate(self.languages)
            ],
            "mustContain": [], "mustNotContain": [], "originalFormat": False,
        }
        kept = [dict(item) for item in profiles if item.get("profileId") != identifier]
        enabled = {item.get("language") for profile in kept for item in profile.get("items", [])}
        form: dict[str, Any] = {
            "languages-enabled": sorted({*self.languages, *(c for c in enabled if c)}),
            "languages-profiles": json.dumps([*kept, mine]),
        }
        for app, prefix in DEFAULT_KEYS.items():
            if app in self.arr_keys:
                form |= {
                    f"settings-general-use_{app}": "true",
                    f"settings-{app}-ip": "127.0.0.1",
                    f"settings-{app}-port": str(ARR_PORTS[app]),
                    f"settings-{app}-apikey": self.arr_keys[app],
                    f"settings-general-{prefix}_default_enabled": "true",
                    f"settings-general-{prefix}_default_profile": str(identifier),
                }
        return form
