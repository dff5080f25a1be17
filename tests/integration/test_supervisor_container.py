"""The supervisor as the ops stack's service, in its own image, heals a gluetun restart.

The socket proxy stand-in cannot proxy the Docker API (busybox has no unix-socket relay), so
this test alone gives the supervisor container the engine socket directly, by editing the
rendered ops compose file the way a user could; everything else is the rendered stack.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from homelab import Homelab
from standins import docker, remove_test_resources
from supervisor_image import ensure_supervisor_image
from test_supervisor_harness import (
    DEPENDENTS,
    make_small_homelab,
    wait_until,
)

ENGINE_SOCKET = "/var/run/docker.sock"


def container_ids(prefix: str, project_suffix: str) -> dict[str, str]:
    listed = docker(
        "ps",
        "--no-trunc",
        "--filter",
        f"label=com.docker.compose.project={prefix}-{project_suffix}",
        "--format",
        '{{.Label "com.docker.compose.service"}} {{.ID}}',
    )
    return dict(line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)


def health_of(container: str) -> str:
    inspected = docker(
        "inspect",
        "--format",
        "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
        container,
        check=False,
    )
    return inspected.stdout.strip()


def enable_supervisor(lab: Homelab, image: str, socket_proxy_image: str) -> None:
    config = yaml.safe_load(lab.config_path.read_text())
    config["services"]["socket-proxy"] = {
        "enabled": True,
        "image": socket_proxy_image,
        "pull_policy": "never",
    }
    config["services"]["supervisor"] = {
        "enabled": True,
        "image": image,
        "pull_policy": "never",
        "healthcheck": {"interval": "2s", "start_period": "20s"},
    }
    lab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rendered = lab.run("render")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    compose_file = lab.root / "stacks" / "ops" / "compose.yaml"
    document = yaml.safe_load(compose_file.read_text())
    supervisor = document["services"]["supervisor"]
    supervisor["volumes"].append(f"{ENGINE_SOCKET}:{ENGINE_SOCKET}")
    supervisor["environment"]["DOCKER_HOST"] = f"unix://{ENGINE_SOCKET}"
    compose_file.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture()
def supervised_lab(tmp_path: Path, standin_images: dict[str, str]) -> Iterator[Homelab]:
    image = ensure_supervisor_image()
    prefix = f"mssupc{secrets.token_hex(3)}"
    lab = make_small_homelab(tmp_path / "homelab", prefix, standin_images)
    enable_supervisor(lab, image, standin_images["socket-proxy"])
    try:
        started = lab.run("up", timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        yield lab
    finally:
        lab.run("down", "--remove-network", timeout=180)
        remove_test_resources(prefix)


def test_the_supervisor_service_heals_a_gluetun_restart(supervised_lab: Homelab) -> None:
    prefix = supervised_lab.prefix
    supervisor = container_ids(prefix, "ops")["supervisor"]
    wait_until(lambda: health_of(supervisor) == "healthy", timeout=90, what="supervisor healthy")
    before = container_ids(prefix, "vpn")
    docker("restart", "-t", "2", before["gluetun"])

    def all_recreated_and_healthy() -> bool:
        now = container_ids(prefix, "vpn")
        return all(
            now.get(name) not in (None, before[name]) and health_of(now[name]) == "healthy"
            for name in DEPENDENTS
        )

    wait_until(all_recreated_and_healthy, timeout=120, what="dependents recreated by the service")
    reported = supervised_lab.run("status", "--format", "json")
    assert reported.returncode == 0, reported.stdout + reported.stderr
    logs = docker("logs", supervisor, check=False)
    assert "recreat" in (logs.stdout + logs.stderr).lower()
