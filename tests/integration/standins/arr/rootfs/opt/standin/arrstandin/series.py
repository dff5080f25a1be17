"""Sonarr 4's road from a new series to an imported episode file, against the REAL qBittorrent:
add a series, "search" (the release the test registered), send the torrent to the configured
qBittorrent download client, wait for it to complete, import it as a hardlink.

Sources: Sonarr v4.0.19.2979 (main):
- ``src/Sonarr.Api.V3/Series/SeriesController.cs``: POST /api/v3/series needs ``title``,
  ``tvdbId`` (> 0, not already added: "This series has already been added"),
  ``qualityProfileId`` (an existing profile) and ``path`` or ``rootFolderPath`` (the path is
  ``rootFolderPath/<title>``); ``addOptions.searchForMissingEpisodes`` queues a search.
- ``src/NzbDrone.Core/Download/Clients/QBittorrent/QBittorrentProxyV2.cs``
  ``AddTorrentFromFile``: ``POST /api/v2/torrents/add`` multipart, the file under
  ``torrents``, ``category`` = tvCategory, no ``savepath`` (the category's path applies:
  automatic torrent management); "Fails." is an error.
- ``QBittorrent.cs`` ``GetItems``: ``GET /api/v2/torrents/info?category=<tvCategory>``; a
  torrent whose progress is 1 and that is not checking is completed, at ``content_path``.
- ``src/NzbDrone.Core/MediaFiles/EpisodeImport/ImportApprovedEpisodes.cs`` and
  ``TransferFileService``/``DiskTransferService.cs``: with ``copyUsingHardlinks`` (the
  default) a completed torrent is hardlinked into ``<series path>/Season NN/<file name>``
  (renaming off, the default); when the link fails (another filesystem) it is copied.
  ``GET /api/v3/episodefile?seriesId=`` lists what was imported.

Stand-in only (real Sonarr gets releases from Prowlarr's indexers and peers from trackers):
``POST /_standin/release {"series": title, "torrent_base64": ..., "peer": "IP:port"}`` is
the release a search finds; after adding the torrent the stand-in gives qBittorrent the peer
(``POST /api/v2/torrents/addPeers``). ``GET /_standin/grabs`` shows each grab's state
(``grabbed``, ``imported`` or ``failed`` with a message). The wait is bounded
(GRAB_POLLS polls, POLL_SECONDS apart). Episodes are not modelled: the season and episode
come from the file name (``SxxEyy``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import qbittorrent
from .store import Store
from .web import ApiError, App, Request, Response, ValidationFailed, failure, json_response

API = "/api/v3"
GRAB_POLLS = 240
POLL_SECONDS = 1.0
EPISODE_PATTERN = re.compile(r"S(\d{1,2})E(\d{1,3})", re.IGNORECASE)


def register_series(app: App, store: Store, settings: qbittorrent.Flavour) -> None:
    """Add series, episodefile and the stand-in release routes to the Sonarr stand-in."""

    @app.route("GET", API + "/series")
    def list_series(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, store.all("series"))

    @app.route("POST", API + "/series")
    def add_series(request: Request, match: re.Match[str]) -> Response:
        series = store.insert("series", _new_series(request.json(), store))
        options = (request.json() or {}).get("addOptions") or {}
        if options.get("searchForMissingEpisodes"):
            _search(store, settings, series)
        return json_response(201, series)

    @app.route("GET", API + "/episodefile")
    def episode_files(request: Request, match: re.Match[str]) -> Response:
        wanted = request.query_value("seriesId")
        files = [item for item in store.all("episodefile")
                 if wanted is None or str(item["seriesId"]) == wanted]
        return json_response(200, files)

    @app.route("POST", "/_standin/release")
    def add_release(request: Request, match: re.Match[str]) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not all(
            isinstance(body.get(key), str) for key in ("series", "torrent_base64", "peer")
        ):
            raise ApiError(400, {"message": "series, torrent_base64 and peer are required"})
        base64.b64decode(body["torrent_base64"], validate=True)
        return json_response(201, store.insert("release", body))

    @app.route("GET", "/_standin/grabs")
    def grabs(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, store.all("grab"))


def _new_series(body: Any, store: Store) -> dict[str, Any]:
    """SeriesController's validators; return the series to store."""
    if not isinstance(body, dict):
        raise ApiError(400, {"message": "A series resource is required"})
    problems = []
    title = str(body.get("title") or "").strip()
    if not title:
        problems.append(failure("Title", "'Title' must not be empty."))
    tvdb_id = body.get("tvdbId")
    if not isinstance(tvdb_id, int) or tvdb_id <= 0:
        problems.append(failure("TvdbId", "'Tvdb Id' must be greater than '0'.",
                                attempted=tvdb_id))
    elif any(item["tvdbId"] == tvdb_id for item in store.all("series")):
        problems.append(failure("TvdbId", "This series has already been added",
                                attempted=tvdb_id))
    if store.get("qualityprofile", body.get("qualityProfileId") or 0) is None:
        problems.append(failure("QualityProfileId", "Quality Profile does not exist",
                                attempted=body.get("qualityProfileId")))
    root = body.get("rootFolderPath")
    path = body.get("path") or (f"{str(root).rstrip('/')}/{title}" if root else None)
    if not path or not str(path).startswith("/"):
        problems.append(failure("Path", "'Path' must not be empty.", attempted=path))
    if problems:
        raise ValidationFailed(problems)
    return {"title": title, "tvdbId": tvdb_id, "path": path,
            "rootFolderPath": root or str(Path(str(path)).parent),
            "qualityProfileId": body["qualityProfileId"],
            "monitored": bool(body.get("monitored", True)), "seasonFolder": True}


