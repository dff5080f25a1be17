"""Reading the engine for the supervisor: gluetun, its dependents, why each is stale, health.

Staleness is computed here, outside the decision core, freshly for each observation. The
dependents are the rendered vpn services in gluetun's namespace (``network_mode:
service:gluetun``) plus any other container whose network mode is ``container:<id>`` for a
gluetun id the supervisor has ever seen (so a hand-added service, or a dependent stranded
while the supervisor was down, is covered). A dependent is stale when the shared
``namespace_verdict`` (of ``mediastack status``) says so (its network mode names another id,
its ``/proc/<pid>/ns/net`` differs, or, when namespaces cannot be read, it started before
gluetun), or when it is not running: on engine 20.10 a dependent whose start raced gluetun's
stays exited with "cannot join network of a non running container"; recreating it is the fix.
Two kinds of not running are not stale: a container created for the running gluetun and never
started (``PREPARED``: a cascade's, or one that gave up waiting; starting it is the fix) and a
dependent its user stopped (``STOPPED_BY_USER``: the daemon saw a ``stop`` it did not make).

Measured on engine 20.10: a rendered dependent has no container only while compose replaces
it (or when the user removed it): such a service is left out, not recreated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mediastack.adapters.compose import ComposeProject
from mediastack.adapters.engine import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    ContainerInfo,
    ContainerReader,
)
from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.stack.rendered import RenderedFileError, read_project
from mediastack.stack.status import Verdict, namespace_verdict
from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.autoheal import HealthReport
from mediastack.supervisor.events import AUTOHEAL_LABEL, Health
from mediastack.supervisor.observations import PREPARED, STOPPED_BY_USER

logger = logging.getLogger(__name__)

GLUETUN_SERVICE = "gluetun"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
_EARLIEST = datetime.min.replace(tzinfo=UTC)
CREATED = "created"
"""The status of a container made and never started."""


@dataclass(frozen=True)
class Layout:
    """Where gluetun and its rendered dependents live: the vpn compose project."""

    vpn_project: ComposeProject
    rendered_dependents: tuple[str, ...]
    gluetun_service: str = GLUETUN_SERVICE

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> Layout:
        """Given the config, return the layout of its rendered vpn stack (no dependents when
        the stack is not rendered). Raise RenderedFileError when its file is unreadable."""
        project = read_project(loaded, Stack.VPN)
        dependents = tuple(project.namespace_dependents(GLUETUN_SERVICE)) if project else ()
        return cls(ComposeProject.for_stack(loaded, Stack.VPN), dependents)

    @property
    def project_name(self) -> str:
        """Return the vpn compose project's name, e.g. ``mediastack-vpn``."""
        return self.vpn_project.name


@dataclass(frozen=True)
class DependentTarget:
    """How to recreate one dependent. ``key`` is the name the cascade knows it by: the compose
    service for rendered ones, the container name for others. ``project`` is None for a
    container not created by compose (it cannot be recreated from here)."""

    key: str
    project: ComposeProject | None
    service: str | None
    container_name: str | None = None

    def matches(self, container: ContainerInfo) -> bool:
        """Return True when ``container`` is (an incarnation of) this dependent."""
        if self.project is None:
            return container.name == self.container_name
        return (
            container.compose_project == self.project.name
            and container.compose_service == self.service
            and not container.is_oneoff
        )

    def filters(self) -> dict[str, list[str]]:
        """Return the engine filters that find this dependent's containers."""
        if self.project is None:
            return {"name": [self.container_name or self.key]}
        return {
            "label": [
                f"{COMPOSE_PROJECT_LABEL}={self.project.name}",
                f"{COMPOSE_SERVICE_LABEL}={self.service}",
            ]
        }


@dataclass(frozen=True)
class Survey:
    """What one full look at the engine found. ``gluetun`` is None unless it runs."""

    gluetun: ContainerInfo | None
    staleness: dict[str, str | None] = field(default_factory=dict)
    targets: dict[str, DependentTarget] = field(default_factory=dict)
    running: frozenset[str] = frozenset()
    """The dependents whose container runs (whatever their staleness)."""

    @property
    def incarnation(self) -> Gluetun | None:
        """Return the running gluetun's incarnation (id and start), or None."""
        if self.gluetun is None or self.gluetun.started_at is None:
            return None
        return Gluetun(self.gluetun.id, self.gluetun.started_at)

    @property
    def gluetun_healthy(self) -> bool:
        """Return True when gluetun runs and is healthy (or has no healthcheck at all)."""
        return self.gluetun is not None and self.gluetun.health in (None, Health.HEALTHY.value)

    @property
    def stale(self) -> list[str]:
        """Return the stale dependents, sorted."""
        return sorted(key for key, reason in self.staleness.items() if reason is not None)


