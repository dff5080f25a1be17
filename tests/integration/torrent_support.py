"""A torrent made in the test and a second real qBittorrent seeding it on a lab's network.

``make_torrent``: a single-file, private, trackerless v1 torrent (BEP 3 bencoding, SHA-1 per
piece, BEP 27 ``private``). ``Seeder``: the real qBittorrent peer image started with
``docker run`` on the lab network, labelled as compose project ``<prefix>-seeder`` so
``remove_test_resources(prefix)`` removes it; its WebUI (published on 127.0.0.1) needs no
login from any address (an auth subnet whitelist of 0.0.0.0/0) and skips host-header
validation (the published port is not 8080). WebAPI calls follow qBittorrent 4.5.2's
``src/webui/api/torrentscontroller.cpp`` (``add``, ``info``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from standins import docker

PIECE_LENGTH = 256 * 1024
SEED_PORT = 6881  # the seeder's BitTorrent listening port inside the lab network
WEBUI_PORT = 8080
SEEDER_CONF = f"""[LegalNotice]
Accepted=true

[BitTorrent]
Session\\Port={SEED_PORT}
Session\\DefaultSavePath=/data

[Preferences]
Connection\\PortRangeMin={SEED_PORT}
Connection\\UPnP=false
Downloads\\SavePath=/data
WebUI\\Address=*
WebUI\\ServerDomains=*
WebUI\\HostHeaderValidation=false
WebUI\\LocalHostAuth=false
WebUI\\AuthSubnetWhitelistEnabled=true
WebUI\\AuthSubnetWhitelist=0.0.0.0/0
"""


def bencode(value: object) -> bytes:
    """Return the BEP 3 encoding of ints, bytes/str, lists and dicts (keys sorted as raw
    bytes, as the spec requires)."""
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(item) for item in value) + b"e"
    if isinstance(value, dict):
        items = sorted((key.encode() if isinstance(key, str) else key, item)
                       for key, item in value.items())
        return b"d" + b"".join(bencode(key) + bencode(item) for key, item in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


@dataclass(frozen=True)
class Torrent:
    metainfo: bytes
    info_hash: str  # hex SHA-1 of the bencoded info dictionary (v1)
    name: str
    source: Path  # the file it was made from


def make_torrent(payload: Path) -> Torrent:
    """Given a file, return a private single-file torrent of it (no announce: peers are
    added by hand)."""
    data = payload.read_bytes()
    pieces = b"".join(hashlib.sha1(data[start:start + PIECE_LENGTH]).digest()
                      for start in range(0, len(data), PIECE_LENGTH))
    info = {"name": payload.name, "length": len(data), "piece length": PIECE_LENGTH,
            "pieces": pieces, "private": 1}
    encoded_info = bencode(info)
    metainfo = bencode({"info": info, "created by": "mediastack tests"})
    return Torrent(metainfo, hashlib.sha1(encoded_info).hexdigest(), payload.name, payload)


@dataclass(frozen=True)
class Seeder:
    container: str
    webui: str  # http://127.0.0.1:<published port>
    address: str  # the seeder's IP on the lab network

    @property
    def peer(self) -> str:
        return f"{self.address}:{SEED_PORT}"

    def seed(self, torrent: Torrent, attempts: int = 120) -> None:
        """Add ``torrent`` (its file is in the seeder's /data) and wait, bounded, until it
        is checked and seeding."""
        added = httpx.post(f"{self.webui}/api/v2/torrents/add",
                           files={"torrents": ("seed.torrent", torrent.metainfo,
                                               "application/x-bittorrent")},
                           data={"savepath": "/data"}, timeout=30)
        assert added.status_code == 200 and added.text == "Ok.", added.text
        state = "missing"
        for _ in range(attempts):
            listed = httpx.get(f"{self.webui}/api/v2/torrents/info",
                               params={"hashes": torrent.info_hash}, timeout=10).json()
            if listed:
                state = listed[0]["state"]
                if listed[0]["progress"] == 1 and state in ("uploading", "stalledUP"):
                    return
            time.sleep(0.5)
        raise AssertionError(f"the seeder never seeded {torrent.name}: state {state}")


def start_seeder(prefix: str, network: str, image: str, folder: Path,
                 payload: Path) -> Seeder:
    """Start the seeding qBittorrent with ``payload`` in its /data; return it once its WebAPI
    answers (bounded)."""
    config = folder / "config" / "qBittorrent"
    data = folder / "data"
    config.mkdir(parents=True)
    data.mkdir()
    (config / "qBittorrent.conf").write_text(SEEDER_CONF)
    (data / payload.name).write_bytes(payload.read_bytes())
    for path in (folder, folder / "config", config, data):
        path.chmod(0o755)  # qBittorrent runs as PUID 911; pytest's folders are 0700
    (data / payload.name).chmod(0o644)
    name = f"{prefix}-seeder-qbittorrent"
    docker("run", "-d", "--name", name, "--label", f"com.docker.compose.project={prefix}-seeder",
           "--network", network, "-p", f"127.0.0.1::{WEBUI_PORT}",
           "-v", f"{folder / 'config'}:/config", "-v", f"{data}:/data", image)
    published = docker("port", name, f"{WEBUI_PORT}/tcp").stdout.split()[0]
    webui = f"http://127.0.0.1:{published.rsplit(':', 1)[1]}"
    address = docker("inspect", "--format",
                     f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
                     name).stdout.strip()
    for _ in range(60):
        try:
            if httpx.get(f"{webui}/api/v2/app/version", timeout=5).status_code == 200:
                return Seeder(name, webui, address)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    logs = docker("logs", name)
    raise AssertionError(f"the seeder's WebAPI never answered: {logs.stdout}{logs.stderr}")
