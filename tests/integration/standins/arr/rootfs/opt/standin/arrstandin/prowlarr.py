"""Prowlarr 2 (API v1): applications (Sonarr, Radarr), the FlareSolverr indexer proxy, the
qBittorrent download client, indexers (seeded), and the Newznab feed apps sync against.

Sources: Prowlarr v2.3.5.5323 (develop):
- ``src/NzbDrone.Core/Applications/Sonarr/SonarrSettings.cs`` and ``Radarr/RadarrSettings.cs``
  (fields, defaults; validators: ``IsValidUrl`` "Invalid Url: '{url}'" on baseUrl and
  prowlarrUrl, apiKey not empty, Radarr's syncCategories not empty);
  ``ApplicationDefinition.Enable``: syncLevel addOnly or fullSync.
- ``Applications/Sonarr/Sonarr.cs`` / ``Radarr/Radarr.cs`` ``Test`` with
  ``SonarrV3Proxy.cs`` / ``RadarrV3Proxy.cs``: GET ``{baseUrl}/api/v3/indexer/schema`` (with
  ``X-Api-Key``), then POST ``{baseUrl}/api/v3/indexer/test`` with a Newznab indexer whose
  baseUrl is ``{prowlarrUrl}/0/``, apiPath ``/api``, apiKey Prowlarr's own key and the sync
  categories; HTTP 401: "API Key is invalid"; 400: "Prowlarr URL is invalid, Sonarr cannot
  connect to Prowlarr"; 303/307: a URL-base hint; 404 (Sonarr): "Is Sonarr running...";
  else "Unable to complete application test...". Then the ``X-Application-Version`` header:
  missing, or below 3.0.5 (Sonarr) / 3.1.1 (Radarr), fails.
- ``IndexerProxies/FlareSolverr/FlareSolverrSettings.cs``: host not empty, requestTimeout
  1..180; ``IndexerProxyDefinition.Enable`` is "has a tag", so an untagged proxy is neither
  validated nor tested.
- ``Download/Clients/QBittorrent/QBittorrentSettings.cs``: one ``category`` (default
  ``prowlarr``); the same test as Sonarr's (qbittorrent.py).
Simplified: the FlareSolverr test GETs ``{host}/health`` and wants a 200 (the real one POSTs a
``request.get`` of prowlarr.com to ``{host}/v1``: no internet in the lab); indexers are seeded
with ``POST /_standin/indexer`` (no Cardigann definitions) and their test is not run;
applications are not synced to (no indexer push on fullSync; the real app does it from a
scheduled command).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from . import newznab, qbittorrent
from .common import key_checker, register_common
from .providers import ProviderKind, register
from .schema import Failures, FieldSpec, Implementation, between, not_empty
from .store import Store
from .web import ApiError, App, Counters, Request, Response, failure, json_response

API = "/api/v1"
VERSION = "2.3.5.5323"
SONARR_CATEGORIES = [5000, 5010, 5020, 5030, 5040, 5045, 5050, 5090]
RADARR_CATEGORIES = [2000, 2010, 2020, 2030, 2040, 2045, 2050, 2060, 2070, 2080, 2090]
QBITTORRENT = qbittorrent.Flavour("Prowlarr", "category", "prowlarr", None, ("priority",),
                                  False)
TIMEOUT_SECONDS = 30


def build(store: Store, counters: Counters, key: str) -> App:
    app = App("Prowlarr", [], key_checker(key), frozenset({"/ping", "/"}),
              {"X-Application-Version": VERSION})
    register_common(app, store, counters, api=API, app_name="Prowlarr", version=VERSION,
                    env_prefix="PROWLARR", key=key)
    register(app, store, _applications(key))
    register(app, store, _indexer_proxies())
    register(app, store, _download_clients())
    register(app, store, _indexers())
    _register_feed(app, store)
    return app


def _applications(own_key: str) -> ProviderKind:
    def implementation(name: str, port: int, categories: list[int],
                       minimum: tuple[int, ...]) -> Implementation:
        fields = [
            FieldSpec("prowlarrUrl", "Prowlarr Server", "string", "http://localhost:9696"),
            FieldSpec("baseUrl", f"{name} Server", "string", f"http://localhost:{port}"),
            FieldSpec("apiKey", "API Key", "string", None, privacy="apiKey"),
            FieldSpec("syncCategories", "Sync Categories", "ints", categories, type="select",
                      advanced=True),
        ]
        if name == "Sonarr":
            fields += [
                FieldSpec("animeSyncCategories", "Anime Sync Categories", "ints", [5070],
                          type="select", advanced=True),
                FieldSpec("syncAnimeStandardFormatSearch", "Sync Anime Standard Format Search",
                          "bool", True, type="checkbox", advanced=True),
            ]
        fields.append(FieldSpec("syncRejectBlocklistedTorrentHashesWhileGrabbing",
                                "Sync Reject Blocklisted Torrent Hashes", "bool", False,
                                type="checkbox", advanced=True))
        return Implementation(
            implementation=name, implementation_name=name, config_contract=f"{name}Settings",
            fields=tuple(fields),
            validate=lambda values: _application_problems(name, values),
            test=lambda values, definition: _test_application(name, values, own_key, minimum),
            info_link=f"https://wiki.servarr.com/prowlarr/supported#{name.lower()}",
        )

    return ProviderKind(
        route=f"{API}/applications",
        kind="application",
        implementations=(implementation("Sonarr", 8989, SONARR_CATEGORIES, (3, 0, 5)),
                         implementation("Radarr", 7878, RADARR_CATEGORIES, (3, 1, 1))),
        resource_defaults={"syncLevel": "disabled"},
        template={"syncLevel": "fullSync"},
        is_enabled=lambda definition: definition.get("syncLevel") in ("addOnly", "fullSync"),
    )


def _application_problems(name: str, settings: dict[str, Any]) -> Failures:
    problems: Failures = []
    for field_name in ("baseUrl", "prowlarrUrl"):
        value = settings.get(field_name)
        if not _valid_url(value):
            problems.append(failure(field_name[:1].upper() + field_name[1:],
                                    f"Invalid Url: '{value}'", attempted=value))
    problems += not_empty("ApiKey", settings.get("apiKey"))
    if name == "Radarr":
        problems += not_empty("SyncCategories", settings.get("syncCategories"))
    return problems


def _valid_url(value: Any) -> bool:
    """UrlValidator: an absolute URI (here: http or https with a host)."""
    return isinstance(value, str) and bool(
        re.fullmatch(r"https?://[^\s/?#]+(?:[/?#]\S*)?", value, re.IGNORECASE))


def _test_application(name: str, settings: dict[str, Any], own_key: str,
                      minimum: tuple[int, ...]) -> Failures:
    base = str(settings["baseUrl"]).rstrip("/")
    try:
        schema = json.loads(_call(base + "/api/v3/indexer/schema", settings["apiKey"])[1])
        indexer = _test_indexer(name, schema, settings, own_key)
        headers, _ = _call(base + "/api/v3/indexer/test", settings["apiKey"], indexer)
    except urllib.error.HTTPError as error:
        return [_http_failure(name, error)]
    except json.JSONDecodeError as error:
        return [failure("BaseUrl", f"Unable to parse JSON response from application. {error}")]
    except Exception as error:
        return [failure("BaseUrl", f"Unable to complete application test, cannot connect to "
                                   f"{name}. {error}")]
    version = headers.get("X-Application-Version")
    if version is None:
        return [failure("", f"Failed to fetch {name} version")]
    if tuple(int(part) for part in version.split(".")[:3]) < minimum:
        shown = ".".join(map(str, minimum))
        return [failure("", f"{name} version should be at least {shown}. Version reported is "
                            f"{version}", attempted=version)]
    return []


def _call(url: str, api_key: str, body: Any = None) -> tuple[Any, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={
        "X-Api-Key": api_key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return response.headers, response.read().decode()


def _test_indexer(name: str, schema: list[dict[str, Any]], settings: dict[str, Any],
                  own_key: str) -> dict[str, Any]:
    """BuildSonarrIndexer / BuildRadarrIndexer for the test indexer (id 0, Usenet:
    Newznab), which supports every category."""
    sync_fields = {"baseUrl", "apiPath", "apiKey", "categories", "animeCategories",
                   "animeStandardFormatSearch", "minimumSeeders", "seedCriteria.seedRatio",
                   "seedCriteria.seedTime", "seedCriteria.seasonPackSeedTime",
                   "rejectBlocklistedTorrentHashesWhileGrabbing", "additionalParameters"}
    template = next(item for item in schema if item["implementation"] == "Newznab")
    fields = [dict(item) for item in template["fields"] if item["name"] in sync_fields]
    values = {
        "baseUrl": f"{str(settings['prowlarrUrl']).rstrip('/')}/0/",
        "apiPath": "/api",
        "apiKey": own_key,
        "categories": list(settings.get("syncCategories") or []),
        "animeCategories": list(settings.get("animeSyncCategories") or []),
        "animeStandardFormatSearch": settings.get("syncAnimeStandardFormatSearch", True),
    }
    for item in fields:
        if item["name"] in values:
            item["value"] = values[item["name"]]
    return {
        "id": 0, "name": "Test (Prowlarr)", "enableRss": True, "enableAutomaticSearch": True,
        "enableInteractiveSearch": True, "priority": 25, "implementation": "Newznab",
        "configContract": template["configContract"], "fields": fields, "tags": [],
    }


def _http_failure(name: str, error: urllib.error.HTTPError) -> dict[str, Any]:
    if error.code == 401:
        return failure("ApiKey", "API Key is invalid")
    if error.code == 400:
        return failure("ProwlarrUrl",
                       f"Prowlarr URL is invalid, {name} cannot connect to Prowlarr")
    if error.code in (303, 307):
        return failure("BaseUrl", f"{name} URL is invalid, Prowlarr cannot connect to {name} - "
                                  f"are you missing a URL base?")
    if error.code == 404 and name == "Sonarr":
        return failure("BaseUrl", "Sonarr URL is invalid, Prowlarr cannot connect to Sonarr. "
                                  "Is Sonarr running and accessible? Sonarr v2 is not "
                                  "supported.")
    return failure("BaseUrl", f"Unable to complete application test, cannot connect to "
                              f"{name}. {error}")


def _indexer_proxies() -> ProviderKind:
    flaresolverr = Implementation(
        implementation="FlareSolverr", implementation_name="FlareSolverr",
        config_contract="FlareSolverrSettings",
        fields=(FieldSpec("host", "Host", "string", "http://localhost:8191/"),
                FieldSpec("requestTimeout", "Request Timeout", "int", 60, type="number",
                          advanced=True, unit="seconds")),
        validate=lambda values: not_empty("Host", values.get("host"))
        + between("RequestTimeout", values["requestTimeout"], 1, 180),
        test=lambda values, definition: _test_flaresolverr(values),
        info_link="https://wiki.servarr.com/prowlarr/supported#flaresolverr",
    )
    return ProviderKind(
        route=f"{API}/indexerProxy", kind="indexerproxy", implementations=(flaresolverr,),
        resource_defaults={"link": None, "onHealthIssue": False, "supportsOnHealthIssue": False,
                           "includeHealthWarnings": False},
        template={},
        is_enabled=lambda definition: bool(definition.get("tags")),
    )


def _test_flaresolverr(settings: dict[str, Any]) -> Failures:
    url = str(settings["host"]).rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except Exception as error:
        return [failure("Host", f"Unable to connect to proxy: {error}. Check the log "
                                f"surrounding this error for details")]
    if status != 200:
        return [failure("Host", f"Failed to test proxy. Status code: {status}")]
    return []


def _download_clients() -> ProviderKind:
    implementation = Implementation(
        implementation="QBittorrent", implementation_name="qBittorrent",
        config_contract="QBittorrentSettings",
        fields=qbittorrent.settings_fields(QBITTORRENT),
        validate=lambda values: qbittorrent.validate(QBITTORRENT, values),
        test=lambda values, definition: qbittorrent.run_test(QBITTORRENT, values),
        info_link="https://wiki.servarr.com/prowlarr/supported#qbittorrent",
        fixed={"protocol": "torrent"},
    )
    return ProviderKind(
        route=f"{API}/downloadclient", kind="downloadclient", implementations=(implementation,),
        resource_defaults={"enable": False, "protocol": "unknown", "priority": 0,
                           "categories": [], "supportsCategories": True},
        template={"enable": True, "priority": 1},
        is_enabled=lambda definition: bool(definition.get("enable")),
    )


INDEXER = Implementation(
    implementation="Torznab", implementation_name="Generic Torznab",
    config_contract="TorznabSettings",
    fields=(FieldSpec("baseUrl", "URL", "string", None),
            FieldSpec("apiPath", "API Path", "string", "/api", advanced=True),
            FieldSpec("apiKey", "API Key", "string", None, privacy="apiKey"),
            FieldSpec("torrentBaseSettings.seedRatio", "Seed Ratio", "nfloat", None),
            FieldSpec("torrentBaseSettings.seedTime", "Seed Time", "nint", None)),
    validate=lambda values: [],
    test=lambda values, definition: [],
    info_link="https://wiki.servarr.com/prowlarr/supported-indexers#torznab",
    fixed={"protocol": "torrent"},
)


def _indexers() -> ProviderKind:
    return ProviderKind(
        route=f"{API}/indexer", kind="indexer", implementations=(INDEXER,),
        resource_defaults={"enable": False, "redirect": False, "supportsRss": True,
                           "supportsSearch": True, "appProfileId": 1, "protocol": "unknown",
                           "privacy": "public", "priority": 25, "downloadClientId": 0},
        template={"enable": True},
        is_enabled=lambda definition: bool(definition.get("enable")),
    )


def _register_feed(app: App, store: Store) -> None:
    @app.route("POST", "/_standin/indexer")
    def seed(request: Request, match: re.Match[str]) -> Response:
        body = request.json() or {}
        definition = {
            "name": str(body.get("name") or "Indexer"), "implementation": "Torznab",
            "implementationName": "Generic Torznab", "configContract": "TorznabSettings",
            "tags": sorted(int(tag) for tag in body.get("tags") or []),
            "settings": {**INDEXER.defaults(), "baseUrl": "https://indexer.invalid/"},
            "enable": True, "redirect": False, "supportsRss": True, "supportsSearch": True,
            "appProfileId": 1, "protocol": "torrent", "privacy": "public", "priority": 25,
            "downloadClientId": 0,
        }
        stored = store.insert("indexer", definition)
        return json_response(201, {"id": stored["id"], "name": stored["name"]})

    @app.route("GET", r"/(\d+)/api|/api/v1/indexer/(\d+)/newznab")
    def feed(request: Request, match: re.Match[str]) -> Response:
        identifier = int(match.group(1) or match.group(2))
        kind = request.query_value("t")
        if not kind:
            return _xml(400, newznab.error_xml(200, "Missing parameter (t)"))
        if identifier != 0:
            indexer = store.get("indexer", identifier)
            if indexer is None:
                raise ApiError(404, {"message": "Indexer Not Found"})
            if not indexer.get("enable"):
                return _xml(410, newznab.error_xml(410, "Indexer is disabled"))
        if kind == "caps":
            return _xml(200, newznab.caps_xml())
        if kind in ("search", "tvsearch", "music", "book", "movie"):
            return _xml(200, newznab.results_xml("Test Release"))
        return _xml(400, newznab.error_xml(202, f"No such function ({kind})"))


def _xml(status: int, body: bytes) -> Response:
    return Response(status, body, "application/rss+xml; charset=utf-8")
