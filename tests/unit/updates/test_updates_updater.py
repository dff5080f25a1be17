"""The Updater end to end over fakes (scripted Docker, registry behind httpx.MockTransport), the
builders from a real rendered config, and the ``update`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner
from updates_support import (
    PROJECT,
    FakeDocker,
    FakeImage,
    check_target,
    digest,
    image_id,
    vpn_project,
)

from mediastack.adapters.compose import ComposeProject
from mediastack.adapters.registry import RegistryClient
from mediastack.cli import update_command
from mediastack.cli.common import CliState
from mediastack.config import LoadedConfig, load_config
from mediastack.render import compose_text, render_stacks
from mediastack.updates import (
    CollectingListener,
    InMemoryRollbacks,
    Outcome,
    Policy,
    Source,
    Stage,
    Updater,
    UpdateRequest,
    WebhookConfigError,
    build_listener,
    build_updater,
)
from mediastack.updates.apply import Applier, ApplySettings, ProjectHandle
from mediastack.updates.coordination import NoMaintenance

SONARR = "lscr.io/linuxserver/sonarr:latest"
QBITTORRENT = "lscr.io/linuxserver/qbittorrent:latest"


def registry_serving(digests: dict[str, str], seen: list[httpx.Request]) -> RegistryClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        repository = request.url.path.removeprefix("/v2/").split("/manifests/")[0]
        return httpx.Response(200, headers={"Docker-Content-Digest": digests[repository]})

    return RegistryClient(transport=httpx.MockTransport(handle))


def make_updater(
    docker: FakeDocker, client: RegistryClient, listener: CollectingListener
) -> Updater:
    memory = InMemoryRollbacks()
    compose = ComposeProject(PROJECT, Path("/srv/vpn/compose.yaml"), Path("/srv/vpn"))
    applier = Applier(
        projects=[ProjectHandle(docker.project, compose)],
        executor=docker,
        engine=docker,
        images=docker.local_images,
        listener=listener,
        maintenance=NoMaintenance(),
        memory=memory,
        settings=ApplySettings(30),
        sleep=lambda seconds: None,
    )
    return Updater(
        targets=[check_target(docker.project, qbittorrent=Policy.NOTIFY)],
        applier=applier,
        engine=docker,
        images=docker.local_images,
        registry=client,
        listener=listener,
        memory=memory,
    )


@pytest.fixture
def docker() -> FakeDocker:
    lab = FakeDocker(vpn_project())
    lab.add_image(FakeImage(image_id("0")), "qmcgaw/gluetun:v3")  # built locally
    lab.add_image(
        FakeImage(image_id("1"), [f"lscr.io/linuxserver/qbittorrent@{digest('q')}"]), QBITTORRENT
    )
    lab.add_image(FakeImage(image_id("2"), [f"lscr.io/linuxserver/sonarr@{digest('s')}"]), SONARR)
    for service in ("gluetun", "qbittorrent", "sonarr"):
        lab.run_service(service)
    lab.registry[SONARR] = FakeImage(image_id("3"), [f"lscr.io/linuxserver/sonarr@{digest('t')}"])
    return lab


NEW = {"linuxserver/sonarr": digest("t"), "linuxserver/qbittorrent": digest("r")}


def test_a_scheduled_run_checks_plans_reports_and_applies(docker: FakeDocker) -> None:
    seen: list[httpx.Request] = []
    listener = CollectingListener()
    with registry_serving(NEW, seen) as client:
        run = make_updater(docker, client, listener).handle(UpdateRequest(Source.SCHEDULE))
    assert run.registry_requests == 2 and [r.method for r in seen] == ["HEAD", "HEAD"]
    assert [(c.service, c.status.value) for c in run.checks] == [
        ("gluetun", "local_only"),
        ("qbittorrent", "outdated"),
        ("sonarr", "outdated"),
    ]
    assert [(r.key.service, r.outcome) for r in run.results] == [("sonarr", Outcome.UPDATED)]
    assert listener.stages("qbittorrent") == [Stage.AVAILABLE]
    assert "update: notify" in listener.events[0].message
    assert listener.stages("sonarr") == [Stage.STARTED, Stage.PULLED, Stage.UPDATED]


def test_a_webhook_request_checks_only_its_services(docker: FakeDocker) -> None:
    seen: list[httpx.Request] = []
    with registry_serving(NEW, seen) as client:
        updater = make_updater(docker, client, CollectingListener())
        run = updater.handle(UpdateRequest(Source.WEBHOOK, frozenset({"qbittorrent"})))
    assert [c.service for c in run.checks] == ["qbittorrent"]
    assert run.results == ()  # notify policy: a webhook cannot lift it


def test_the_command_line_lifts_notify_for_named_services(docker: FakeDocker) -> None:
    docker.registry[QBITTORRENT] = FakeImage(image_id("4"))
    with registry_serving(NEW, []) as client:
        updater = make_updater(docker, client, CollectingListener())
        run = updater.handle(UpdateRequest(Source.CLI, frozenset({"qbittorrent"})))
    assert [(r.key.service, r.outcome) for r in run.results] == [("qbittorrent", Outcome.UPDATED)]


def test_a_dry_run_checks_for_real_and_prints_instead_of_running(docker: FakeDocker) -> None:
    lines: list[str] = []
    before = list(docker.commands)
    with registry_serving(NEW, []) as client:
        updater = make_updater(docker, client, CollectingListener())
        run = updater.handle(UpdateRequest(Source.CLI), dry_run=True, write=lines.append)
    assert [r.outcome for r in run.results] == [Outcome.DRY_RUN]
    assert docker.commands[len(before) :] == []
    assert {call[0] for call in docker.image_calls} == {"container_image_ids", "inspect_images"}
    assert any(" pull --quiet sonarr" in line for line in lines)


# --- builders from a rendered config ----------------------------------------------------------


def rendered_homelab(folder: Path, extra: str = "") -> LoadedConfig:
    (folder / "mediastack.yaml").write_text(f"name: home\n{extra}")
    loaded = load_config(folder / "mediastack.yaml")
    for rendered in render_stacks(loaded):
        path = loaded.compose_file(rendered.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(compose_text(rendered, loaded.path))
    return loaded


def test_build_updater_reads_policies_and_keeps_state_next_to_the_config(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path, "services:\n  plex: {update: pin}\n")
    with RegistryClient() as client:
        updater = build_updater(
            loaded,
            executor=FakeDocker(vpn_project()),
            engine=FakeDocker(vpn_project()),
            images=FakeDocker(vpn_project()).local_images,
            registry=client,
            listener=CollectingListener(),
        )
    assert {"gluetun", "sonarr", "plex", "socket-proxy"} <= set(updater.service_names)


def test_the_webhook_needs_a_token_from_the_environment_or_env_file(tmp_path: Path) -> None:
    loaded = rendered_homelab(tmp_path, "updates:\n  webhook: {enabled: true, port: 18099}\n")
    with pytest.raises(WebhookConfigError, match="MEDIASTACK_WEBHOOK_TOKEN is not set"):
        build_listener(loaded, lambda request: True, {})
    server = build_listener(
        loaded, lambda request: True, {"MEDIASTACK_WEBHOOK_TOKEN": "x" * 32}
    )
    assert server.settings.port == 18099 and server.settings.token == "x" * 32
    (tmp_path / ".env").write_text(f"MEDIASTACK_WEBHOOK_TOKEN={'y' * 32}\n")
    assert build_listener(loaded, lambda r: True, {}).settings.token == "y" * 32


# --- the command --------------------------------------------------------------------------------

runner = CliRunner()


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(context: typer.Context, config: Path = typer.Option(..., "-c")) -> None:
        context.obj = CliState(config_path=config)

    update_command.register(app)
    return app


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch, docker: FakeDocker, tmp_path: Path) -> Path:
    """A rendered homelab whose ``update`` command runs on the scripted Docker and registry."""
    loaded = rendered_homelab(tmp_path)

    def fake_build(loaded: LoadedConfig, **parts: Any) -> Updater:
        client = registry_serving(NEW, [])
        parts["registry"].requests = client.requests
        updater = make_updater(docker, client, parts["listener"])
        return updater

    monkeypatch.setattr(update_command, "build_updater", fake_build)
    monkeypatch.setattr(update_command.DockerEngine, "connect", classmethod(lambda cls: None))
    monkeypatch.setattr(update_command, "connect_images", lambda environment: None)
    monkeypatch.setattr(update_command.operations, "require_compose", lambda executor: None)
    return loaded.path


def test_check_prints_json_and_exits_1_when_something_is_outdated(wired: Path) -> None:
    finished = runner.invoke(cli_app(), ["-c", str(wired), "update", "--check", "--format", "json"])
    assert finished.exit_code == 1, finished.output
    report = json.loads(finished.stdout)
    assert report["outdated"] == ["qbittorrent", "sonarr"]
    assert report["registry_requests"] == {"total": 2, "manifest_head": 2, "token": 0}


def test_update_applies_and_reports(wired: Path) -> None:
    finished = runner.invoke(cli_app(), ["-c", str(wired), "update", "sonarr", "--format", "json"])
    assert finished.exit_code == 0, finished.output
    (result,) = json.loads(finished.stdout)["results"]
    assert (result["service"], result["outcome"]) == ("sonarr", "updated")


def test_an_unknown_service_is_a_usage_error(wired: Path) -> None:
    finished = runner.invoke(cli_app(), ["-c", str(wired), "update", "sonar"])
    assert finished.exit_code == 2
    assert "not a rendered service: sonar" in finished.output
