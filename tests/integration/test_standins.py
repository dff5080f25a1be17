"""The stand-in images behave like the real services where mediastack relies on them.

Real engine, real Compose v2, images built locally (`pull_policy: never`). gluetun has no real
peer here: its stand-in follows the contract in design.md ("External contracts"), minus
control-server auth, which busybox httpd cannot check. Containers are reached only through ports
published on 127.0.0.1.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from peer_images import build_peer_images
from standins import (
    GLUETUN_IMAGE,
    HASH_LABEL,
    SERVICE_PORTS,
    build_gluetun_standin,
    build_standin_images,
    compose,
    docker,
)

FORWARDED_PORT_RANGE = range(20000, 60001)


def _free_local_port(taken: set[int]) -> int:
    """Return a port in 18000-18999 that is free on 127.0.0.1 and not in ``taken``."""
    for _ in range(200):
        port = random.randint(18000, 18999)
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in 18000-18999 on 127.0.0.1")


def _wait_until(condition: Callable[[], bool], what: str, attempts: int = 60) -> None:
    """Poll ``condition`` every 0.5 s, at most ``attempts`` times; fail naming ``what``."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _healthcheck(command: str) -> dict[str, Any]:
    return {
        "test": ["CMD-SHELL", command],
        "interval": "1s",
        "timeout": "5s",
        "retries": 3,
        "start_period": "20s",
    }


def _gluetun(images: dict[str, str], published: dict[int, int]) -> dict[str, Any]:
    """The gluetun stand-in service, publishing host port -> container port on 127.0.0.1."""
    return {
        "image": images["gluetun"],
        "pull_policy": "never",
        "environment": {"STANDIN_HEALTHY_AFTER": "1"},
        "ports": [f"127.0.0.1:{host}:{inner}" for host, inner in published.items()],
        "healthcheck": _healthcheck("/gluetun-entrypoint healthcheck"),
    }


def _dependent(images: dict[str, str], service: str) -> dict[str, Any]:
    """A stand-in in gluetun's namespace, with the healthcheck of the real image's kind."""
    definition: dict[str, Any] = {
        "image": images[service],
        "pull_policy": "never",
        "network_mode": "service:gluetun",
        "depends_on": {"gluetun": {"condition": "service_healthy"}},
    }
    if SERVICE_PORTS[service]:
        url = f"http://127.0.0.1:{SERVICE_PORTS[service]}/ping"
        definition["healthcheck"] = _healthcheck(f"curl -fsS {url}")
    return definition


@contextmanager
def _running(project: str, directory: Path, services: dict[str, Any]) -> Iterator[Path]:
    """Write a compose file for ``services``, bring it up with --wait, yield the file, and take
    the project down afterwards."""
    compose_file = directory / "compose.yaml"
    compose_file.write_text(yaml.safe_dump({"services": services}, sort_keys=False))
    try:
        compose(project, compose_file, "up", "-d", "--wait", timeout=180)
        yield compose_file
    finally:
        compose(project, compose_file, "down", "-v", "--remove-orphans", "-t", "2", check=False)


def _container_id(project: str, compose_file: Path, service: str) -> str:
    container = compose(project, compose_file, "ps", "-q", service).stdout.strip()
    assert container, f"no container for service {service}"
    return container


def _health(container: str) -> str:
    return docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()


def _interfaces(container: str) -> list[str]:
    return sorted(docker("exec", container, "ls", "/sys/class/net").stdout.split())


def _get_json(client: httpx.Client, path: str) -> Any:
    response = client.get(path)
    response.raise_for_status()
    return json.loads(response.text)


def _forwarded_port(client: httpx.Client) -> int | None:
    try:
        port = _get_json(client, "/v1/portforward")["port"]
    except httpx.HTTPError:
        return None
    assert isinstance(port, int)
    return port


def test_gluetun_standin_serves_its_contract(
    standin_images: dict[str, str], compose_project_prefix: str, tmp_path: Path
) -> None:
    ports: set[int] = set()
    sonarr_port, control_port = _free_local_port(ports), _free_local_port(ports)
    services = {
        "gluetun": _gluetun(standin_images, {sonarr_port: 8989, control_port: 8000}),
        "sonarr": _dependent(standin_images, "sonarr"),
        "recyclarr": _dependent(standin_images, "recyclarr"),
    }
    with (
        _running(compose_project_prefix, tmp_path, services) as compose_file,
        httpx.Client(base_url=f"http://127.0.0.1:{control_port}", trust_env=False) as control,
        httpx.Client(base_url=f"http://127.0.0.1:{sonarr_port}", trust_env=False) as sonarr,
    ):
        gluetun = _container_id(compose_project_prefix, compose_file, "gluetun")
        sonarr_container = _container_id(compose_project_prefix, compose_file, "sonarr")
        recyclarr = _container_id(compose_project_prefix, compose_file, "recyclarr")
        assert _health(gluetun) == "healthy"
        assert _health(sonarr_container) == "healthy"

        forwarded = _get_json(control, "/v1/portforward")
        assert forwarded["port"] in FORWARDED_PORT_RANGE
        assert _get_json(control, "/v1/openvpn/portforwarded") == forwarded
        assert _get_json(control, "/v1/publicip/ip") == {"public_ip": "203.0.113.7"}
        assert _get_json(control, "/v1/vpn/status") == {"status": "running"}
        assert docker("exec", gluetun, "cat", "/tmp/gluetun/forwarded_port").stdout.strip() == (
            str(forwarded["port"])
        )

        assert sonarr.get("/ping").status_code == 200
        for path in ("/", "/health", "/identity", "/api/ping", "/api/v1/status"):
            assert sonarr.get(path).status_code == 200, path
        assert "sonarr" in sonarr.get("/").text
        assert sonarr.get("/no-such-page").status_code == 404
        assert _interfaces(sonarr_container) == ["eth0", "lo"]

        # The curl shim: output to a file, and non-zero exits where curl -f has them.
        shim = ["exec", sonarr_container, "curl"]
        docker(*shim, "-fsSo", "/tmp/version", "http://127.0.0.1:8989/api/v2/app/version")
        assert docker("exec", sonarr_container, "cat", "/tmp/version").stdout.strip()
        assert docker(*shim, "-fsS", "http://127.0.0.1:8989/missing", check=False).returncode
        assert docker(*shim, "-fsS", "-m", "2", "http://127.0.0.1:1/", check=False).returncode
        assert docker(*shim, "--unknown-option", "x", check=False).returncode == 2

        # The health server is only on gluetun's loopback, and its healthcheck can be failed.
        docker("exec", gluetun, "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9999/")
        docker("exec", gluetun, "touch", "/tmp/standin-unhealthy")
        assert docker("exec", gluetun, "/gluetun-entrypoint", "healthcheck", check=False).returncode

        # recyclarr has no web UI: its stand-in just stays up.
        assert docker("inspect", "-f", "{{.State.Running}}", recyclarr).stdout.strip() == "true"


