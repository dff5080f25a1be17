"""The Sonarr/Radarr/Prowlarr/Bazarr API stand-ins (standins/arr) refuse what the real apps
refuse, against the real qBittorrent peer, all in one network namespace as in gluetun's.

Each test sends what ``mediastack wire`` could get wrong and checks the app's answer: a
stand-in that accepted anything would fail these.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from standins import docker

KEYS = {"sonarr": "sonarr-key-0123", "radarr": "radarr-key-0123", "prowlarr": "prowlarr-key-1"}
BAZARR_KEY = "bazarr-key-0123"
INTERNAL_PORTS = {"qbittorrent": 8080, "sonarr": 8989, "radarr": 7878, "prowlarr": 9696,
                  "bazarr": 6767}
QBITTORRENT_LOGIN = {"username": "admin", "password": "adminadmin"}  # 4.5.2's default


@dataclass(frozen=True)
class Lab:
    prefix: str
    ports: dict[str, int]
    data: Path
    bazarr_config: Path

    def container(self, app: str) -> str:
        return f"{self.prefix}-{app}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(lab_prefix: str, name: str, image: str, *arguments: str) -> None:
    docker("run", "-d", "--name", f"{lab_prefix}-{name}",
           "--label", f"com.docker.compose.project={lab_prefix}", *arguments, image)


@pytest.fixture(scope="module")
def lab(
    arr_images: dict[str, str],
    real_peer_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    _abandoned_test_resources_removed: None,
) -> Iterator[Lab]:
    from standins import remove_test_resources, session_prefix

    prefix = f"{session_prefix()}arr{os.urandom(2).hex()}"
    root = tmp_path_factory.mktemp("arr")
    data = root / "data"
    (data / "media" / "tv").mkdir(parents=True)
    (data / "readonly").mkdir()
    os.chown(data / "media" / "tv", 911, 911)
    os.chmod(data / "readonly", 0o755)  # root's: not writable by the app user 911
    bazarr_config = root / "bazarr" / "config" / "config.yaml"
    bazarr_config.parent.mkdir(parents=True)
    bazarr_config.write_text(f"auth:\n  apikey: {BAZARR_KEY}\ngeneral:\n  use_sonarr: false\n")
    ports = {app: _free_port() for app in INTERNAL_PORTS}
    published = [f"127.0.0.1:{ports[app]}:{port}" for app, port in INTERNAL_PORTS.items()]
    _run(prefix, "qbittorrent", real_peer_images["qbittorrent"],
         *(item for port in published for item in ("-p", port)))
    namespace = f"container:{prefix}-qbittorrent"
    for app in ("sonarr", "radarr", "prowlarr"):
        _run(prefix, app, arr_images[app], "--network", namespace,
             "-e", f"{app.upper()}__AUTH__APIKEY={KEYS[app]}", "-v", f"{data}:/data")
    _run(prefix, "bazarr", arr_images["bazarr"], "--network", namespace,
         "-v", f"{bazarr_config.parent.parent}:/config")
    lab = Lab(prefix, ports, data, bazarr_config)
    for app in INTERNAL_PORTS:
        _wait_until_up(lab, app)
    yield lab
    remove_test_resources(prefix)


def _wait_until_up(lab: Lab, app: str) -> None:
    path = {"qbittorrent": "/", "bazarr": "/api/system/ping"}.get(app, "/ping")
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{lab.ports[app]}{path}", timeout=5)
            return
        except urllib.error.HTTPError:
            return  # qBittorrent answers / from outside its namespace with 401: it is up
        except OSError as error:
            if time.monotonic() > deadline:
                logs = docker("logs", lab.container(app), check=False)
                raise AssertionError(f"{app} never answered: {logs.stdout}{logs.stderr}") from error
            time.sleep(0.5)


def call(lab: Lab, app: str, method: str, path: str, body: Any = None,
         key: str | None = "default", form: dict[str, str] | None = None) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON or text)."""
    headers = {}
    if key == "default":
        key = BAZARR_KEY if app == "bazarr" else KEYS.get(app)
    if key:
        headers["X-API-KEY" if app == "bazarr" else "X-Api-Key"] = key
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{lab.ports[app]}{path}", data=data,
                                     headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def messages(answer: Any) -> list[str]:
    return [item["errorMessage"] for item in answer]


def qbittorrent_client(lab: Lab, name: str = "qBittorrent", **settings: Any) -> dict[str, Any]:
    values = {"host": "localhost", "port": 8080, **QBITTORRENT_LOGIN,
              "tvCategory": "tv-sonarr", **settings}
    return {"name": name, "enable": True, "protocol": "torrent", "priority": 1,
            "implementation": "QBittorrent", "configContract": "QBittorrentSettings",
            "fields": [{"name": key, "value": value} for key, value in values.items()
                       if value is not ...], "tags": []}