@dataclass(frozen=True)
class Probe:
    """One check of a recreated dependent: ``healthy`` (running, healthy, in gluetun's
    namespace) or not yet, with what is missing in ``detail``."""

    healthy: bool
    detail: str = ""


class EngineSurveyor:
    """Reads what the supervisor decides on. Every method raises AdapterError when the engine
    fails; ``layout`` is called for each look (the rendered files may have changed)."""

    def __init__(
        self,
        engine: ContainerReader,
        layout: Callable[[], Layout],
        known_gluetun_ids: Callable[[], Sequence[str]],
        user_stopped: Callable[[], frozenset[str]] = frozenset,
    ) -> None:
        self._engine = engine
        self._user_stopped = user_stopped
        self._layout_source = layout
        self._layout: Layout | None = None
        self._known_gluetun_ids = known_gluetun_ids

    def layout(self) -> Layout:
        """Return the layout as last read (``survey`` reads it again)."""
        if self._layout is None:
            self._layout = self._layout_source()
        return self._layout

    def survey(self) -> Survey:
        """Return gluetun, every dependent's staleness, and how to recreate each. The layout
        is read again first; when that fails the last one read is used."""
        layout = self._refresh_layout()
        containers = self._engine.inspect_containers({})
        service = layout.gluetun_service
        gluetun = _preferred(c for c in containers if _is_service(c, layout, service))
        targets = _rendered_targets(layout)
        if gluetun is None or not gluetun.running:
            return Survey(None, {}, targets)
        gluetun_namespace = self._engine.network_namespace(gluetun.pid)
        staleness: dict[str, str | None] = {}
        running: set[str] = set()
        stopped = self._user_stopped()
        for target, container in self._dependents(layout, containers, gluetun):
            targets[target.key] = target
            if not container.running:
                staleness[target.key] = _not_running(target.key in stopped, container, gluetun)
            else:
                running.add(target.key)
                staleness[target.key] = self._stale_reason(container, gluetun, gluetun_namespace)
        return Survey(gluetun, staleness, targets, frozenset(running))

    def gluetun(self) -> ContainerInfo | None:
        """Return gluetun's current container (the running one started last), or None."""
        layout = self.layout()
        found = self._engine.inspect_containers(_service_filters(layout, layout.gluetun_service))
        return _preferred(c for c in found if _is_service(c, layout, layout.gluetun_service))

    def probe(self, target: DependentTarget) -> Probe:
        """Return whether ``target`` now runs, healthy, in the running gluetun's namespace."""
        container = _preferred(
            c for c in self._engine.inspect_containers(target.filters()) if target.matches(c)
        )
        if container is None:
            return Probe(False, "it has no container")
        if not container.running:
            return Probe(False, f"it is {container.status}")
        if container.health not in (None, Health.HEALTHY.value):
            return Probe(False, f"its health is {container.health}")
        gluetun = self.gluetun()
        if gluetun is None or not gluetun.running:
            return Probe(False, "gluetun is not running")
        reason = self._stale_reason(container, gluetun, self._engine.network_namespace(gluetun.pid))
        return Probe(reason is None, reason or "")

    def labelled_containers(self) -> list[ContainerInfo]:
        """Return every container labelled ``autoheal=true`` (one engine call): what autoheal
        and the status pages' container board read at a full re-read."""
        return self._engine.inspect_containers({"label": [f"{AUTOHEAL_LABEL}=true"]})

    def health_reports(self, containers: list[ContainerInfo] | None = None) -> list[HealthReport]:
        """Return the health of every running container labelled ``autoheal=true`` that has a
        settled health (starting ones are left out), from ``containers`` when given (read
        by ``labelled_containers``), else from a new read."""
        found = self.labelled_containers() if containers is None else containers
        reports = []
        for container in found:
            health = _settled_health(container)
            if health is not None:
                reports.append(
                    HealthReport(
                        container.id, container.name, container.compose_service, health, True
                    )
                )
        return reports

    def _refresh_layout(self) -> Layout:
        try:
            self._layout = self._layout_source()
        except RenderedFileError as error:
            if self._layout is None:
                raise
            logger.warning("%s; using the rendered files as last read", error.message)
        return self._layout

    def _dependents(
        self, layout: Layout, containers: Sequence[ContainerInfo], gluetun: ContainerInfo
    ) -> Iterable[tuple[DependentTarget, ContainerInfo]]:
        """Yield each dependent with its container: the rendered ones, then any other running
        container joined to a gluetun id ever seen."""
        rendered = _rendered_targets(layout)
        for target in rendered.values():
            container = _preferred(c for c in containers if target.matches(c))
            if container is not None:
                yield target, container
        known = {*self._known_gluetun_ids(), gluetun.id}
        for container in containers:
            joined = container.network_container
            if joined is None or not container.running or _is_in(container, layout, rendered):
                continue
            by_name = joined == gluetun.name
            if by_name or any(_same_container(joined, known_id) for known_id in known):
                yield _foreign_target(container), container

    def _stale_reason(
        self, container: ContainerInfo, gluetun: ContainerInfo, gluetun_namespace: str | None
    ) -> str | None:
        namespace = self._engine.network_namespace(container.pid)
        check = namespace_verdict(container, gluetun, namespace, gluetun_namespace)
        return None if check.verdict is Verdict.OK else check.reason


