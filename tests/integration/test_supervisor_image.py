"""The supervisor ships as an image built from a base image given as a build argument."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from peer_compose import running_project
from standins import docker
from supervisor_image import ensure_supervisor_image
from test_supervisor_harness import wait_until

from mediastack.catalogue import CATALOGUE
from mediastack.config import load_config
from mediastack.render import render_stacks, render_to_disk

SECRETS = (
    "GLUETUN_API_KEY=k\nWIREGUARD_PRIVATE_KEY=w\nWIREGUARD_ADDRESSES=10.2.0.2/32\n"
    "SONARR_API_KEY=s\nRADARR_API_KEY=r\nPROWLARR_API_KEY=p\nSEERR_API_KEY=e\n"
)


@pytest.fixture(scope="module")
def supervisor_image() -> str:
    return ensure_supervisor_image()


def test_the_image_runs_mediastack_and_compose(supervisor_image: str) -> None:
    version = docker("run", "--rm", supervisor_image, "--version")
    assert version.stdout.startswith("mediastack ")
    compose = docker(
        "run", "--rm", "--entrypoint", "docker", supervisor_image, "compose", "version", "--short"
    )
    assert compose.stdout.strip().lstrip("v").startswith("2.")
    help_text = docker("run", "--rm", supervisor_image, "supervise", "--help")
    assert "--resume" in help_text.stdout


def test_only_compose_is_offered_by_the_docker_shim(supervisor_image: str) -> None:
    refused = docker("run", "--rm", "--entrypoint", "docker", supervisor_image, "ps", check=False)
    assert refused.returncode == 127
    assert "only 'docker compose'" in refused.stderr


def test_the_supervisor_container_turns_healthy_on_its_heartbeat(
    supervisor_image: str,
    real_peer_images: dict[str, str],
    compose_project_prefix: str,
    tmp_path: Path,
) -> None:
    """The image running `supervise` behind a socket proxy that refuses every POST (it
    watches the shared engine and cannot change it), with the rendered healthcheck (timing
    only shortened): compose's --wait returns once it is healthy, and `supervise --check` on
    the host reads the same heartbeat, the event stream connected."""
    root = tmp_path / "homelab"
    root.mkdir()
    config = f"name: {compose_project_prefix}\nwiring: {{enabled: false}}\n"
    (root / "mediastack.yaml").write_text(config + "portsync: {enabled: false}\n")
    (root / ".env").write_text(SECRETS)
    loaded = load_config(root / "mediastack.yaml")
    render_to_disk(loaded)  # the supervisor reads the vpn stack's compose file
    rendered = {stack.stack.value: stack.document for stack in render_stacks(loaded)}
    supervisor = rendered["ops"]["services"]["supervisor"]
    proxy = CATALOGUE["socket-proxy"]
    services = {
        "socket-proxy": {
            "image": real_peer_images["socket-proxy"],
            "environment": {**proxy.environment, "POST": "0"},
            "volumes": list(proxy.extra_volumes),
        },
        "supervisor": {
            "image": supervisor_image,
            "command": ["supervise"],
            "environment": supervisor["environment"],
            "volumes": supervisor["volumes"],
            "healthcheck": {**supervisor["healthcheck"], "interval": "1s", "start_period": "0s"},
            "depends_on": ["socket-proxy"],
        },
    }
    with running_project(compose_project_prefix, tmp_path, services) as project:
        checked = wait_until(
            lambda: "event stream is connected" in check_on_host(root), 60, "stream connected"
        )
        assert checked, project.logs("supervisor")


def check_on_host(root: Path) -> str:
    command = ["-c", str(root / "mediastack.yaml"), "supervise", "--check"]
    completed = subprocess.run(
        [sys.executable, "-m", "mediastack", *command],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return completed.stdout if completed.returncode == 0 else ""
