"""The links mediastack wants, from the config and .env alone (pure), in dependency order.

Checked against (field names, defaults, validators read from each app's sources):
Sonarr 4.0 and Radarr 6.0 (API v3: ``QBittorrentSettings.cs``, ``RootFolderController.cs``),
Prowlarr 2.0 (API v1: ``Applications/Sonarr/SonarrSettings.cs``,
``Applications/Radarr/RadarrSettings.cs``, ``IndexerProxies/FlareSolverr/
FlareSolverrSettings.cs``, ``Download/Clients/QBittorrent/QBittorrentSettings.cs``),
qBittorrent 5.0 (WebAPI 2.11; 4.5 in the lab), cross-seed 6.13, Recyclarr 8.

Every app in gluetun's namespace reaches the others on ``localhost``: the download client
host, Prowlarr's ``prowlarrUrl`` and each application's ``baseUrl`` are all localhost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mediastack.config import LoadedConfig
from mediastack.links.arr_links import (
    LoginLink,
    QualityProfilesLink,
    RootFolderLink,
    TagLink,
    UntaggedIndexersLink,
)
from mediastack.links.bazarr_links import BazarrLink
from mediastack.links.link import Link
from mediastack.links.providers import ProviderLink, ProviderSpec
from mediastack.links.stack_links import CrossSeedTorznabLink, PlexClaimLink, QbittorrentLoginLink

QBITTORRENT_PORT = 8080
PORTS = {"sonarr": 8989, "radarr": 7878, "prowlarr": 9696, "flaresolverr": 8191}
API_KEY_VARIABLES = {
    "sonarr": "SONARR_API_KEY",
    "radarr": "RADARR_API_KEY",
    "prowlarr": "PROWLARR_API_KEY",
    "bazarr": "BAZARR_API_KEY",
    "seerr": "SEERR_API_KEY",
}
LOGIN_USER_VARIABLE = "APPS_USERNAME"
LOGIN_PASSWORD_VARIABLE = "APPS_PASSWORD"
ROOT_FOLDERS = {"sonarr": "/data/media/tv", "radarr": "/data/media/movies"}
CATEGORIES = {"sonarr": ("tvCategory", "tv-sonarr"), "radarr": ("movieCategory", "radarr"),
              "prowlarr": ("category", "prowlarr")}
FLARESOLVERR_TAG = "flaresolverr"
ARR_APPS = ("sonarr", "radarr")
API_PATHS = {"sonarr": "/api/v3", "radarr": "/api/v3", "prowlarr": "/api/v1"}
APPLICATION_NAMES = {"sonarr": "Sonarr", "radarr": "Radarr"}


@dataclass(frozen=True)
class Wanted:
    """What the links are built from: enabled apps, secrets, where qBittorrent answers."""

    enabled: frozenset[str]
    secrets: Mapping[str, str] = field(repr=False)
    qbittorrent_url: str
    qbittorrent_username: str
    qbittorrent_password: str = field(repr=False)
    series_profiles: tuple[str, ...] = ()
    movie_profiles: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)

    def key(self, app: str) -> str:
        return self.secrets.get(API_KEY_VARIABLES[app], "")


def wanted_from(loaded: LoadedConfig, secrets: Mapping[str, str], qbittorrent_url: str) -> Wanted:
    """Return the inputs of ``desired_links`` from the loaded config and the secrets."""
    portsync = loaded.config.portsync
    recyclarr = loaded.config.apps.recyclarr
    return Wanted(
        enabled=frozenset(definition.name for definition in loaded.enabled_services()),
        secrets=secrets,
        qbittorrent_url=qbittorrent_url,
        qbittorrent_username=portsync.qbittorrent_username,
        qbittorrent_password=secrets.get(portsync.qbittorrent_password_variable, ""),
        series_profiles=tuple(recyclarr.series_profiles),
        movie_profiles=tuple(recyclarr.movie_profiles),
        languages=tuple(loaded.config.apps.bazarr.languages),
    )


def desired_links(
    wanted: Wanted,
    write_cross_seed: Callable[[list[str]], bool] | None = None,
    login_memory: Path | None = None,
) -> list[Link]:
    """Return every link for the enabled apps, each after the links it needs.
    ``login_memory``: where a refused qBittorrent log-in is remembered (None: nowhere)."""
    links: list[Link] = []
    qbittorrent = "qbittorrent" in wanted.enabled
    if qbittorrent:
        links.append(QbittorrentLoginLink(wanted.qbittorrent_url, wanted.qbittorrent_username,
                                          wanted.qbittorrent_password, login_memory))
    for app in ("sonarr", "radarr", "prowlarr"):
        if app in wanted.enabled:
            links += _arr_links(wanted, app, qbittorrent)
    if "bazarr" in wanted.enabled:
        keys = {app: wanted.key(app) for app in ARR_APPS if app in wanted.enabled}
        links.append(BazarrLink(wanted.languages, keys))
    if {"recyclarr", "sonarr", "radarr"} & wanted.enabled == {"recyclarr", "sonarr", "radarr"}:
        links.append(_profiles_link(wanted))
    if {"cross-seed", "prowlarr"} <= wanted.enabled and write_cross_seed is not None:
        links.append(CrossSeedTorznabLink(wanted.key("prowlarr"), write_cross_seed))
    if "plex" in wanted.enabled:
        links.append(PlexClaimLink())
    return links


def _arr_links(wanted: Wanted, app: str, qbittorrent: bool) -> list[Link]:
    links: list[Link] = []
    login = _login_link(wanted, app)
    if login is not None:
        links.append(login)
    if app in ROOT_FOLDERS:
        links.append(RootFolderLink(app, ROOT_FOLDERS[app]))
    if qbittorrent:
        links.append(ProviderLink(download_client_spec(wanted, app), "qBittorrent download client",
                                  needs=("qbittorrent:login",), tag_path=f"{API_PATHS[app]}/tag"))
    if app == "prowlarr":
        links += _prowlarr_links(wanted)
    return links


def _login_link(wanted: Wanted, app: str) -> LoginLink | None:
    password = wanted.secrets.get(LOGIN_PASSWORD_VARIABLE, "")
    if not password:
        return None
    username = wanted.secrets.get(LOGIN_USER_VARIABLE) or "admin"
    return LoginLink(app, API_PATHS[app], username, password)


def download_client_spec(wanted: Wanted, app: str) -> ProviderSpec:
    category_field, category = CATEGORIES[app]
    return ProviderSpec(
        app=app,
        resource=f"{API_PATHS[app]}/downloadclient",
        name="qBittorrent",
        implementation="QBittorrent",
        config_contract="QBittorrentSettings",
        fields={
            "host": "localhost",
            "port": QBITTORRENT_PORT,
            "useSsl": False,
            "urlBase": "",
            "username": wanted.qbittorrent_username,
            "password": wanted.qbittorrent_password,
            category_field: category,
        },
        compared={"enable": True},
        on_create={"priority": 1},
        secrets=(wanted.qbittorrent_password,),
    )


def _prowlarr_links(wanted: Wanted) -> list[Link]:
    links: list[Link] = []
    for app in ARR_APPS:
        if app not in wanted.enabled:
            continue
        spec = ProviderSpec(
            app="prowlarr",
            resource="/api/v1/applications",
            name=APPLICATION_NAMES[app],
            implementation=APPLICATION_NAMES[app],
            config_contract=f"{APPLICATION_NAMES[app]}Settings",
            fields={
                "prowlarrUrl": f"http://localhost:{PORTS['prowlarr']}",
                "baseUrl": f"http://localhost:{PORTS[app]}",
                "apiKey": wanted.key(app),
            },
            compared={"syncLevel": "fullSync"},
            secrets=(wanted.key(app),),
        )
        links.append(ProviderLink(spec, f"application {APPLICATION_NAMES[app]} (full sync)",
                                  tag_path="/api/v1/tag"))
    if "flaresolverr" in wanted.enabled:
        tag = TagLink("prowlarr", FLARESOLVERR_TAG, path="/api/v1/tag")
        proxy = ProviderSpec(
            app="prowlarr",
            resource="/api/v1/indexerProxy",
            name="FlareSolverr",
            implementation="FlareSolverr",
            config_contract="FlareSolverrSettings",
            fields={"host": f"http://localhost:{PORTS['flaresolverr']}/", "requestTimeout": 60},
            tag_labels=(FLARESOLVERR_TAG,),
        )
        links += [
            tag,
            ProviderLink(proxy, "FlareSolverr indexer proxy", needs=(tag.key,),
                         tag_path="/api/v1/tag"),
            UntaggedIndexersLink("prowlarr", FLARESOLVERR_TAG, needs=(tag.key,)),
        ]
    return links


def _profiles_link(wanted: Wanted) -> QualityProfilesLink:
    needs = tuple(f"{app}:rootfolder:{ROOT_FOLDERS[app]}" for app in ARR_APPS)
    profiles = {
        "sonarr": wanted.series_profiles,
        "radarr": wanted.movie_profiles,
    }
    return QualityProfilesLink({app: names for app, names in profiles.items() if names},
                               needs=needs)