def _not_running(stopped_by_user: bool, container: ContainerInfo, gluetun: ContainerInfo) -> str:
    """Return why a dependent that is not running is, or is not, stale."""
    # A start that failed since (a `docker restart` while gluetun was down) is no choice to
    # keep: the engine says why in its error, and recreating it is the fix.
    if stopped_by_user and container.status != CREATED and not container.error:
        return STOPPED_BY_USER
    joined = container.network_container
    if container.status == CREATED and joined is not None and _same_container(joined, gluetun.id):
        return PREPARED
    return f"not running ({container.status})"


def _rendered_targets(layout: Layout) -> dict[str, DependentTarget]:
    return {
        service: DependentTarget(service, layout.vpn_project, service)
        for service in layout.rendered_dependents
    }


def _foreign_target(container: ContainerInfo) -> DependentTarget:
    """Return how to recreate a hand-added dependent: through its own compose project when
    compose made it (its labels say where the file is), else not at all."""
    project_name = container.compose_project
    service = container.compose_service
    files = container.labels.get(CONFIG_FILES_LABEL, "")
    if project_name is None or service is None or not files:
        return DependentTarget(container.name, None, None, container.name)
    compose_file = Path(files.split(",")[0])
    directory = Path(container.labels.get(WORKING_DIR_LABEL) or compose_file.parent)
    project = ComposeProject(project_name, compose_file, directory)
    return DependentTarget(container.name, project, service, container.name)


def _is_service(container: ContainerInfo, layout: Layout, service: str) -> bool:
    return (
        container.compose_project == layout.project_name
        and container.compose_service == service
        and not container.is_oneoff
    )


def _is_in(container: ContainerInfo, layout: Layout, rendered: dict[str, DependentTarget]) -> bool:
    """Return True for a container of the vpn project (a rendered dependent, gluetun, or an
    orphan compose removes itself)."""
    return container.compose_project == layout.project_name or any(
        target.matches(container) for target in rendered.values()
    )


def _service_filters(layout: Layout, service: str) -> dict[str, list[str]]:
    return {
        "label": [
            f"{COMPOSE_PROJECT_LABEL}={layout.project_name}",
            f"{COMPOSE_SERVICE_LABEL}={service}",
        ]
    }


def _preferred(containers: Iterable[ContainerInfo]) -> ContainerInfo | None:
    """Return the running container started last (else the one started last), or None."""
    ordered = sorted(containers, key=lambda c: (c.running, c.started_at or _EARLIEST))
    return ordered[-1] if ordered else None


def _same_container(reference: str, container_id: str) -> bool:
    """True when a ``container:<reference>`` network mode names ``container_id`` (compose
    writes the full id; a hand-written one may be a 12-character prefix)."""
    prefix = len(reference) >= 12 and container_id.startswith(reference)
    return reference == container_id or prefix


def _settled_health(container: ContainerInfo) -> Health | None:
    if not container.running or container.health is None:
        return None
    health = next((value for value in Health if value.value == container.health), None)
    return None if health is Health.STARTING else health
