"""Sonarr 4 and Radarr 6 (API v3): root folders, download clients (qBittorrent), indexers
(Newznab, Torznab), quality profiles, on top of common.py.

Sources: Sonarr v4.0.19.2979 (main) and Radarr v6.0.3.10276 (develop):
- ``src/Sonarr.Api.V3/RootFolders/RootFolderController.cs``: POST validates the path with
  ``Cascade(CascadeMode.Stop)``: ``IsValidPath`` ("Invalid Path: '{path}'"),
  ``RootFolderValidator`` ("Path '{path}' is already configured as a root folder"),
  ``PathExistsValidator`` ("Path '{path}' does not exist"), ``SystemFolderValidator``
  (``NzbDrone.Common/Disk/SystemFolders.cs``: /bin /boot /lib /sbin /proc /usr/bin),
  ``FolderWritableValidator`` ("Folder '{path}' is not writable by user '{user}'": the app
  writes a test file, so this runs as the app's user); the resource is {id, path,
  accessible, freeSpace, unmappedFolders}.
- ``DownloadClient/DownloadClientResource.cs``, ``Indexers/IndexerResource.cs``: the
  resource keys and their defaults; an indexer is enabled when any of RSS, automatic or
  interactive search is (``IndexerDefinition.Enable``).
- ``src/Sonarr.Http/...``: every response carries ``X-Application-Version``, which Prowlarr's
  application test reads (``SonarrV3Proxy.TestConnection``).
- ``QualityProfileController.cs``: POST creates a profile; its name must not be empty and
  must be unique (``QualityProfileValidation``); recyclarr's sync creates guide profiles so.
  Qualities and custom formats are not modelled. ``POST /_standin/qualityprofile`` seeds one.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import newznab, qbittorrent, series
from .common import register_common
from .providers import ProviderKind, register
from .schema import FieldSpec, Implementation
from .store import Store
from .web import (
    ApiError,
    App,
    Counters,
    Request,
    Response,
    ValidationFailed,
    failure,
    json_response,
)

API = "/api/v3"
SYSTEM_FOLDERS = ("/bin", "/boot", "/lib", "/sbin", "/proc", "/usr/bin")


@dataclass(frozen=True)
class Servarr:
    """What differs between Sonarr and Radarr."""

    app_name: str
    version: str
    env_prefix: str
    wiki: str
    qbittorrent: qbittorrent.Flavour
    search_type: str
    indexer_categories: tuple[int, ...]
    anime: bool


SONARR = Servarr(
    app_name="Sonarr", version="4.0.19.2979", env_prefix="SONARR", wiki="sonarr",
    qbittorrent=qbittorrent.Flavour("Sonarr", "tvCategory", "tv-sonarr", "tvImportedCategory",
                                    ("recentTvPriority", "olderTvPriority"), True),
    search_type="tvsearch", indexer_categories=(5030, 5040), anime=True,
)
RADARR = Servarr(
    app_name="Radarr", version="6.0.3.10276", env_prefix="RADARR", wiki="radarr",
    qbittorrent=qbittorrent.Flavour("Radarr", "movieCategory", "radarr",
                                    "movieImportedCategory",
                                    ("recentMoviePriority", "olderMoviePriority"), False),
    search_type="movie", indexer_categories=(2000, 2010, 2020, 2030, 2040, 2045, 2050, 2060),
    anime=False,
)


def build(flavour: Servarr, store: Store, counters: Counters, key: str) -> App:
    from .common import key_checker

    app = App(flavour.app_name, [], key_checker(key), frozenset({"/ping", "/"}),
              {"X-Application-Version": flavour.version})
    register_common(app, store, counters, api=API, app_name=flavour.app_name,
                    version=flavour.version, env_prefix=flavour.env_prefix, key=key)
    _register_root_folders(app, store)
    register(app, store, _download_clients(flavour))
    register(app, store, _indexers(flavour))
    _register_quality_profiles(app, store, flavour)
    if flavour.app_name == "Sonarr":
        series.register_series(app, store, flavour.qbittorrent)
    return app


def _download_clients(flavour: Servarr) -> ProviderKind:
    settings = flavour.qbittorrent
    implementation = Implementation(
        implementation="QBittorrent",
        implementation_name="qBittorrent",
        config_contract="QBittorrentSettings",
        fields=qbittorrent.settings_fields(settings),
        validate=lambda values: qbittorrent.validate(settings, values),
        test=lambda values, definition: qbittorrent.run_test(settings, values),
        info_link=f"https://wiki.servarr.com/{flavour.wiki}/supported#qbittorrent",
        fixed={"protocol": "torrent"},
    )
    return ProviderKind(
        route=f"{API}/downloadclient",
        kind="downloadclient",
        implementations=(implementation,),
        resource_defaults={"enable": False, "protocol": "unknown", "priority": 0,
                           "removeCompletedDownloads": False, "removeFailedDownloads": False},
        template={"enable": True, "priority": 1, "removeCompletedDownloads": True,
                  "removeFailedDownloads": True},
        is_enabled=lambda definition: bool(definition.get("enable")),
    )


def _indexer_fields(flavour: Servarr, torrent: bool) -> tuple[FieldSpec, ...]:
    fields = [
        FieldSpec("baseUrl", "URL", "string", None),
        FieldSpec("apiPath", "API Path", "string", "/api", advanced=True),
        FieldSpec("apiKey", "API Key", "string", None, privacy="apiKey"),
        FieldSpec("categories", "Categories", "ints", list(flavour.indexer_categories),
                  type="select"),
    ]
    if flavour.anime:
        fields += [
            FieldSpec("animeCategories", "Anime Categories", "ints", [], type="select"),
            FieldSpec("animeStandardFormatSearch", "Anime Standard Format Search", "bool",
                      False, type="checkbox"),
        ]
    fields += [
        FieldSpec("additionalParameters", "Additional Parameters", "string", None,
                  advanced=True),
        FieldSpec("multiLanguages", "Multi Languages", "ints", [], type="select",
                  advanced=True),
        FieldSpec("failDownloads", "Fail Downloads", "ints", [], type="select", advanced=True),
    ]
    if torrent:
        fields += [
            FieldSpec("minimumSeeders", "Minimum Seeders", "int", 1, type="number",
                      advanced=True),
            FieldSpec("seedCriteria.seedRatio", "Seed Ratio", "nfloat", None, type="number"),
            FieldSpec("seedCriteria.seedTime", "Seed Time", "nint", None, type="number",
                      unit="minutes"),
        ]
        if flavour.anime:
            fields.append(FieldSpec("seedCriteria.seasonPackSeedTime", "Season-Pack Seed Time",
                                    "nint", None, type="number", unit="minutes"))
        fields.append(FieldSpec("rejectBlocklistedTorrentHashesWhileGrabbing",
                                "Reject Blocklisted Torrent Hashes While Grabbing", "bool",
                                False, type="checkbox", advanced=True))
    return tuple(fields)


def _indexers(flavour: Servarr) -> ProviderKind:
    def implementation(name: str, torrent: bool) -> Implementation:
        return Implementation(
            implementation=name,
            implementation_name=name,
            config_contract=f"{name}Settings",
            fields=_indexer_fields(flavour, torrent),
            validate=lambda values: newznab.validate(values, anime=flavour.anime),
            test=lambda values, definition: newznab.run_test(
                values, search_type=flavour.search_type),
            info_link=f"https://wiki.servarr.com/{flavour.wiki}/supported#{name.lower()}",
            template={"supportsRss": True, "supportsSearch": True},
            fixed={"protocol": "torrent" if torrent else "usenet"},
        )

    return ProviderKind(
        route=f"{API}/indexer",
        kind="indexer",
        implementations=(implementation("Newznab", False), implementation("Torznab", True)),
        resource_defaults={"enableRss": False, "enableAutomaticSearch": False,
                           "enableInteractiveSearch": False, "supportsRss": True,
                           "supportsSearch": True, "protocol": "unknown", "priority": 25,
                           "seasonSearchMaximumSingleEpisodeAge": 0, "downloadClientId": 0},
        template={"enableRss": True, "enableAutomaticSearch": True,
                  "enableInteractiveSearch": True},
        is_enabled=lambda definition: any(
            definition.get(key)
            for key in ("enableRss", "enableAutomaticSearch", "enableInteractiveSearch")
        ),
    )


def _register_root_folders(app: App, store: Store) -> None:
    @app.route("GET", API + "/rootfolder")
    def list_all(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, [_root_folder(item) for item in store.all("rootfolder")])

    @app.route("GET", API + r"/rootfolder/(\d+)")
    def get_one(request: Request, match: re.Match[str]) -> Response:
        found = store.get("rootfolder", int(match.group(1)))
        if found is None:
            raise ApiError(404, {"message": "NotFound"})
        return json_response(200, _root_folder(found))

    @app.route("POST", API + "/rootfolder")
    def create(request: Request, match: re.Match[str]) -> Response:
        body = request.json()
        path = body.get("path") if isinstance(body, dict) else None
        problem = _path_problem(path, store)
        if problem is not None:
            raise ValidationFailed([problem])
        assert isinstance(path, str)
        return json_response(201, _root_folder(store.insert("rootfolder", {"path": path})))

    @app.route("DELETE", API + r"/rootfolder/(\d+)")
    def delete(request: Request, match: re.Match[str]) -> Response:
        store.delete("rootfolder", int(match.group(1)))
        return json_response(200, {})


def _path_problem(path: Any, store: Store) -> dict[str, Any] | None:
    """The first failing validator of RootFolderController's cascade, or None."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        return failure("Path", f"Invalid Path: '{path}'", attempted=path)
    clean = _clean(path)
    if any(_clean(item["path"]) == clean for item in store.all("rootfolder")):
        return failure("Path", f"Path '{path}' is already configured as a root folder",
                       attempted=path)
    if not os.path.isdir(path):
        return failure("Path", f"Path '{path}' does not exist", attempted=path)
    for system in SYSTEM_FOLDERS:
        if clean == system or clean.startswith(system + "/"):
            relationship = "set to" if clean == system else "child of"
            return failure("Path", f"Path '{path}' is {relationship} system folder {system}",
                           attempted=path)
    if not _writable(path):
        return failure("Path", f"Folder '{path}' is not writable by user '{_user_name()}'",
                       attempted=path)
    return None


