"""Issue 10, part 6, on the shipped lab: a request for a series becomes a download and a
hardlinked import.

The lab (``up vpn --no-wire``, then ``mediastack wire``) runs the real qBittorrent in
gluetun's namespace and the Sonarr API stand-in, wired to it. A second real qBittorrent on the
lab's network seeds a file from a private torrent made here. The request goes straight to
Sonarr's ``POST /api/v3/series`` (no Seerr stand-in), with the release registered on the
stand-in beforehand (real Sonarr would find it through Prowlarr). Sonarr sends the torrent to
qBittorrent, which downloads it from the seeder into data/torrents/tv; Sonarr imports it into
data/media/tv as a hardlink. Proven on the host and inside the sonarr and qbittorrent
containers; cross-seed's link folder is on the same filesystem and takes a hardlink.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from homelab import Homelab, make_homelab
from standins import docker, remove_test_resources, session_prefix
from torrent_support import Seeder, Torrent, make_torrent, start_seeder

from mediastack.render.environment import read_secrets

PROJECT_PREFIX = f"{session_prefix()}e2e"
SERIES = "Lab Show"
EPISODE_FILE = "Lab.Show.S01E01.1080p.WEB.mkv"
PAYLOAD_BYTES = 3 * 1024 * 1024 + 12345  # a last piece shorter than the others
IMPORT_POLLS = 300
POLL_SECONDS = 1.0


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory,
    standin_images: dict[str, str],
    arr_images: dict[str, str],
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    homelab = make_homelab(tmp_path_factory.mktemp("e2e"), PROJECT_PREFIX,
                           {**standin_images, **arr_images})
    try:
        started = homelab.run("up", "vpn", "--no-wire", timeout=900)
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]
        wired = homelab.run("wire", timeout=300)
        assert wired.returncode == 0, wired.stdout[-4000:] + wired.stderr[-4000:]
        yield homelab
    finally:
        homelab.run("down", "--remove-network", timeout=300)
        remove_test_resources(PROJECT_PREFIX)


@pytest.fixture(scope="module")
def torrent(tmp_path_factory: pytest.TempPathFactory) -> Torrent:
    payload = tmp_path_factory.mktemp("payload") / EPISODE_FILE
    payload.write_bytes(os.urandom(PAYLOAD_BYTES))
    return make_torrent(payload)


@pytest.fixture(scope="module")
def seeder(
    lab: Homelab, torrent: Torrent, tmp_path_factory: pytest.TempPathFactory,
    standin_images: dict[str, str],
) -> Seeder:
    network = lab.loaded().config.network.name
    started = start_seeder(PROJECT_PREFIX, network, standin_images["qbittorrent"],
                           tmp_path_factory.mktemp("seeder"), torrent.source)
    started.seed(torrent)
    return started


def sonarr(lab: Homelab, method: str, path: str, body: Any = None) -> Any:
    key = read_secrets(lab.root / ".env")["SONARR_API_KEY"]
    answer = httpx.request(method, f"http://127.0.0.1:{lab.host_port('sonarr')}{path}",
                           headers={"X-Api-Key": key}, json=body, timeout=30)
    assert answer.status_code < 300, answer.text
    return answer.json()


def container(lab: Homelab, service: str) -> str:
    listed = docker(
        "ps", "-q", "--filter", f"label=com.docker.compose.project={lab.prefix}-vpn",
        "--filter", f"label=com.docker.compose.service={service}",
    )
    assert listed.stdout.split(), f"no running {service} container"
    return listed.stdout.split()[0]


def inode_and_links(lab: Homelab, service: str, path: str) -> tuple[int, int]:
    shown = docker("exec", container(lab, service), "stat", "-c", "%i %h", path)
    inode, links = shown.stdout.split()
    return int(inode), int(links)


def wait_for_import(lab: Homelab, series_id: int) -> dict[str, Any]:
    """Poll Sonarr's episode files (bounded); fail with the grab's state if none comes."""
    for _ in range(IMPORT_POLLS):
        files = sonarr(lab, "GET", f"/api/v3/episodefile?seriesId={series_id}")
        if files:
            return dict(files[0])
        grabs = httpx.get(f"http://127.0.0.1:{lab.host_port('sonarr')}/_standin/grabs",
                          timeout=10).json()
        failed = [grab for grab in grabs if grab["status"] == "failed"]
        assert not failed, failed
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"nothing imported after {IMPORT_POLLS} polls: {grabs}")


def test_a_requested_series_is_downloaded_from_the_lab_peer_and_imported_as_a_hardlink(
    lab: Homelab, torrent: Torrent, seeder: Seeder,
) -> None:
    registered = httpx.post(
        f"http://127.0.0.1:{lab.host_port('sonarr')}/_standin/release",
        json={"series": SERIES, "peer": seeder.peer,
              "torrent_base64": base64.b64encode(torrent.metainfo).decode()}, timeout=10)
    registered.raise_for_status()
    profiles = sonarr(lab, "GET", "/api/v3/qualityprofile")
    if not profiles:  # a fresh Sonarr ships its default profiles; the stand-in seeds one
        httpx.post(f"http://127.0.0.1:{lab.host_port('sonarr')}/_standin/qualityprofile",
                   json={"name": "Any"}, timeout=10).raise_for_status()
        profiles = sonarr(lab, "GET", "/api/v3/qualityprofile")
    [root] = sonarr(lab, "GET", "/api/v3/rootfolder")
    series = sonarr(lab, "POST", "/api/v3/series", {
        "title": SERIES, "tvdbId": 424242, "qualityProfileId": profiles[0]["id"],
        "rootFolderPath": root["path"], "monitored": True,
        "addOptions": {"searchForMissingEpisodes": True},
    })
    episode = wait_for_import(lab, series["id"])
    [grab] = httpx.get(f"http://127.0.0.1:{lab.host_port('sonarr')}/_standin/grabs",
                       timeout=10).json()
    assert (grab["status"], grab["message"], grab["hash"]) == (
        "imported", "hardlink", torrent.info_hash)

    data = lab.loaded().data_folder
    downloaded = data / "torrents" / "tv" / EPISODE_FILE
    imported = data / "media" / "tv" / SERIES / "Season 01" / EPISODE_FILE
    assert episode["path"] == f"/data/media/tv/{SERIES}/Season 01/{EPISODE_FILE}"
    assert downloaded.read_bytes() == torrent.source.read_bytes()  # every piece came over
    assert imported.read_bytes() == downloaded.read_bytes()
    assert downloaded.stat().st_ino == imported.stat().st_ino
    assert imported.stat().st_nlink == 2
    in_containers = {
        (service, path): inode_and_links(lab, service, path)
        for service in ("sonarr", "qbittorrent")
        for path in (f"/data/torrents/tv/{EPISODE_FILE}", episode["path"])
    }
    assert set(in_containers.values()) == {(imported.stat().st_ino, 2)}, in_containers

    link_folder = data / "torrents" / "cross-seed"
    assert link_folder.stat().st_dev == downloaded.stat().st_dev
    linked = f"/data/torrents/cross-seed/{EPISODE_FILE}"
    docker("exec", container(lab, "cross-seed"), "ln", f"/data/torrents/tv/{EPISODE_FILE}",
           linked)
    assert (link_folder / EPISODE_FILE).stat().st_ino == downloaded.stat().st_ino
    assert downloaded.stat().st_nlink == 3



def test_the_same_series_is_refused_a_second_time(lab: Homelab) -> None:
    key = read_secrets(lab.root / ".env")["SONARR_API_KEY"]
    [profile, *_] = sonarr(lab, "GET", "/api/v3/qualityprofile")
    again = httpx.post(
        f"http://127.0.0.1:{lab.host_port('sonarr')}/api/v3/series",
        headers={"X-Api-Key": key}, timeout=10,
        json={"title": SERIES, "tvdbId": 424242, "qualityProfileId": profile["id"],
              "rootFolderPath": "/data/media/tv"},
    )
    assert again.status_code == 400
    assert [item["errorMessage"] for item in again.json()] == [
        "This series has already been added"]
