"""The whole rendered topology on a real engine: ``mediastack init`` -> ``up`` -> ``status`` ->
``down``, with locally built stand-ins for every image (nothing is pulled).

One homelab is brought up once for the module (it takes most of a minute: engine 20.10 runs
the first health probe only after one interval) and every test reads what it left.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from homelab import Homelab, make_homelab
from standins import SERVICE_PORTS, remove_test_resources, session_prefix

VPN_DEPENDENTS = (
    "qbittorrent",
    "prowlarr",
    "flaresolverr",
    "sonarr",
    "radarr",
    "bazarr",
    "unpackerr",
    "cross-seed",
    "recyclarr",
)
PROJECT_PREFIX = f"{session_prefix()}topo"
"""This run's own (see ``session_prefix``): another run on the engine leaves it alone."""


def inspect(container: str) -> dict[str, Any]:
    output = subprocess.run(
        ["docker", "inspect", container], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(output)[0]
    return result


def containers_of(prefix: str) -> dict[str, str]:
    """Return service name -> container id for every container of the homelab's projects."""
    output = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--no-trunc",
            "--format",
            '{{.ID}} {{.Label "com.docker.compose.project"}}'
            ' {{.Label "com.docker.compose.service"}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in output.splitlines():
        container_id, project, service = [*line.split(" "), "", ""][:3]
        if project.startswith(f"{prefix}-"):
            found[service] = container_id
    return found


@pytest.fixture(scope="module")
def homelab(
    tmp_path_factory: pytest.TempPathFactory, standin_images: dict[str, str]
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    lab = make_homelab(tmp_path_factory.mktemp("homelab"), PROJECT_PREFIX, standin_images)
    started = lab.run("up", timeout=420)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield lab
    finally:
        lab.run("down", "--remove-network", timeout=180)
        remove_test_resources(PROJECT_PREFIX)


def test_init_output_lints_clean_and_passes_compose_config(homelab: Homelab) -> None:
    linted = homelab.run("lint", "--format", "json")
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert json.loads(linted.stdout)["errors"] == 0
    for stack in ("vpn", "media", "ops"):
        folder = homelab.root / "stacks" / stack
        checked = subprocess.run(
            ["docker", "compose", "config", "--quiet"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr


def test_dependents_share_gluetuns_namespace(homelab: Homelab) -> None:
    containers = containers_of(PROJECT_PREFIX)
    gluetun = inspect(containers["gluetun"])
    gluetun_namespace = os.readlink(f"/proc/{gluetun['State']['Pid']}/ns/net")
    for service in VPN_DEPENDENTS:
        dependent = inspect(containers[service])
        assert dependent["HostConfig"]["NetworkMode"] == f"container:{gluetun['Id']}", service
        assert dependent["NetworkSettings"]["SandboxKey"] in ("", None), service
        namespace = os.readlink(f"/proc/{dependent['State']['Pid']}/ns/net")
        assert namespace == gluetun_namespace, service


def test_dependents_are_reachable_through_gluetuns_published_ports(homelab: Homelab) -> None:
    gluetun_ports = inspect(containers_of(PROJECT_PREFIX)["gluetun"])["HostConfig"]["PortBindings"]
    for service, path in (
        ("sonarr", "/ping"),
        ("radarr", "/ping"),
        ("qbittorrent", "/"),
        ("prowlarr", "/ping"),
        ("bazarr", "/"),
        ("flaresolverr", "/health"),
    ):
        port_name = "api" if service == "flaresolverr" else "webui"
        host_port = homelab.host_port(service, port_name)
        binding = gluetun_ports[f"{SERVICE_PORTS[service]}/tcp"][0]
        assert binding == {"HostIp": "127.0.0.1", "HostPort": str(host_port)}
        answer = httpx.get(f"http://127.0.0.1:{host_port}{path}", timeout=5)
        assert answer.status_code == 200, service


def test_plex_is_on_the_host_network(homelab: Homelab) -> None:
    plex = inspect(containers_of(PROJECT_PREFIX)["plex"])
    assert plex["HostConfig"]["NetworkMode"] == "host"
    assert httpx.get("http://127.0.0.1:32400/identity", timeout=5).status_code == 200


def test_the_socket_proxy_is_not_on_the_shared_network(homelab: Homelab) -> None:
    proxy = inspect(containers_of(PROJECT_PREFIX)["socket-proxy"])
    networks = set(proxy["NetworkSettings"]["Networks"])
    assert f"{PROJECT_PREFIX}_media" not in networks
    assert networks == {f"{PROJECT_PREFIX}-ops_docker-api"}


def test_status_reports_every_service_healthy_and_in_the_namespace(homelab: Homelab) -> None:
    reported = homelab.run("status", "--format", "json")
    assert reported.returncode == 0, reported.stdout + reported.stderr
    services = {entry["service"]: entry for entry in json.loads(reported.stdout)["services"]}
    assert set(VPN_DEPENDENTS) | {"gluetun", "plex", "seerr", "socket-proxy"} <= set(services)
    for name, entry in services.items():
        assert entry["state"] == "running", name
        assert entry["health"] == "healthy", name
    for name in VPN_DEPENDENTS:
        assert services[name]["zone"] == "vpn"
        assert services[name]["namespace"] == "ok", services[name]
    assert services["plex"]["zone"] == "host"


def test_status_sees_dependents_stranded_by_a_gluetun_restart(homelab: Homelab) -> None:
    """Runs after the other read-only tests (file order): it restarts gluetun and heals."""
    gluetun = containers_of(PROJECT_PREFIX)["gluetun"]
    subprocess.run(["docker", "restart", "-t", "2", gluetun], check=True, capture_output=True)
    reported = homelab.run("status", "--format", "json")
    assert reported.returncode == 1
    services = {entry["service"]: entry for entry in json.loads(reported.stdout)["services"]}
    for name in VPN_DEPENDENTS:
        assert services[name]["namespace"] == "stale", services[name]
    healed = homelab.run("up", "vpn", "--force-recreate", timeout=300)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    after = homelab.run("status", "--format", "json")
    assert after.returncode == 0, after.stdout
    assert all(entry["namespace"] in (None, "ok") for entry in json.loads(after.stdout)["services"])


def test_down_leaves_nothing_running(homelab: Homelab) -> None:
    stopped = homelab.run("down", timeout=180)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert containers_of(PROJECT_PREFIX) == {}
