"""Fakes for the update pipeline's unit tests: a scripted Docker (executor + engine in one) that
keeps tags, images and containers in memory and answers the compose commands the pipeline
runs, and its image store as the pipeline's ``LocalImages`` (``FakeDocker.local_images``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mediastack.adapters.engine import ContainerInfo, Filters
from mediastack.adapters.executor import DEFAULT_TIMEOUT_SECONDS, CommandResult
from mediastack.adapters.registry import ManifestDigest, RegistryError
from mediastack.catalogue import Stack
from mediastack.stack.rendered import RenderedProject, RenderedService
from mediastack.updates.check import CheckTarget
from mediastack.updates.local_images import LocalImage
from mediastack.updates.model import CheckResult, CheckStatus, Policy, ServiceImage, ServiceKey
from mediastack.updates.reference import parse_image_reference

PROJECT = "home-vpn"
FIXTURES = Path(__file__).parent / "fixtures"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def digest(character: str) -> str:
    return "sha256:" + character * 64


def image_id(character: str) -> str:
    return "sha256:" + character * 64


def vpn_project(*services: RenderedService) -> RenderedProject:
    """A vpn project: gluetun, and qbittorrent and sonarr in its namespace (or ``services``)."""
    chosen = services or (
        RenderedService("gluetun", "qmcgaw/gluetun:v3", "gluetun", None),
        RenderedService(
            "qbittorrent", "lscr.io/linuxserver/qbittorrent:latest", "vpn", "service:gluetun"
        ),
        RenderedService("sonarr", "lscr.io/linuxserver/sonarr:latest", "vpn", "service:gluetun"),
    )
    return RenderedProject(Stack.VPN, PROJECT, Path("/srv/stacks/vpn/compose.yaml"), chosen)


def service_image(
    service: str = "sonarr",
    reference: str = "lscr.io/linuxserver/sonarr:latest",
    *,
    local: Sequence[str] = (digest("1"),),
    policy: Policy = Policy.AUTO,
    dependents: tuple[str, ...] = (),
    owner: str | None = None,
) -> ServiceImage:
    return ServiceImage(
        key=ServiceKey(Stack.VPN, PROJECT, service),
        container_id=f"{service}-container",
        reference_text=reference,
        reference=parse_image_reference(reference),
        image_id=image_id("a"),
        local_digests=frozenset(local),
        policy=policy,
        namespace_owner=owner,
        namespace_dependents=dependents,
    )


def outdated(image: ServiceImage, remote: str = digest("2")) -> CheckResult:
    return CheckResult(image, CheckStatus.OUTDATED, remote)


class FakeLookup:
    """A digest lookup answering from a table; counts calls."""

    def __init__(self, answers: dict[tuple[str, str, str], str | RegistryError]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, host: str, repository: str, tag: str) -> ManifestDigest:
        self.calls.append((host, repository, tag))
        answer = self.answers[(host, repository, tag)]
        if isinstance(answer, RegistryError):
            raise answer
        return ManifestDigest(answer, "application/vnd.oci.image.index.v1+json")


@dataclass
class FakeImage:
    id: str
    repo_digests: list[str] = field(default_factory=list)
    healthy: bool = True


@dataclass
class FakeDocker:
    """The engine's images, tags and one project's containers, and the commands on them.

    ``registry`` maps a reference to the image a pull brings; ``compose up`` recreates the
    named services from their tags (new ids, new pids: a recreated gluetun gets a new
    namespace, and a dependent recreated after it joins it)."""

    project: RenderedProject
    images: dict[str, FakeImage] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    registry: dict[str, FakeImage] = field(default_factory=dict)
    containers: dict[str, ContainerInfo] = field(default_factory=dict)
    container_images: dict[str, str] = field(default_factory=dict)
    namespaces: dict[int, str] = field(default_factory=dict)
    commands: list[tuple[str, ...]] = field(default_factory=list)
    image_calls: list[tuple[str, ...]] = field(default_factory=list)
    fail_pull: bool = False
    fail_up: bool = False
    stranded: set[str] = field(default_factory=set)  # services created outside the namespace
    _generation: int = 0

    # --- setup -------------------------------------------------------------------------
    def add_image(self, image: FakeImage, *references: str) -> None:
        self.images[image.id] = image
        for reference in references:
            self.tags[reference] = image.id

    def run_service(self, service: str) -> None:
        self._create(service)

    # --- ContainerReader -----------------------------------------------------------------
    def inspect_containers(self, filters: Filters) -> list[ContainerInfo]:
        return list(self.containers.values())

    def network_namespace(self, pid: int) -> str | None:
        return self.namespaces.get(pid)

    # --- Executor ------------------------------------------------------------------------
    def run(
        self,
        arguments: Sequence[str],
        *,
        secrets: Sequence[str] = (),
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        command = tuple(arguments)
        self.commands.append(command)
        exit_code, stdout = self._answer(command)
        if check and exit_code != 0:
            from mediastack.adapters.errors import CommandError

            raise CommandError(command, exit_code, stdout)
        return CommandResult(command, exit_code, stdout, "" if exit_code == 0 else "failed")

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        return self.run(arguments, check=False).exit_code

    def _answer(self, command: tuple[str, ...]) -> tuple[int, str]:
        if command[:2] == ("docker", "compose") and "pull" in command:
            return self._pull(command[-1])
        if command[:2] == ("docker", "compose") and "up" in command:
            return self._up(command[command.index("--wait-timeout") + 2 :])
        return 0, ""

    # --- LocalImages ---------------------------------------------------------------------
    @property
    def local_images(self) -> FakeLocalImages:
        return FakeLocalImages(self)

    def resolve(self, name: str) -> FakeImage | None:
        image_key = self.tags.get(name, name)
        return self.images.get(image_key)

    def _pull(self, service: str) -> tuple[int, str]:
        if self.fail_pull:
            return 1, "pull access denied"
        rendered = self.project.service(service)
        assert rendered is not None and rendered.image is not None
        new = self.registry.get(rendered.image)
        if new is not None:
            self.add_image(new, rendered.image)
        return 0, ""

    def _up(self, services: Sequence[str]) -> tuple[int, str]:
        for service in services:
            self._create(service)
        unhealthy = [s for s in services if self.containers[s].health == "unhealthy"]
        return (1, "container is unhealthy") if unhealthy or self.fail_up else (0, "")

    def _create(self, service: str) -> None:
        rendered = self.project.service(service)
        assert rendered is not None and rendered.image is not None
        image = self.images[self.tags[rendered.image]]
        self._generation += 1
        pid = 1000 + self._generation
        owner = rendered.namespace_owner
        if owner is not None and owner in self.containers and service not in self.stranded:
            network_mode = f"container:{self.containers[owner].id}"
            self.namespaces[pid] = self.namespaces[self.containers[owner].pid]
        else:
            network_mode = "bridge"
            self.namespaces[pid] = f"net:[{pid}]"
        container_id = f"{service}-{self._generation:04d}".ljust(64, "0")
        self.containers[service] = ContainerInfo(
            id=container_id,
            name=f"{PROJECT}-{service}-1",
            image=rendered.image,
            status="running",
            health="healthy" if image.healthy else "unhealthy",
            started_at=START + timedelta(seconds=self._generation),
            pid=pid,
            network_mode=network_mode,
            sandbox_key="",
            labels={
                "com.docker.compose.project": PROJECT,
                "com.docker.compose.service": service,
            },
        )
        self.container_images[container_id] = image.id

    def running_image(self, service: str) -> str:
        return self.container_images[self.containers[service].id]


class FakeLocalImages:
    """The pipeline's ``LocalImages`` on a FakeDocker's store; every call is recorded in
    ``docker.image_calls`` (``("tag", image, target)``, ``("remove_tag", target)``, ...)."""

    def __init__(self, docker: FakeDocker, write: Callable[[str], None] | None = None) -> None:
        self._docker = docker
        self._write = write

    def container_image_ids(self, container_ids: Sequence[str]) -> dict[str, str]:
        self._docker.image_calls.append(("container_image_ids", *container_ids))
        known = self._docker.container_images
        return {given: known[given] for given in container_ids if given in known}

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        self._docker.image_calls.append(("inspect_images", *references))
        found = {}
        for reference in references:
            image = self._docker.resolve(reference)
            if image is not None:
                tags = tuple(tag for tag, target in self._docker.tags.items() if target == image.id)
                found[reference] = LocalImage(image.id, tuple(image.repo_digests), tags)
        return found

    def tag(self, image_id: str, target: str) -> None:
        if self._write is not None:
            self._write(f"engine: tag {image_id} {target}")
            return
        self._docker.image_calls.append(("tag", image_id, target))
        self._docker.tags[target] = self._docker.tags.get(image_id, image_id)

    def remove_tag(self, target: str) -> None:
        if self._write is not None:
            self._write(f"engine: remove {target}")
            return
        self._docker.image_calls.append(("remove_tag", target))
        self._docker.tags.pop(target, None)

    def printing(self, write: Callable[[str], None]) -> FakeLocalImages:
        return FakeLocalImages(self._docker, write)


@dataclass
class RecordingHold:
    """A Maintenance that records what it held."""

    held: list[tuple[str, ...]] = field(default_factory=list)
    active: bool = False

    @contextlib.contextmanager
    def hold(self, services: Sequence[str], reason: str) -> Iterator[None]:
        self.held.append(tuple(services))
        self.active = True
        try:
            yield
        finally:
            self.active = False


def check_target(project: RenderedProject, **policies: Policy) -> CheckTarget:
    return CheckTarget(project, dict(policies))
