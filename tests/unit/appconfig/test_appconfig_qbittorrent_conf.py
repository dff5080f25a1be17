"""qBittorrent.conf and categories.json: our keys set, qBittorrent's own kept, no churn.

The fixture was written by the real qbittorrent-nox 4.5.2
(tests/integration/test_appconfig_qbittorrent.py capture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediastack.appconfig import qt_ini
from mediastack.appconfig.qbittorrent import (
    QbittorrentSettings,
    categories_json,
    password_hash,
    password_matches,
    qbittorrent_conf,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "appconfig" / "qbittorrent-4.5.2"
REAL_CONF = (FIXTURES / "qBittorrent.conf").read_text(encoding="utf-8")
REAL_CATEGORIES = (FIXTURES / "categories.json").read_text(encoding="utf-8")
SETTINGS = QbittorrentSettings(
    username="admin",
    password="correct horse battery staple",
    categories={"tv-sonarr": "/data/torrents/tv", "radarr": "/data/torrents/movies"},
)


def fixed_salt() -> bytes:
    return bytes(range(16))


@pytest.fixture(scope="module")
def merged() -> str:
    """The real 4.5.2 file with our keys merged in (one PBKDF2 for the whole module)."""
    return qbittorrent_conf(SETTINGS, REAL_CONF, new_salt=fixed_salt)


def value(text: str, section: str, key: str) -> str | None:
    return qt_ini.read_value(text, section, key)


def test_our_keys_are_set(merged: str) -> None:
    assert value(merged, "BitTorrent", "Session\\DefaultSavePath") == "/data/torrents"
    assert value(merged, "Preferences", "Downloads\\SavePath") == "/data/torrents"
    assert value(merged, "BitTorrent", "Session\\DisableAutoTMMByDefault") == "false"
    assert value(merged, "BitTorrent", "Session\\MaxRatioAction") == "0"
    assert value(merged, "BitTorrent", "Session\\ShareLimitAction") == "Stop"
    assert value(merged, "Preferences", "WebUI\\Port") == "8080"
    assert value(merged, "Preferences", "WebUI\\Username") == "admin"


def test_the_password_is_stored_as_qbittorrent_verifies_it(merged: str) -> None:
    stored = value(merged, "Preferences", "WebUI\\Password_PBKDF2")
    assert stored is not None and stored.startswith('"@ByteArray(AAECAwQFBgcICQoLDA0ODw==:')
    assert password_matches(stored, SETTINGS.password)
    assert not password_matches(stored, "another password")


def test_qbittorrents_own_keys_stay(merged: str) -> None:
    ours = {"Session\\DefaultSavePath", "Session\\DisableAutoTMMByDefault", "Downloads\\SavePath"}
    ours |= {"Session\\MaxRatioAction", "Session\\ShareLimitAction"}
    ours |= {"WebUI\\Port", "WebUI\\Username", "WebUI\\Password_PBKDF2"}
    for line in REAL_CONF.splitlines():
        if "=" in line and line.split("=", 1)[0] not in ours:
            assert line in merged.splitlines(), line
    assert value(merged, "BitTorrent", "Session\\MaxConnections") == "321"
    assert value(merged, "Meta", "MigrationVersion") == "4"


def test_a_hash_that_verifies_the_password_is_kept_so_rendering_twice_changes_nothing(
    merged: str,
) -> None:
    again = qbittorrent_conf(SETTINGS, merged, new_salt=lambda: b"\xff" * 16)
    assert again == merged


def test_a_new_password_replaces_the_hash() -> None:
    changed = QbittorrentSettings(username="admin", password="a new one")
    stored = value(qbittorrent_conf(changed, REAL_CONF), "Preferences", "WebUI\\Password_PBKDF2")
    assert stored is not None and password_matches(stored, "a new one")


def test_a_new_file_accepts_the_legal_notice_and_listens_everywhere() -> None:
    settings = QbittorrentSettings(username="admin", password="p")
    text = qbittorrent_conf(settings, None, new_salt=fixed_salt)
    assert value(text, "LegalNotice", "Accepted") == "true"
    assert value(text, "Preferences", "WebUI\\Address") == "*"
    assert value(text, "Preferences", "WebUI\\ServerDomains") == "*"
    assert value(text, "Network", "PortForwardingEnabled") == "false"
    assert value(text, "Preferences", "WebUI\\HostHeaderValidation") is None  # default: on
    assert value(text, "Preferences", "WebUI\\LocalHostAuth") is None  # default: on


def test_a_web_ui_published_on_another_port_turns_host_header_validation_off() -> None:
    settings = QbittorrentSettings(username="admin", password="p", published_port=8081)
    text = qbittorrent_conf(settings, REAL_CONF.replace("WebUI\\Port=56323\n", ""))
    assert value(text, "Preferences", "WebUI\\HostHeaderValidation") == "false"


def test_a_user_name_qbittorrent_would_store_escaped_is_refused() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        qbittorrent_conf(QbittorrentSettings(username="jürgen", password="p"), None)


def test_password_hash_is_pbkdf2_sha512_with_the_given_salt() -> None:
    stored = password_hash("adminadmin", fixed_salt())
    assert stored.startswith('"@ByteArray(AAECAwQFBgcICQoLDA0ODw==:') and stored.endswith(')"')
    assert password_matches(stored, "adminadmin")
    assert not password_matches('"@ByteArray(not:base64!)"', "adminadmin")


def test_categories_are_merged_into_the_users_own() -> None:
    merged = json.loads(categories_json(SETTINGS.categories, REAL_CATEGORIES))
    assert merged == {
        "user-category": {"save_path": "/srv/user"},
        "tv-sonarr": {"save_path": "/data/torrents/tv"},
        "radarr": {"save_path": "/data/torrents/movies"},
    }


def test_a_categorys_other_options_are_kept_and_its_save_path_set() -> None:
    existing = json.dumps({"radarr": {"save_path": "/old", "download_path": "/incomplete"}})
    merged = json.loads(categories_json(SETTINGS.categories, existing))
    assert merged["radarr"] == {
        "save_path": "/data/torrents/movies",
        "download_path": "/incomplete",
    }


def test_categories_already_right_come_back_byte_for_byte() -> None:
    first = categories_json(SETTINGS.categories, None)
    assert categories_json(SETTINGS.categories, first) is first
    assert first == categories_json(SETTINGS.categories, None)


def test_unreadable_categories_are_replaced() -> None:
    assert json.loads(categories_json({"radarr": "/m"}, "{not json")) == {
        "radarr": {"save_path": "/m"}
    }
