"""Fixtures for the real-engine tests: stand-in images and throwaway compose project names.

Tests here name every compose project and network they create with `compose_project_prefix`
(it starts with `mstest`, this run's pid and a random part); what a test named so is removed
after it, and what runs that are gone left behind is removed once per run.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from headless_browser import chromium_path
from peer_images import build_arr_images, build_peer_images
from standins import (
    SERVICE_PORTS,
    build_gluetun_standin,
    build_standin_images,
    remove_abandoned_test_resources,
    remove_test_resources,
    session_prefix,
)


@pytest.fixture(autouse=True)
def _engine_is_reachable(docker_engine: object) -> None:
    """Every test here needs the engine: skip (or, in CI, fail) without one."""


@pytest.fixture(scope="session")
def standin_images(docker_engine: object) -> dict[str, str]:
    """Build (once per content hash) every stand-in image and the real-app peers; return
    service -> image tag, "gluetun" included."""
    images = build_standin_images(SERVICE_PORTS)
    images["gluetun"] = build_gluetun_standin()
    # The lab is the shipped deployment: the real qBittorrent, the socket proxy as the real
    # image configures itself, and cross-seed and recyclarr stand-ins that refuse a missing
    # config (what `up` writes before the first start makes them start).
    images.update(build_peer_images())
    return images


@pytest.fixture(scope="session")
def real_peer_images(docker_engine: object) -> dict[str, str]:
    """Build (once per content hash) the peers that behave like the real apps: real
    qBittorrent, the socket-proxy on haproxy, the cross-seed 6 and recyclarr 8 stand-ins that
    refuse a missing config; return service -> image tag (see peer_images.PEER_SERVICES).
    ``standin_images`` includes them."""
    return build_peer_images()


@pytest.fixture(scope="session")
def arr_images(docker_engine: object) -> dict[str, str]:
    """Build (once per content hash) the stateful Sonarr/Radarr/Prowlarr/Bazarr API stand-ins
    (``standins/arr``); return service -> image tag (``mediastack-peer/<app>:test``)."""
    return build_arr_images()


@pytest.fixture(scope="session")
def _abandoned_test_resources_removed(docker_engine: object) -> None:
    """Once per run: remove what killed or crashed earlier test runs left behind."""
    remove_abandoned_test_resources()


@pytest.fixture
def compose_project_prefix(_abandoned_test_resources_removed: None) -> Iterator[str]:
    """Yield a unique prefix (this run's ``session_prefix()`` + 6 hex digits) for this test's
    compose project and network names; remove its containers, volumes and networks after
    the test (only this test's: another run on the same engine keeps its own)."""
    prefix = f"{session_prefix()}{secrets.token_hex(3)}"
    yield prefix
    remove_test_resources(prefix)


@pytest.fixture
def browser_binary() -> str:
    """Return Debian's Chromium; skip (fail in CI) when it is not installed."""
    binary = chromium_path()
    if binary is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return binary