def _clean(path: str) -> str:
    return str(PurePosixPath(path))


def _writable(path: str) -> bool:
    """DiskProvider.FolderWritable: create and delete a file in the folder."""
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix="sonarr_write_test"):
            return True
    except OSError:
        return False


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _root_folder(item: dict[str, Any]) -> dict[str, Any]:
    path = item["path"]
    folder = Path(path)
    accessible = folder.is_dir()
    unmapped = []
    if accessible:
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                unmapped.append({"name": child.name, "path": str(child),
                                 "relativePath": child.name})
    return {
        "id": item["id"],
        "path": _clean(path),  # RootFolderResource: GetCleanPath, no trailing slash
        "accessible": accessible,
        "freeSpace": shutil.disk_usage(path).free if accessible else None,
        "unmappedFolders": unmapped,
    }


def _register_quality_profiles(app: App, store: Store, flavour: Servarr) -> None:
    @app.route("GET", API + "/qualityprofile")
    def list_all(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, store.all("qualityprofile"))

    @app.route("GET", API + r"/qualityprofile/(\d+)")
    def get_one(request: Request, match: re.Match[str]) -> Response:
        found = store.get("qualityprofile", int(match.group(1)))
        if found is None:
            raise ApiError(404, {"message": "NotFound"})
        return json_response(200, found)

    @app.route("POST", API + "/qualityprofile")
    def create(request: Request, match: re.Match[str]) -> Response:
        body = request.json() or {}
        name = str(body.get("name") or "").strip()
        if not name:
            raise ApiError(400, [_profile_problem("'Name' must not be empty.")])
        if any(item["name"].lower() == name.lower() for item in store.all("qualityprofile")):
            raise ApiError(400, [_profile_problem("Must be unique")])
        return seed(request, match)

    @app.route("POST", "/_standin/qualityprofile")
    def seed(request: Request, match: re.Match[str]) -> Response:
        body = request.json() or {}
        profile: dict[str, Any] = {
            "name": str(body.get("name") or "Any"), "upgradeAllowed": False, "cutoff": 1,
            "items": [], "minFormatScore": 0, "cutoffFormatScore": 0,
            "minUpgradeFormatScore": 1, "formatItems": [],
        }
        if flavour.app_name == "Radarr":
            profile["language"] = {"id": 1, "name": "English"}
        return json_response(201, store.insert("qualityprofile", profile))


def _profile_problem(message: str) -> dict[str, Any]:
    return {"propertyName": "Name", "errorMessage": message, "severity": "error",
            "isWarning": False}
