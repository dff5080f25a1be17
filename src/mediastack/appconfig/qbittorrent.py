"""qBittorrent: ``qBittorrent.conf`` and ``categories.json``, written while it is stopped.

The facts below were read from qBittorrent's sources (tags release-4.5.2, the version in
Debian bookworm, release-5.0.0 and master of 2026):

- Settings live in ``qBittorrent.conf`` (QSettings INI); the setting ``BitTorrent/Session/X``
  is the key ``Session\\X`` in ``[BitTorrent]``. qBittorrent rewrites the whole file when it
  exits, so it may only be edited while qBittorrent is stopped.
- The WebUI password is ``Preferences/WebUI/Password_PBKDF2`` = ``@ByteArray(<salt>:<key>)``,
  both base64, PBKDF2-HMAC-SHA512 with 100,000 iterations, a 16-byte salt and a 64-byte key
  (``src/base/utils/password.cpp``). Since 4.6.1 a profile without one gets a temporary
  password printed at every start.
- Default save path: ``BitTorrent/Session/DefaultSavePath`` (``sessionimpl.cpp``). 4.5.2 does
  not read ``Preferences/Downloads/SavePath`` any more, but ``src/app/upgrade.cpp``
  (``migrateSettingKeys``, run while ``Meta/MigrationVersion`` < 2, as in a file without that
  key, like linuxserver's default) copies it over ``DefaultSavePath``: so both are set.
- What happens when a ratio or seeding-time limit is reached: 4.x
  ``BitTorrent/Session/MaxRatioAction`` (int; 0 pause, 1 remove, 2 super seeding, 3 remove
  with files); 5.x ``BitTorrent/Session/ShareLimitAction`` (enum name: Stop, Remove,
  EnableSuperSeeding, RemoveWithContent; 5.0's ``migrateShareLimitActionSettings`` turns
  MaxRatioAction 0 into Stop). Sonarr and Radarr refuse a client whose action removes
  torrents, so both keys say pause/stop.
- Categories (4.4+): ``categories.json`` beside the conf, ``{"name": {"save_path": ...,
  "download_path": ...}}`` (``SessionImpl::loadCategories``, ``categoryoptions.cpp``). A
  category's save path is used only by torrents in automatic management mode, so
  ``Session\\DisableAutoTMMByDefault`` is false: Sonarr's and Radarr's downloads then land in
  data/torrents/tv and data/torrents/movies, as the folder tree expects.

WebUI access (``src/webui/webapplication.cpp``), decided here:

- ``WebUI\\LocalHostAuth`` stays qBittorrent's default (true: 127.0.0.1 must log in too) and
  no subnet whitelist is enabled: every client has the password (port sync in the supervisor,
  Sonarr and Radarr once wired, cross-seed through the URL in its config.js), so nothing needs
  an unauthenticated address, and in gluetun's namespace every app is 127.0.0.1 anyway.
- Host header validation: with ``WebUI\\ServerDomains`` = ``*`` (the default, and set in a
  new file) every host name passes, so the supervisor's ``http://gluetun:8080`` is accepted;
  but the Host header's port must equal the port qBittorrent listens on (8080). A web UI
  published on another host port (``services.qbittorrent.ports.webui``) would answer the
  browser 401 on every page, so only then ``WebUI\\HostHeaderValidation`` is turned off (with
  ``*`` as the domain list, the port check is all it adds). CSRF protection stays on: API
  clients send no Origin/Referer, which it lets through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mediastack.appconfig import qt_ini

CONFIG_FILE = PurePosixPath("qBittorrent/qBittorrent.conf")  # below the app's /config
CATEGORIES_FILE = PurePosixPath("qBittorrent/categories.json")
WEBUI_PORT = 8080
SAVE_PATH = "/data/torrents"
PBKDF2_ITERATIONS = 100_000
SALT_BYTES = 16
KEY_BYTES = 64

# Only for a file that does not exist yet: what linuxserver's /defaults/qBittorrent.conf
# would have given (its init copies that only when no file is there), minus its /downloads
# paths, plus UPnP off under its current key (nothing to map inside a VPN tunnel).
_NEW_FILE = """[LegalNotice]
Accepted=true

