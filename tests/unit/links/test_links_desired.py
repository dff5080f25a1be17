"""The links a default ``init`` config wants, in the order they can be made."""

from __future__ import annotations

from pathlib import Path

from mediastack.config import Config, load_config
from mediastack.links.desired import desired_links, wanted_from
from mediastack.scaffold import initialise


def _default_links(tmp_path: Path, **extra: str) -> list[str]:
    result = initialise(tmp_path / "homelab", Config())
    loaded = load_config(result.config_path)
    secrets = {"SONARR_API_KEY": "s", "RADARR_API_KEY": "r", "PROWLARR_API_KEY": "p",
               "QBITTORRENT_PASSWORD": "q", **extra}
    links = desired_links(wanted_from(loaded, secrets, "http://qbit"), lambda urls: True)
    return [link.key for link in links]


def test_every_app_of_the_default_config_is_linked_in_dependency_order(tmp_path: Path) -> None:
    keys = _default_links(tmp_path)
    assert keys[0] == "qbittorrent:login"  # the credentials are tried once, before any app
    assert "sonarr:/api/v3/downloadclient:qBittorrent" in keys
    assert "radarr:/api/v3/downloadclient:qBittorrent" in keys
    assert "prowlarr:/api/v1/applications:Sonarr" in keys
    assert "prowlarr:/api/v1/indexerProxy:FlareSolverr" in keys
    assert keys.index("prowlarr:tag:flaresolverr") < keys.index(
        "prowlarr:/api/v1/indexerProxy:FlareSolverr"
    )
    assert keys.index("sonarr:rootfolder:/data/media/tv") < keys.index("recyclarr:profiles")
    assert {"bazarr:languages", "cross-seed:torznab", "plex:claim"} <= set(keys)


def _app_logins(keys: list[str]) -> list[str]:
    return [key for key in keys if key.endswith(":login") and key != "qbittorrent:login"]


def test_the_apps_login_user_is_set_only_with_a_password_in_env(tmp_path: Path) -> None:
    assert _app_logins(_default_links(tmp_path / "without")) == []
    keys = _default_links(tmp_path / "with", APPS_PASSWORD="secret")
    assert _app_logins(keys) == ["sonarr:login", "radarr:login", "prowlarr:login"]