def field(resource: dict[str, Any], name: str) -> Any:
    return next(item["value"] for item in resource["fields"] if item["name"] == name)


def test_the_api_key_is_required_and_ping_is_open(lab: Lab) -> None:
    assert call(lab, "sonarr", "GET", "/api/v3/system/status", key=None)[0] == 401
    assert call(lab, "sonarr", "GET", "/api/v3/system/status", key="wrong")[0] == 401
    status, answer = call(lab, "sonarr", "GET", "/api/v3/system/status")
    assert (status, answer["appName"]) == (200, "Sonarr")
    query = f"/api/v3/system/status?apikey={KEYS['radarr']}"
    assert call(lab, "radarr", "GET", query, key=None)[1]["appName"] == "Radarr"
    assert call(lab, "prowlarr", "GET", "/ping", key=None) == (200, {"status": "OK"})


def test_root_folders_must_exist_be_writable_and_unique(lab: Lab) -> None:
    missing = call(lab, "sonarr", "POST", "/api/v3/rootfolder", {"path": "/data/none"})
    assert missing == (400, missing[1]) and messages(missing[1]) == [
        "Path '/data/none' does not exist"]
    readonly = call(lab, "sonarr", "POST", "/api/v3/rootfolder", {"path": "/data/readonly"})
    assert messages(readonly[1]) == ["Folder '/data/readonly' is not writable by user 'abc'"]
    status, created = call(lab, "sonarr", "POST", "/api/v3/rootfolder",
                           {"path": "/data/media/tv/"})
    assert (status, created["path"], created["accessible"]) == (201, "/data/media/tv", True)
    again = call(lab, "sonarr", "POST", "/api/v3/rootfolder", {"path": "/data/media/tv"})
    assert again[0] == 400
    assert messages(again[1]) == ["Path '/data/media/tv' is already configured as a root folder"]


def test_download_client_validation_and_the_real_qbittorrent_test(lab: Lab) -> None:
    route = "/api/v3/downloadclient"
    scheme = call(lab, "sonarr", "POST", route, qbittorrent_client(lab, host="http://x"))
    assert "must be valid Host without http://" in messages(scheme[1])
    port = call(lab, "sonarr", "POST", route, qbittorrent_client(lab, port=0))
    assert messages(port[1]) == ["'Port' must be between 1 and 65535. You entered 0."]
    wrong = call(lab, "sonarr", "POST", route, qbittorrent_client(lab, password="nope"))
    assert (wrong[0], messages(wrong[1])) == (400, ["Authentication Failure"])
    no_category = qbittorrent_client(lab, tvCategory="")
    warned = call(lab, "sonarr", "POST", route, no_category)
    assert warned[0] == 400 and warned[1][0]["isWarning"] is True
    assert call(lab, "sonarr", "POST", route + "?forceSave=true", no_category)[0] == 201

    status, created = call(lab, "sonarr", "POST", route, qbittorrent_client(lab, name="qbit"))
    assert status == 201, created
    assert field(created, "password") == "********"
    categories = _qbittorrent_categories(lab)
    assert "tv-sonarr" in categories  # the test created the missing category
    duplicate = call(lab, "sonarr", "POST", route, qbittorrent_client(lab, name="QBIT"))
    assert "Should be unique" in messages(duplicate[1])

    # A PUT with the mask keeps the password: the test runs again (priority changed) and
    # logs in; a field left out (the category) goes back to its default.
    body = qbittorrent_client(lab, name="qbit", password="********", tvCategory=...)
    body["priority"] = 5
    status, updated = call(lab, "sonarr", "PUT", f"{route}/{created['id']}", body)
    assert status == 202, updated
    stored = call(lab, "sonarr", "GET", f"{route}/{created['id']}")[1]
    assert (stored["priority"], field(stored, "tvCategory")) == (5, "tv-sonarr")


def test_a_qbittorrent_that_removes_torrents_at_the_ratio_limit_is_refused(lab: Lab) -> None:
    _qbittorrent_preferences(lab, {"max_ratio_enabled": True, "max_ratio": 1.0,
                                   "max_ratio_act": 1})
    try:
        refused = call(lab, "radarr", "POST", "/api/v3/downloadclient/test",
                       {**qbittorrent_client(lab), "fields": [
                           {"name": "host", "value": "localhost"},
                           {"name": "username", "value": "admin"},
                           {"name": "password", "value": "adminadmin"}]})
        assert refused[0] == 400
        assert messages(refused[1]) == ["qBittorrent is configured to remove torrents when "
                                        "they reach their Share Ratio Limit"]
    finally:
        _qbittorrent_preferences(lab, {"max_ratio_enabled": False})
    accepted = call(lab, "radarr", "POST", "/api/v3/downloadclient/test",
                    {**qbittorrent_client(lab), "fields": [
                        {"name": "username", "value": "admin"},
                        {"name": "password", "value": "adminadmin"}]})
    assert accepted[0] == 200, accepted
    assert "radarr" in _qbittorrent_categories(lab)  # Radarr's own default category