def test_restarting_gluetun_orphans_its_dependent(
    standin_images: dict[str, str], compose_project_prefix: str, tmp_path: Path
) -> None:
    ports: set[int] = set()
    sonarr_port, control_port = _free_local_port(ports), _free_local_port(ports)
    services = {
        "gluetun": _gluetun(standin_images, {sonarr_port: 8989, control_port: 8000}),
        "sonarr": _dependent(standin_images, "sonarr"),
    }
    project = compose_project_prefix
    with (
        _running(project, tmp_path, services) as compose_file,
        httpx.Client(base_url=f"http://127.0.0.1:{control_port}", trust_env=False) as control,
        httpx.Client(base_url=f"http://127.0.0.1:{sonarr_port}", trust_env=False) as sonarr,
    ):
        gluetun = _container_id(project, compose_file, "gluetun")
        sonarr_container = _container_id(project, compose_file, "sonarr")
        first_port = _forwarded_port(control)
        assert sonarr.get("/ping").status_code == 200

        docker("restart", "-t", "2", gluetun)
        _wait_until(lambda: _health(gluetun) == "healthy", "gluetun healthy after its restart")
        _wait_until(lambda: _forwarded_port(control) is not None, "the control server")
        assert _forwarded_port(control) != first_port
        assert _forwarded_port(control) in FORWARDED_PORT_RANGE

        # The orphaned dependent: still running, in the old namespace with only `lo` left,
        # unreachable through gluetun's published port, and its own healthcheck still passes.
        assert _interfaces(sonarr_container) == ["lo"]
        with pytest.raises(httpx.TransportError):
            sonarr.get("/ping")
        docker("exec", sonarr_container, "curl", "-fsS", "http://127.0.0.1:8989/ping")
        assert _health(sonarr_container) == "healthy"

        # Recreating (not restarting) the dependent puts it back into gluetun's namespace.
        compose(
            project, compose_file, "up", "-d", "--wait", "--no-deps", "--force-recreate", "sonarr"
        )
        sonarr_container = _container_id(project, compose_file, "sonarr")
        assert _interfaces(sonarr_container) == ["eth0", "lo"]
        assert sonarr.get("/ping").status_code == 200


def test_plex_standin_listens_on_host_loopback(
    standin_images: dict[str, str], compose_project_prefix: str, tmp_path: Path
) -> None:
    plex_port = SERVICE_PORTS["plex"]
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", plex_port)) == 0:
            pytest.fail(f"something already listens on 127.0.0.1:{plex_port}")
    services = {
        "plex": {
            "image": standin_images["plex"],
            "pull_policy": "never",
            "network_mode": "host",
            "healthcheck": _healthcheck(f"curl -fsS http://127.0.0.1:{plex_port}/identity"),
        }
    }
    with _running(compose_project_prefix, tmp_path, services):
        response = httpx.get(f"http://127.0.0.1:{plex_port}/identity", trust_env=False)
        assert response.status_code == 200


def test_standin_images_are_built_once_per_content_hash(standin_images: dict[str, str]) -> None:
    assert set(standin_images) == {*SERVICE_PORTS, "gluetun"}
    assert standin_images["gluetun"] == GLUETUN_IMAGE

    def image_ids() -> dict[str, str]:
        return {
            tag: docker("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()
            for tag in standin_images.values()
        }

    before = image_ids()
    plain = build_standin_images(SERVICE_PORTS)
    assert {**plain, **build_peer_images()} == {
        service: tag for service, tag in standin_images.items() if service != "gluetun"
    }
    assert build_gluetun_standin() == GLUETUN_IMAGE
    assert image_ids() == before
    for service, port in SERVICE_PORTS.items():
        labels_and_env = docker(
            "image",
            "inspect",
            "-f",
            f'{{{{index .Config.Labels "{HASH_LABEL}"}}}} {{{{json .Config.Env}}}}',
            plain[service],
        ).stdout
        digest, _, env = labels_and_env.partition(" ")
        assert digest
        assert f"PORT={port}" in json.loads(env)