[Network]
PortForwardingEnabled=false

[Preferences]
WebUI\\Address=*
WebUI\\ServerDomains=*
"""

_BYTE_ARRAY = re.compile(r'^"?@ByteArray\(([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)\)"?$')


@dataclass(frozen=True)
class QbittorrentSettings:
    """What mediastack sets in qBittorrent; ``categories`` maps a name to its save path."""

    username: str
    password: str
    webui_port: int = WEBUI_PORT
    published_port: int = WEBUI_PORT  # the host port the web UI is published on
    save_path: str = SAVE_PATH
    categories: Mapping[str, str] = field(default_factory=dict)


def password_hash(password: str, salt: bytes) -> str:
    """Return ``password`` as qBittorrent stores it: ``"@ByteArray(<salt>:<key>)"``."""
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS, KEY_BYTES)
    encoded = f"{base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()}"
    return f'"@ByteArray({encoded})"'


def password_matches(stored: str, password: str) -> bool:
    """Return True when the stored ``WebUI\\Password_PBKDF2`` value verifies ``password``."""
    match = _BYTE_ARRAY.match(stored.strip())
    if match is None:
        return False
    try:
        salt = base64.b64decode(match.group(1), validate=True)
        key = base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        return False
    candidate = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS, len(key))
    return hmac.compare_digest(candidate, key)


def qbittorrent_conf(
    settings: QbittorrentSettings,
    existing: str | None,
    new_salt: Callable[[], bytes] = lambda: os.urandom(SALT_BYTES),
) -> str:
    """Given the settings and the current file (None: none yet), return qBittorrent.conf with
    mediastack's keys set and every other line kept. A stored password hash that already
    verifies the password is kept, so the same inputs give the same bytes; raise ValueError
    when the user name cannot be written (see :func:`qt_ini.quote_string`)."""
    username = qt_ini.quote_string(settings.username)  # before the costly hash: it may refuse
    text = existing if existing is not None else _NEW_FILE
    stored = qt_ini.read_value(text, "Preferences", "WebUI\\Password_PBKDF2")
    if stored is None or not password_matches(stored, settings.password):
        stored = password_hash(settings.password, new_salt())
    save_path = qt_ini.quote_string(settings.save_path)
    values = {
        ("BitTorrent", "Session\\DefaultSavePath"): save_path,
        ("BitTorrent", "Session\\DisableAutoTMMByDefault"): "false",
        ("BitTorrent", "Session\\MaxRatioAction"): "0",
        ("BitTorrent", "Session\\ShareLimitAction"): "Stop",
        ("Preferences", "Downloads\\SavePath"): save_path,
        ("Preferences", "WebUI\\Port"): str(settings.webui_port),
        ("Preferences", "WebUI\\Username"): username,
        ("Preferences", "WebUI\\Password_PBKDF2"): stored,
    }
    if settings.published_port != settings.webui_port:
        values[("Preferences", "WebUI\\HostHeaderValidation")] = "false"
    return qt_ini.set_values(text, values)


def categories_json(categories: Mapping[str, str], existing: str | None) -> str:
    """Given ``{name: save path}`` and the current categories.json (None: none yet), return
    the file with those categories' save paths set and every other category and option kept.
    Unchanged content comes back byte for byte; a file that is not a JSON object (which
    qBittorrent itself ignores, with a warning) is replaced."""
    current = _json_object(existing)
    merged: dict[str, object] = dict(current)
    for name, save_path in categories.items():
        options = merged.get(name)
        kept = dict(options) if isinstance(options, dict) else {}
        merged[name] = {**kept, "save_path": save_path}
    if existing is not None and merged == current:
        return existing
    # QJsonDocument::toJson: keys sorted (a QJsonObject is), four-space indents.
    return json.dumps(merged, indent=4, sort_keys=True) + "\n"


def _json_object(text: str | None) -> dict[str, object]:
    if text is None:
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
