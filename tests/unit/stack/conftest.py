"""Fixtures of the stack tests: a homelab whose stacks are rendered by the real renderer, and
containers parsed from the captured engine outputs in tests/fixtures/engine."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from stack_cli_support import Wiring

from mediastack.adapters.engine import ContainerInfo, DockerEngine, parse_container
from mediastack.adapters.fakes import FakeEngine, RecordingExecutor
from mediastack.cli import stack_commands
from mediastack.config import LoadedConfig, load_config
from mediastack.render import compose_text, render_stacks
from mediastack.stack import app_links

ENGINE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "engine"
COMPOSE_VERSION = (ENGINE_FIXTURES / "compose-version-short.txt").read_text()

MakeHomelab = Callable[..., LoadedConfig]
# Every secret a default homelab's stacks and app config files need (as `init` writes them).
STACK_SECRETS = "".join(
    f"{name}=test-{name.lower()}\n"
    for name in (
        "GLUETUN_API_KEY", "SONARR_API_KEY", "RADARR_API_KEY", "PROWLARR_API_KEY",
        "BAZARR_API_KEY", "SEERR_API_KEY", "QBITTORRENT_PASSWORD", "WIREGUARD_PRIVATE_KEY",
        "WIREGUARD_ADDRESSES",
    )
)  # fmt: skip
CapturedContainer = Callable[..., ContainerInfo]


@pytest.fixture
def make_homelab(tmp_path: Path) -> MakeHomelab:
    """Return a function writing mediastack.yaml under tmp_path, rendering its stacks to
    stacks/<stack>/compose.yaml (only those given, or all), and loading it."""

    def make(text: str = "name: home\n", stacks: tuple[str, ...] | None = None) -> LoadedConfig:
        (tmp_path / "mediastack.yaml").write_text(text)
        (tmp_path / ".env").write_text(STACK_SECRETS)
        loaded = load_config(tmp_path / "mediastack.yaml")
        for rendered in render_stacks(loaded):
            if stacks is None or rendered.stack.value in stacks:
                path = loaded.compose_file(rendered.stack)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(compose_text(rendered, loaded.path))
        return loaded

    return make


@pytest.fixture
def captured() -> CapturedContainer:
    """Return a function: fixture name (``gluetun-before``) -> its ContainerInfo, moved into
    compose project ``project`` as service ``service`` when given."""

    def load(name: str, project: str | None = None, service: str | None = None) -> ContainerInfo:
        (raw,) = json.loads((ENGINE_FIXTURES / f"inspect-{name}.json").read_text())
        container = parse_container(raw)
        labels = dict(container.labels)
        if project is not None:
            labels["com.docker.compose.project"] = project
        if service is not None:
            labels["com.docker.compose.service"] = service
        return dataclasses.replace(container, labels=labels)

    return load


@pytest.fixture
def namespaces() -> Callable[[str], dict[int, str]]:
    """Return a function: ``after-restart`` -> {pid: namespace} from namespaces-*.json."""

    def load(moment: str) -> dict[int, str]:
        data = json.loads((ENGINE_FIXTURES / f"namespaces-{moment}.json").read_text())
        return {entry["pid"]: entry["namespace"] for entry in data.values()}

    return load


@pytest.fixture
def executor() -> RecordingExecutor:
    """A recording executor that answers `docker compose version --short` as v2.40.3 does."""
    recording = RecordingExecutor()
    recording.respond("compose", "version", stdout=COMPOSE_VERSION)
    return recording


@pytest.fixture
def wiring(monkeypatch: pytest.MonkeyPatch, executor: RecordingExecutor) -> Wiring:
    """Give the stack commands a recording executor and an in-memory engine."""
    wired = Wiring(executor, FakeEngine())
    monkeypatch.setattr(stack_commands, "SubprocessExecutor", lambda: wired.executor)
    monkeypatch.setattr(stack_commands, "connect_images", lambda environment: wired.images)
    monkeypatch.setattr(DockerEngine, "connect", lambda: wired.connect())
    monkeypatch.setattr(app_links, "wire", wired.wire)
    return wired
