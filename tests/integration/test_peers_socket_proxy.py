"""The socket-proxy peer (upstream's haproxy.cfg on Debian's haproxy) with the environment the
catalogue renders: what the supervisor and ``docker compose`` get through it, and what they
are refused, like ``lscr.io/linuxserver/socket-proxy``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from peer_compose import Project, healthcheck, running_project
from standins import docker
from test_supervisor_harness import free_port

from mediastack.catalogue import CATALOGUE

EVENT_READ_SECONDS = 20.0


def _proxy_service(image: str, port: int, name: str = "socket-proxy") -> dict[str, Any]:
    """The socket proxy ``name`` as the catalogue renders it (environment, socket, read-only
    root, tmpfs /run, probe), published on 127.0.0.1:``port``."""
    definition = CATALOGUE[name]
    return {
        "image": image,
        "pull_policy": "never",
        "environment": dict(definition.environment),
        "volumes": list(definition.extra_volumes),
        "read_only": definition.read_only,
        "tmpfs": list(definition.tmpfs),
        "ports": [f"127.0.0.1:{port}:2375"],
        "healthcheck": healthcheck(definition.healthcheck.probe),
    }


@pytest.fixture
def proxy(
    standin_images: dict[str, str],
    real_peer_images: dict[str, str],
    compose_project_prefix: str,
    tmp_path: Path,
) -> Iterator[tuple[Project, httpx.Client]]:
    """The proxy up and healthy, plus a created (not started) ``target`` container."""
    port = free_port()
    services = {
        "socket-proxy": _proxy_service(real_peer_images["socket-proxy"], port),
        "target": {"image": standin_images["sonarr"], "pull_policy": "never"},
    }
    with (
        running_project(compose_project_prefix, tmp_path, services, start=["socket-proxy"]) as p,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30) as client,
    ):
        p.compose("create", "target")
        yield p, client


def test_the_supervisor_reads_pings_and_starts_through_it(
    proxy: tuple[Project, httpx.Client],
) -> None:
    project, client = proxy
    assert client.get("/_ping").text == "OK"
    listed = client.get("/v1.41/containers/json").json()
    assert project.container("socket-proxy") in {container["Id"] for container in listed}
    target = project.container("target")
    assert client.post(f"/containers/{target}/start").status_code == 204
    assert client.post(f"/v1.41/containers/{target}/restart?t=1").status_code == 204
    assert client.post(f"/containers/{target}/stop?t=1").status_code == 204


def test_events_stream_through_unbuffered(proxy: tuple[Project, httpx.Client]) -> None:
    project, client = proxy
    target = project.container("target")
    filters = json.dumps({"container": [target], "type": ["container"]})
    timeout = httpx.Timeout(10, read=EVENT_READ_SECONDS)
    with client.stream("GET", "/events", params={"filters": filters}, timeout=timeout) as events:
        assert events.status_code == 200
        started_at = time.monotonic()
        assert client.post(f"/containers/{target}/start").status_code == 204
        # A buffering proxy would hold the one small event back: the read would time out.
        for line in events.iter_lines():
            if line and json.loads(line).get("status") == "start":
                print(f"start event {time.monotonic() - started_at:.2f} s after the start call")
                break


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/secrets"),  # SECRETS=0
        ("POST", "/build"),  # BUILD=0
        ("POST", "/exec/0123abcd/start"),  # EXEC=0: `docker exec` / `compose exec`
        ("GET", "/v1.41/containers/{target}/logs?stdout=1"),  # ALLOW_LOGS=0: `compose logs`
        ("GET", "/containers/{target}/archive?path=/"),  # ALLOW_ARCHIVE=0: `docker cp`
        ("GET", "/system/df"),  # SYSTEM=0
    ],
)
def test_what_the_environment_forbids_is_refused_with_403(
    proxy: tuple[Project, httpx.Client], method: str, path: str
) -> None:
    project, client = proxy
    answer = client.request(method, path.format(target=project.container("target")))
    assert answer.status_code == 403
    assert "Request forbidden by administrative rules." in answer.text


def test_compose_manages_a_project_through_it(
    proxy: tuple[Project, httpx.Client], compose_project_prefix: str, tmp_path: Path,
    standin_images: dict[str, str],
) -> None:  # fmt: skip
    """What the supervisor's cascade runs: ``ps``, ``up --no-start --force-recreate
    --no-deps``, ``start``, ``up -d --force-recreate --no-deps``; none of it refused."""
    proxy_project, client = proxy
    managed = tmp_path / "managed"
    managed.mkdir()
    compose_file = managed / "compose.yaml"
    app = {
        "image": standin_images["radarr"],
        "pull_policy": "never",
        "environment": {"PORT": 0},
        # An anonymous volume: compose carries it over on recreate without the volume API,
        # which the proxy refuses (VOLUMES unset).
        "volumes": ["/scratch"],
    }
    compose_file.write_text(yaml.safe_dump({"services": {"app": app}}))
    name = f"{compose_project_prefix}managed"
    through_proxy = {"DOCKER_HOST": str(client.base_url).replace("http://", "tcp://")}

    def compose(*arguments: str) -> str:
        command = ["compose", "-p", name, "-f", str(compose_file), *arguments]
        return docker(*command, env=through_proxy, timeout=120).stdout

    compose("up", "--no-start", "--force-recreate", "--no-deps", "app")
    compose("start", "app")
    first = compose("ps", "-q", "app").strip()
    compose("up", "-d", "--force-recreate", "--no-deps", "app")
    second = compose("ps", "-q", "app").strip()
    assert first and second and first != second
    assert docker("inspect", "-f", "{{.State.Running}}", second).stdout.strip() == "true"
    compose("down", "-t", "1")
    refused = [line for line in proxy_project.logs("socket-proxy").splitlines() if " 403 " in line]
    assert refused == []


@pytest.fixture
def read_only_proxy(
    standin_images: dict[str, str],
    real_peer_images: dict[str, str],
    compose_project_prefix: str,
    tmp_path: Path,
) -> Iterator[tuple[Project, httpx.Client]]:
    """WUD's proxy up and healthy, plus a created (not started) ``target`` container."""
    port = free_port()
    name = "socket-proxy-read-only"
    services = {
        name: _proxy_service(real_peer_images["socket-proxy"], port, name),
        "target": {"image": standin_images["sonarr"], "pull_policy": "never"},
    }
    with (
        running_project(compose_project_prefix, tmp_path, services, start=[name]) as p,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30) as client,
    ):
        p.compose("create", "target")
        yield p, client


