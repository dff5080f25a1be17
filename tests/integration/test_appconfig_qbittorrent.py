"""The qBittorrent config generator against the real qbittorrent-nox (Debian's 4.5.2).

A profile is written by the generator (merged into the test instance's own settings:
WebUI on 127.0.0.1 and a free port, peers on loopback only, see test_portsync_qbittorrent),
qbittorrent-nox is started on it, and what it then reports is checked: the password logs in,
the save path, automatic torrent management, the ratio action, the categories, and the Host
headers it accepts. After it stops (it rewrites its files on exit), our keys are still there
and generating again changes nothing. The module also captures the unit tests' fixture::

    python tests/integration/test_appconfig_qbittorrent.py capture \\
        tests/fixtures/appconfig/qbittorrent-4.5.2
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_portsync_qbittorrent import (
    QBITTORRENT_NOX,
    QbittorrentNox,
    _stop,
    _wait_until_answering,
    free_port,
    profile_configuration,
)

from mediastack.appconfig import qt_ini
from mediastack.appconfig.qbittorrent import (
    QbittorrentSettings,
    categories_json,
    password_matches,
    qbittorrent_conf,
)

OLD_PASSWORD = "the-password-before"


@contextlib.contextmanager
def generated_profile(published_offset: int = 0) -> Iterator[tuple[Path, QbittorrentSettings]]:
    """Yield a throwaway profile whose qBittorrent.conf and categories.json the generator
    wrote (into the test instance's own conf), and the settings used; remove it afterwards."""
    profile = Path(tempfile.mkdtemp(prefix="mediastack-appconfig-"))
    try:
        webui_port = free_port()
        data = profile / "data" / "torrents"
        settings = QbittorrentSettings(
            username="admin",
            password=f"new {secrets.token_urlsafe(12)} ä:@/%",
            webui_port=webui_port,
            published_port=webui_port + published_offset,
            save_path=str(data),
            categories={"tv-sonarr": str(data / "tv"), "radarr": str(data / "movies")},
        )
        own = profile_configuration(
            webui_port=webui_port,
            password=OLD_PASSWORD,
            bypass_localhost=False,
            listen_port=40000 + secrets.randbelow(1000),
            max_failed_logins=5,
        )
        folder = profile / "qBittorrent" / "config"
        folder.mkdir(parents=True)
        (folder / "qBittorrent.conf").write_text(qbittorrent_conf(settings, own), "utf-8")
        (folder / "categories.json").write_text(categories_json(settings.categories, None), "utf-8")
        yield profile, settings
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def started(profile: Path, settings: QbittorrentSettings) -> Iterator[QbittorrentNox]:
    """Run qbittorrent-nox on ``profile`` (already written) until the block ends; skip when
    it is not installed."""
    binary = shutil.which(QBITTORRENT_NOX)
    if binary is None:
        pytest.skip("qbittorrent-nox is not installed (scripts/test installs it)")
    with (profile / "stdout.txt").open("wb") as output:
        process = subprocess.Popen(
            [binary, f"--profile={profile}"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    peer = QbittorrentNox(profile, settings.webui_port, "admin", settings.password, process)
    try:
        _wait_until_answering(peer)
        yield peer
    finally:
        _stop(process)


def conf_of(profile: Path) -> str:
    return (profile / "qBittorrent" / "config" / "qBittorrent.conf").read_text("utf-8")


def categories_of(profile: Path) -> str:
    return (profile / "qBittorrent" / "config" / "categories.json").read_text("utf-8")


def test_qbittorrent_starts_configured_and_keeps_our_keys_when_it_stops() -> None:
    with generated_profile() as (profile, settings):
        with started(profile, settings) as peer:
            old_login = httpx.post(
                f"{peer.url}/api/v2/auth/login",
                data={"username": "admin", "password": OLD_PASSWORD},
            )
            with peer.session() as client:  # logs in with the generated password
                preferences = client.get("/api/v2/app/preferences").json()
                categories = client.get("/api/v2/torrents/categories").json()
        assert old_login.text == "Fails."
        assert preferences["save_path"] == settings.save_path
        assert preferences["auto_tmm_enabled"] is True
        assert preferences["max_ratio_act"] == 0  # pause, which Sonarr and Radarr accept
        assert preferences["web_ui_username"] == "admin"
        assert preferences["bypass_local_auth"] is False
        assert preferences["web_ui_host_header_validation_enabled"] is True
        assert {name: entry["savePath"] for name, entry in categories.items()} == dict(
            settings.categories
        )
        rewritten = conf_of(profile)
        assert qt_ini.read_value(rewritten, "BitTorrent", "Session\\DefaultSavePath") == str(
            settings.save_path
        )
        stored = qt_ini.read_value(rewritten, "Preferences", "WebUI\\Password_PBKDF2")
        assert stored is not None and password_matches(stored, settings.password)
        # Rendering again after qBittorrent rewrote its files changes nothing.
        assert qbittorrent_conf(settings, rewritten) == rewritten
        assert categories_json(settings.categories, categories_of(profile)) == categories_of(
            profile
        )


def test_the_supervisors_host_name_passes_host_header_validation() -> None:
    with (
        generated_profile() as (profile, settings),
        started(profile, settings) as peer,
        peer.session() as client,
    ):
        by_name = client.get(
            "/api/v2/app/version", headers={"Host": f"gluetun:{settings.webui_port}"}
        )
        other_port = client.get(
            "/api/v2/app/version", headers={"Host": f"gluetun:{settings.webui_port + 1}"}
        )
    assert by_name.status_code == 200
    assert other_port.status_code == 401  # why a remapped host port needs validation off


def test_a_remapped_web_ui_port_is_still_reachable() -> None:
    with (
        generated_profile(published_offset=1) as (profile, settings),
        started(profile, settings) as peer,
        peer.session() as client,
    ):
        remapped = client.get(
            "/api/v2/app/version", headers={"Host": f"192.0.2.1:{settings.published_port}"}
        )
    assert remapped.status_code == 200


# --- fixture capture for the unit tests (run by hand; see the module docstring) -----------


def capture(folder: Path) -> None:
    """Start qbittorrent-nox on the test instance's own conf, add a category and change a
    preference through the API, stop it, and copy the qBittorrent.conf and categories.json
    it wrote into ``folder``."""
    profile = Path(tempfile.mkdtemp(prefix="mediastack-capture-"))
    try:
        webui_port = free_port()
        password = secrets.token_urlsafe(12)
        own = profile_configuration(
            webui_port=webui_port,
            password=password,
            bypass_localhost=False,
            listen_port=6881,
            max_failed_logins=5,
        )
        (profile / "qBittorrent" / "config").mkdir(parents=True)
        (profile / "qBittorrent" / "config" / "qBittorrent.conf").write_text(own, "utf-8")
        settings = QbittorrentSettings("admin", password, webui_port)
        with started(profile, settings) as peer, peer.session() as client:
            client.post(
                "/api/v2/torrents/createCategory",
                data={"category": "user-category", "savePath": "/srv/user"},
            ).raise_for_status()
            client.post(
                "/api/v2/app/setPreferences", data={"json": json.dumps({"max_connec": 321})}
            ).raise_for_status()
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(profile / "qBittorrent" / "config" / "qBittorrent.conf", folder)
        shutil.copy(profile / "qBittorrent" / "config" / "categories.json", folder)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "capture":
        sys.exit(f"usage: {sys.argv[0]} capture FOLDER")
    capture(Path(sys.argv[2]))
