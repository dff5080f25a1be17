"""Fixtures for the real-engine tests: stand-in images and throwaway compose project names.

Tests here name every compose project and network they create with `compose_project_prefix`
(it starts with `mstest`); everything named so is removed before and after each test.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from standins import (
    SERVICE_PORTS,
    TEST_PROJECT_PREFIX,
    build_gluetun_standin,
    build_standin_images,
    remove_test_resources,
)


@pytest.fixture(autouse=True)
def _engine_is_reachable(docker_engine: object) -> None:
    """Every test here needs the engine: skip (or, in CI, fail) without one."""


@pytest.fixture(scope="session")
def standin_images(docker_engine: object) -> dict[str, str]:
    """Build (once per content hash) every stand-in image; return service -> image tag,
    "gluetun" included."""
    images = build_standin_images(SERVICE_PORTS)
    images["gluetun"] = build_gluetun_standin()
    return images


@pytest.fixture
def compose_project_prefix(docker_engine: object) -> Iterator[str]:
    """Yield a unique prefix (`mstest` + 6 hex digits) for this test's compose project and
    network names; remove every `mstest*` project's containers, volumes and networks before
    and after the test."""
    remove_test_resources(TEST_PROJECT_PREFIX)
    yield f"{TEST_PROJECT_PREFIX}{secrets.token_hex(3)}"
    remove_test_resources(TEST_PROJECT_PREFIX)
