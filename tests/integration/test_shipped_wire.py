"""Issue 10's acceptance on the shipped lab: ``init``'s default config, the real qBittorrent in
gluetun's namespace, and the stateful Sonarr/Radarr/Prowlarr/Bazarr API stand-ins
(``standins/arr``: they validate provider fields, mask secrets, test download clients against
the real qBittorrent and call each other back) in place of the plain busybox ones.

``mediastack wire`` on the fresh lab: the dry run lists the exact requests and writes nothing;
the run makes every link (read back); a second run writes nothing (counted by the stand-ins)
and ``--check`` exits 0; a link the user's action broke is put back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from homelab import Homelab, make_homelab
from standins import docker, remove_test_resources, session_prefix

from mediastack.render.environment import read_secrets

PROJECT_PREFIX = f"{session_prefix()}wire"
ARR_APPS = ("sonarr", "radarr", "prowlarr", "bazarr")
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory,
    standin_images: dict[str, str],
    arr_images: dict[str, str],
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    images = {**standin_images, **arr_images}
    homelab = make_homelab(tmp_path_factory.mktemp("wire"), PROJECT_PREFIX, images)
    try:
        # --no-wire: these tests see the fresh apps (`up` alone wires them: test_shipped_lab).
        started = homelab.run("up", "vpn", "--no-wire", timeout=900)
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]
        yield homelab
    finally:
        homelab.run("down", "--remove-network", timeout=300)
        remove_test_resources(PROJECT_PREFIX)


def standin(lab: Homelab, app: str) -> str:
    return f"http://127.0.0.1:{lab.host_port(app)}"


def counts(lab: Homelab) -> dict[str, int]:
    """Return app -> writes the stand-in received since its counters were last reset."""
    return {
        app: httpx.get(f"{standin(lab, app)}/_standin/requests", timeout=10).json()["writes"]
        for app in ARR_APPS
    }


def reset_counts(lab: Homelab) -> None:
    for app in ARR_APPS:
        httpx.post(f"{standin(lab, app)}/_standin/reset-counts", timeout=10).raise_for_status()


def api(lab: Homelab, app: str, path: str) -> Any:
    key = read_secrets(lab.root / ".env")[f"{app.upper()}_API_KEY"]
    answer = httpx.get(f"{standin(lab, app)}{path}", headers={"X-Api-Key": key}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def wire(lab: Homelab, *arguments: str) -> tuple[int, dict[str, Any]]:
    ran = lab.run("wire", "--format", "json", *arguments, timeout=300)
    assert ran.stdout.strip(), ran.stderr
    return ran.returncode, json.loads(ran.stdout)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f"{link['app']} {link['link']}": link["status"] for link in report["links"]}


def test_a_dry_run_lists_the_exact_requests_and_writes_nothing(lab: Homelab) -> None:
    reset_counts(lab)
    code, report = wire(lab, "--dry-run")
    assert code == 0  # a plan is not a failure (--check is)
    assert counts(lab) == dict.fromkeys(ARR_APPS, 0)
    sent = [(request["app"], request["method"], request["path"]) for request in report["requests"]]
    assert ("sonarr", "POST", "/api/v3/rootfolder") in sent
    assert ("sonarr", "POST", "/api/v3/downloadclient") in sent
    assert ("prowlarr", "POST", "/api/v1/applications") in sent
    assert ("bazarr", "POST", "/api/system/settings") in sent
    secrets = read_secrets(lab.root / ".env")
    shown = json.dumps(report)
    for name in ("QBITTORRENT_PASSWORD", "APPS_PASSWORD", "SONARR_API_KEY", "RADARR_API_KEY",
                 "PROWLARR_API_KEY", "BAZARR_API_KEY"):
        assert secrets[name] not in shown, name  # masked everywhere, bodies included
    # Planned in order, though each waits on the one before: the tag, then the proxy.
    assert ("prowlarr", "POST", "/api/v1/tag") in sent
    assert ("prowlarr", "POST", "/api/v1/indexerProxy") in sent
    client = next(r for r in report["requests"] if r["path"] == "/api/v3/downloadclient")
    fields = {field["name"]: field.get("value") for field in client["body"]["fields"]}
    assert fields["host"] == "localhost" and fields["tvCategory"] == "tv-sonarr"
    STATE["planned"] = len(sent)


def test_wire_makes_every_link_and_a_second_run_writes_nothing(lab: Homelab) -> None:
    code, report = wire(lab)
    found = statuses(report)
    broken = [link for link in report["links"] if link["status"] == "broken"]
    assert broken == [] and code == 0, broken
    assert found["sonarr qBittorrent download client"] == "made"
    assert found["prowlarr application Sonarr (full sync)"] == "made"
    assert api(lab, "sonarr", "/api/v3/rootfolder")[0]["path"] == "/data/media/tv"
    reset_counts(lab)
    code, again = wire(lab)
    assert code == 0
    assert counts(lab) == dict.fromkeys(ARR_APPS, 0), again["links"]
    assert set(statuses(again).values()) <= {"ok", "waiting"}
    checked = lab.run("wire", "--check", timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_deleted_download_client_is_made_again(lab: Homelab) -> None:
    key = read_secrets(lab.root / ".env")["SONARR_API_KEY"]
    [client] = api(lab, "sonarr", "/api/v3/downloadclient")
    httpx.delete(
        f"{standin(lab, 'sonarr')}/api/v3/downloadclient/{client['id']}",
        headers={"X-Api-Key": key}, timeout=10,
    ).raise_for_status()
    checked = lab.run("wire", "--check", timeout=300)
    assert checked.returncode == 1, checked.stdout
    code, report = wire(lab)
    assert code == 0
    assert statuses(report)["sonarr qBittorrent download client"] == "made"
    assert len(api(lab, "sonarr", "/api/v3/downloadclient")) == 1


def test_a_new_prowlarr_indexer_is_tagged_for_flaresolverr_and_given_to_cross_seed(
    lab: Homelab,
) -> None:
    seeded = httpx.post(
        f"{standin(lab, 'prowlarr')}/_standin/indexer",
        json={"name": "Lab tracker", "tags": []}, timeout=10,
    )
    seeded.raise_for_status()
    indexer_id = seeded.json()["id"]
    config_js = lab.root / "config" / "cross-seed" / "config.js"
    before = docker_started_at(lab, "cross-seed")
    code, report = wire(lab)
    found = statuses(report)
    assert code == 0, report["links"]
    assert found["prowlarr new indexers tagged flaresolverr"] == "made"
    assert found["cross-seed torznab indexers from Prowlarr"] == "made"
    [tag] = [tag["id"] for tag in api(lab, "prowlarr", "/api/v1/tag")
             if tag["label"] == "flaresolverr"]
    assert tag in api(lab, "prowlarr", f"/api/v1/indexer/{indexer_id}")["tags"]
    assert f"http://localhost:9696/{indexer_id}/api?apikey=" in config_js.read_text()
    assert docker_started_at(lab, "cross-seed") != before  # restarted to read config.js
    code, again = wire(lab)
    assert statuses(again)["cross-seed torznab indexers from Prowlarr"] == "ok"


def docker_started_at(lab: Homelab, service: str) -> str:
    listed = docker(
        "ps", "-q", "--filter", f"label=com.docker.compose.project={lab.prefix}-vpn",
        "--filter", f"label=com.docker.compose.service={service}",
    )
    container = listed.stdout.split()[0]
    return docker("inspect", "--format", "{{.State.StartedAt}}", container).stdout.strip()
