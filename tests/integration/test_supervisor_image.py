"""The supervisor ships as an image built from a base image given as a build argument."""

from __future__ import annotations

import pytest
from standins import docker
from supervisor_image import ensure_supervisor_image


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