def test_tags_are_lowercased_and_unique(lab: Lab) -> None:
    first = call(lab, "sonarr", "POST", "/api/v3/tag", {"label": "VPN"})[1]
    second = call(lab, "sonarr", "POST", "/api/v3/tag", {"label": "vpn"})[1]
    assert first == second and first["label"] == "vpn"


def test_host_config_needs_a_matching_confirmation(lab: Lab) -> None:
    current = call(lab, "sonarr", "GET", "/api/v3/config/host")[1]
    assert current["authenticationMethod"] == "none"
    wanted = {**current, "authenticationMethod": "forms", "username": "media",
              "password": "secret1", "passwordConfirmation": "other"}
    refused = call(lab, "sonarr", "PUT", "/api/v3/config/host/1", wanted)
    assert messages(refused[1]) == ["Must match Password"]
    wanted["passwordConfirmation"] = "secret1"
    assert call(lab, "sonarr", "PUT", "/api/v3/config/host/1", wanted)[0] == 202
    saved = call(lab, "sonarr", "GET", "/api/v3/config/host")[1]
    assert saved["username"] == "media" and saved["password"] not in ("", "secret1")
    assert saved["authenticationMethod"] == "forms"


def application(lab: Lab, api_key: str, prowlarr_url: str = "http://localhost:9696",
                name: str = "Sonarr") -> dict[str, Any]:
    return {"name": name, "syncLevel": "fullSync", "implementation": "Sonarr",
            "configContract": "SonarrSettings", "tags": [], "fields": [
                {"name": "prowlarrUrl", "value": prowlarr_url},
                {"name": "baseUrl", "value": "http://localhost:8989"},
                {"name": "apiKey", "value": api_key}]}


def test_prowlarr_tests_the_application_both_ways(lab: Lab) -> None:
    route = "/api/v1/applications"
    wrong_key = call(lab, "prowlarr", "POST", route, application(lab, "wrong"))
    assert messages(wrong_key[1]) == ["API Key is invalid"]
    unreachable = call(lab, "prowlarr", "POST", route,
                       application(lab, KEYS["sonarr"], "http://localhost:1"))
    assert messages(unreachable[1]) == [
        "Prowlarr URL is invalid, Sonarr cannot connect to Prowlarr"]
    call(lab, "prowlarr", "POST", "/_standin/reset-counts")
    status, created = call(lab, "prowlarr", "POST", route, application(lab, KEYS["sonarr"]))
    assert status == 201, created
    assert field(created, "apiKey") == "********"
    callbacks = call(lab, "prowlarr", "GET", "/_standin/requests")[1]["log"]
    assert {"method": "GET", "path": "/0/api", "status": 200} in callbacks


def test_prowlarr_proxy_and_download_client(lab: Lab) -> None:
    proxy = {"name": "FlareSolverr", "implementation": "FlareSolverr",
             "configContract": "FlareSolverrSettings", "tags": [1],
             "fields": [{"name": "host", "value": "http://localhost:1/"},
                        {"name": "requestTimeout", "value": 60}]}
    refused = call(lab, "prowlarr", "POST", "/api/v1/indexerProxy", proxy)
    assert refused[0] == 400 and refused[1][0]["propertyName"] == "Host"
    timeout = {**proxy, "fields": [{"name": "requestTimeout", "value": 500}]}
    assert "'Request Timeout' must be between 1 and 180. You entered 500." in messages(
        call(lab, "prowlarr", "POST", "/api/v1/indexerProxy", timeout)[1])
    untagged = call(lab, "prowlarr", "POST", "/api/v1/indexerProxy", {**proxy, "tags": []})
    assert untagged[0] == 201  # Enable is "has a tag": nothing validated or tested
    client = {**qbittorrent_client(lab), "fields": [
        {"name": "username", "value": "admin"}, {"name": "password", "value": "adminadmin"}]}
    status, created = call(lab, "prowlarr", "POST", "/api/v1/downloadclient", client)
    assert (status, field(created, "category")) == (201, "prowlarr")
    assert "prowlarr" in _qbittorrent_categories(lab)