def _search(store: Store, settings: qbittorrent.Flavour, series: dict[str, Any]) -> None:
    """EpisodeSearchService: grab every release registered for the series, in the background
    (the real search is a queued command too)."""
    for release in store.all("release"):
        if release["series"].lower() != series["title"].lower():
            continue
        grab = store.insert("grab", {"seriesId": series["id"], "status": "grabbed",
                                     "message": None, "hash": None})
        worker = threading.Thread(target=_grab_and_import,
                                  args=(store, settings, series, release, grab), daemon=True)
        worker.start()


def _grab_and_import(store: Store, settings: qbittorrent.Flavour, series: dict[str, Any],
                     release: dict[str, Any], grab: dict[str, Any]) -> None:
    try:
        client_settings = _download_client(store)
        torrent = base64.b64decode(release["torrent_base64"])
        info_hash = _info_hash(torrent)
        grab.update(hash=info_hash)
        store.replace("grab", grab)
        client = qbittorrent.Client(client_settings)
        category = client_settings.get(settings.category) or ""
        _add_torrent(client, torrent, category)
        _add_peer(client, info_hash, release["peer"])
        content_path = _wait_until_complete(client, info_hash, category, release["peer"])
        imported = _import(store, series, content_path)
        grab.update(status="imported", message=imported)
    except Exception as error:  # the real grab fails the item with its message
        grab.update(status="failed", message=f"{type(error).__name__}: {error}")
    store.replace("grab", grab)


def _download_client(store: Store) -> dict[str, Any]:
    for client in store.all("downloadclient"):
        if client.get("enable") and client["implementation"] == "QBittorrent":
            return dict(client["settings"])
    raise RuntimeError("No available download client for torrent releases")


def _info_hash(torrent: bytes) -> str:
    """The SHA-1 of the bencoded info dictionary, as Sonarr's TorrentFileInfoReader reads it."""
    start = torrent.index(b"4:infod") + len(b"4:info")
    return hashlib.sha1(torrent[start:_bencode_end(torrent, start)]).hexdigest()


def _bencode_end(data: bytes, position: int) -> int:
    """Return the index just past the bencoded value starting at ``position``."""
    marker = data[position:position + 1]
    if marker == b"i":
        return data.index(b"e", position) + 1
    if marker in (b"l", b"d"):
        position += 1
        while data[position:position + 1] != b"e":
            position = _bencode_end(data, position)
        return position + 1
    colon = data.index(b":", position)
    return colon + 1 + int(data[position:colon])


def _add_torrent(client: qbittorrent.Client, torrent: bytes, category: str) -> None:
    """QBittorrentProxyV2.AddTorrentFromFile: multipart, file under ``torrents``."""
    boundary = uuid.uuid4().hex
    parts = [(f'--{boundary}\r\nContent-Disposition: form-data; name="torrents"; '
              f'filename="release.torrent"\r\nContent-Type: application/x-bittorrent\r\n\r\n'
              ).encode() + torrent + b"\r\n"]
    if category:
        parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="category"'
                      f'\r\n\r\n{category}\r\n').encode())
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    client.login()
    request = urllib.request.Request(client.base + "/api/v2/torrents/add", data=body)
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with client.opener.open(request, timeout=qbittorrent.TIMEOUT_SECONDS) as response:
            answer = response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"qBittorrent refused the torrent: HTTP {error.code}") from None
    if answer.strip() != "Ok.":
        raise RuntimeError(f"qBittorrent refused the torrent: {answer!r}")


def _add_peer(client: qbittorrent.Client, info_hash: str, peer: str) -> None:
    """Stand-in only: the peer a tracker would have given. addPeers answers per loaded torrent
    (``{hash: {"added": n, "failed": n}}``) and skips one not loaded yet, so retry (bounded)."""
    for _ in range(30):
        answer = json.loads(client.call("/api/v2/torrents/addPeers",
                                        {"hashes": info_hash, "peers": peer}) or "{}")
        if (answer.get(info_hash) or {}).get("added"):
            return
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"qBittorrent did not take the peer {peer}")


def _wait_until_complete(client: qbittorrent.Client, info_hash: str, category: str,
                         peer: str) -> str:
    """Poll GetItems until the torrent is complete; return its content path. The peer is
    offered again now and then (a first connection can fail while the torrent is checked)."""
    last: dict[str, Any] = {}
    for poll in range(GRAB_POLLS):
        for item in client.json(f"/api/v2/torrents/info?category={category}"):
            if item.get("hash") == info_hash:
                last = item
        if last.get("progress") == 1 and not str(last.get("state", "")).startswith("checking"):
            return str(last["content_path"])
        if poll % 15 == 14:
            client.call("/api/v2/torrents/addPeers", {"hashes": info_hash, "peers": peer})
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"download not complete after {GRAB_POLLS} polls: {last}")


def _import(store: Store, series: dict[str, Any], content_path: str) -> str:
    """Hardlink (else copy) the completed file into the series folder; record the episode
    file; return how it was transferred."""
    source = Path(content_path)
    found = EPISODE_PATTERN.search(source.name)
    if found is None or not source.is_file():
        raise RuntimeError(f"no single episode file at {source}")
    season = int(found.group(1))
    destination = Path(series["path"]) / f"Season {season:02d}" / source.name
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
        mode = "hardlink"
    except OSError:
        shutil.copy2(source, destination)
        mode = "copy"
    store.insert("episodefile", {
        "seriesId": series["id"], "seasonNumber": season,
        "relativePath": str(destination.relative_to(series["path"])),
        "path": str(destination), "size": destination.stat().st_size,
        "dateAdded": datetime.now(UTC).isoformat(),
    })
    return mode