def test_wuds_proxy_answers_what_its_watcher_reads(
    read_only_proxy: tuple[Project, httpx.Client], standin_images: dict[str, str]
) -> None:
    project, client = read_only_proxy
    target = project.container("target")
    listed = client.get("/v1.41/containers/json", params={"all": "1"})
    assert listed.status_code == 200
    assert target in {container["Id"] for container in listed.json()}
    assert client.get(f"/containers/{target}/json").status_code == 200
    assert client.get(f"/images/{standin_images['sonarr']}/json").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/containers/create"),  # a privileged container: root on the host
        ("POST", "/v1.41/containers/{target}/start"),
        ("POST", "/containers/{target}/restart"),
        ("POST", "/containers/{target}/stop"),
        ("DELETE", "/containers/{target}"),
        ("POST", "/images/create?fromImage=busybox"),
    ],
)
def test_wuds_proxy_refuses_every_write_with_403(
    read_only_proxy: tuple[Project, httpx.Client], method: str, path: str
) -> None:
    project, client = read_only_proxy
    answer = client.request(method, path.format(target=project.container("target")))
    assert answer.status_code == 403
    assert "Request forbidden by administrative rules." in answer.text
    state = docker("inspect", "-f", "{{.State.Status}}", project.container("target"))
    assert state.stdout.strip() == "created"