def test_prowlarr_indexers_and_feed(lab: Lab) -> None:
    seeded = call(lab, "prowlarr", "POST", "/_standin/indexer", {"name": "Tracker"})[1]
    indexer = call(lab, "prowlarr", "GET", f"/api/v1/indexer/{seeded['id']}")[1]
    assert (indexer["name"], indexer["protocol"]) == ("Tracker", "torrent")
    indexer["tags"] = [3]
    assert call(lab, "prowlarr", "PUT", f"/api/v1/indexer/{seeded['id']}", indexer)[0] == 202
    assert call(lab, "prowlarr", "GET", "/api/v1/indexer")[1][0]["tags"] == [3]
    key = KEYS["prowlarr"]
    assert call(lab, "prowlarr", "GET", f"/99/api?t=caps&apikey={key}", key=None)[0] == 404
    assert call(lab, "prowlarr", "GET", "/0/api?t=caps", key=None)[0] == 401
    status, caps = call(lab, "prowlarr", "GET", f"/0/api?t=caps&apikey={key}", key=None)
    assert status == 200 and "<caps>" in caps


def test_bazarr_settings_are_a_form_with_lowercase_booleans(lab: Lab) -> None:
    assert call(lab, "bazarr", "GET", "/api/system/settings", key=None)[0] == 401
    capital = call(lab, "bazarr", "POST", "/api/system/settings",
                   form={"settings-general-use_sonarr": "True"})
    assert capital[0] == 406
    assert call(lab, "bazarr", "GET", "/api/system/settings")[1]["general"]["use_sonarr"] is False
    profile = {"profileId": 1, "name": "English", "cutoff": None, "items": [
        {"id": 1, "language": "en", "forced": "False", "hi": "False", "audio_exclude": "False"}],
        "mustContain": [], "mustNotContain": [], "originalFormat": None}
    saved = call(lab, "bazarr", "POST", "/api/system/settings", form={
        "settings-general-use_sonarr": "true", "settings-sonarr-port": "8989",
        "settings-sonarr-apikey": KEYS["sonarr"], "languages-profiles": json.dumps([profile])})
    assert saved[0] == 204
    settings = call(lab, "bazarr", "GET", "/api/system/settings")[1]
    assert settings["general"]["use_sonarr"] is True and settings["sonarr"]["port"] == 8989
    assert "use_sonarr: true" in lab.bazarr_config.read_text()
    profiles = call(lab, "bazarr", "GET", "/api/system/languages/profiles")[1]
    assert [item["name"] for item in profiles] == ["English"]


def test_state_survives_a_restart_and_a_deleted_state_file_is_a_fresh_app(lab: Lab) -> None:
    call(lab, "sonarr", "POST", "/api/v3/tag", {"label": "kept"})
    docker("restart", lab.container("sonarr"))
    _wait_until_up(lab, "sonarr")
    assert "kept" in [tag["label"] for tag in call(lab, "sonarr", "GET", "/api/v3/tag")[1]]
    docker("exec", lab.container("sonarr"), "rm", "/config/standin-state.json")
    docker("restart", lab.container("sonarr"))
    _wait_until_up(lab, "sonarr")
    assert call(lab, "sonarr", "GET", "/api/v3/tag")[1] == []
    assert call(lab, "sonarr", "GET", "/api/v3/rootfolder")[1] == []


def test_counters_count_api_reads_and_writes(lab: Lab) -> None:
    call(lab, "radarr", "POST", "/_standin/reset-counts")
    call(lab, "radarr", "GET", "/ping", key=None)
    call(lab, "radarr", "GET", "/api/v3/qualityprofile")
    call(lab, "radarr", "POST", "/api/v3/tag", {"label": "x"})
    counts = call(lab, "radarr", "GET", "/_standin/requests")[1]
    assert (counts["reads"], counts["writes"]) == (1, 1)
    call(lab, "radarr", "POST", "/_standin/qualityprofile", {"name": "HD-1080p"})
    names = [item["name"] for item in call(lab, "radarr", "GET", "/api/v3/qualityprofile")[1]]
    assert names == ["HD-1080p"]


QBITTORRENT_CALL = """
import json, sys, urllib.parse, urllib.request
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
base = "http://localhost:8080/api/v2"
opener.open(base + "/auth/login", urllib.parse.urlencode(json.loads(sys.argv[1])).encode())
form = urllib.parse.urlencode(json.loads(sys.argv[3])).encode() if sys.argv[3] else None
print(opener.open(base + sys.argv[2], form).read().decode())
"""


def _qbittorrent(lab: Lab, path: str, form: dict[str, str] | None = None) -> str:
    """Call qBittorrent from inside its namespace (from outside, its Host header check
    refuses the published port)."""
    completed = docker("exec", lab.container("sonarr"), "python3", "-c", QBITTORRENT_CALL,
                       json.dumps(QBITTORRENT_LOGIN), path, json.dumps(form) if form else "")
    return completed.stdout


def _qbittorrent_categories(lab: Lab) -> dict[str, Any]:
    return dict(json.loads(_qbittorrent(lab, "/torrents/categories")))


def _qbittorrent_preferences(lab: Lab, preferences: dict[str, Any]) -> None:
    _qbittorrent(lab, "/app/setPreferences", {"json": json.dumps(preferences)})
