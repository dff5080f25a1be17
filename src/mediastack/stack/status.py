"""``mediastack status``: every rendered service, as the engine sees it right now.

Control flow: rendered projects -> the engine's containers per compose project -> one
ServiceStatus per rendered service (``missing`` when it has no container) -> for services in
another service's namespace (``network_mode: service:gluetun``), a namespace verdict from the
pure ``namespace_verdict``.

Why a verdict at all: when gluetun restarts in place its namespace changes, when it is
recreated its id changes; either way a dependent keeps running in the dead namespace (only
``lo``) and may even report healthy. Measured on engine 20.10 (tests/fixtures/engine/): after
``docker restart gluetun`` the dependent's NetworkMode still names the same id but its
``/proc/<pid>/ns/net`` differs and it started before gluetun; after a recreate its NetworkMode
names the old id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mediastack.adapters.engine import COMPOSE_PROJECT_LABEL, ContainerInfo, ContainerReader
from mediastack.catalogue import CATALOGUE, Stack
from mediastack.config import LoadedConfig
from mediastack.render import ZONE_LABEL
from mediastack.stack.rendered import RenderedProject, RenderedService, require_rendered

MISSING = "missing"
STOPPED_BY_USER = "stopped"
"""The state shown for a dependent its user stopped (the supervisor leaves it so)."""
UNREAD_NAMESPACE_NOTE = (
    "network mode and start order checked; /proc/<pid>/ns/net not readable (root can compare)"
)


class Verdict(StrEnum):
    """Whether a dependent really shares its owner's network namespace."""

    OK = "ok"
    STALE = "stale"  # in a dead namespace: it must be recreated, a restart is not enough
    UNKNOWN = "unknown"  # could not be judged (e.g. the dependent is not running)


@dataclass(frozen=True)
class NamespaceCheck:
    """A verdict and, for anything but a plain ``ok``, why."""

    verdict: Verdict
    reason: str | None = None


@dataclass(frozen=True)
class ServiceStatus:
    """One rendered service as it runs. ``state`` is the container state or ``missing``;
    ``health`` is only reported for running containers (the engine keeps a stopped
    container's last status); ``namespace`` only for services in another's namespace."""

    stack: Stack
    service: str
    zone: str | None
    state: str
    health: str | None
    image: str | None
    container_id: str | None
    started_at: datetime | None
    uptime_seconds: int | None
    namespace: NamespaceCheck | None

    @property
    def needs_attention(self) -> bool:
        """True when the service is not running (unless its user stopped it), unhealthy, or
        in a stale namespace."""
        stale = self.namespace is not None and self.namespace.verdict == Verdict.STALE
        not_running = self.state not in ("running", STOPPED_BY_USER)
        return not_running or self.health == "unhealthy" or stale

    def to_json(self) -> dict[str, Any]:
        """Return the JSON shape of ``status --format json`` (one entry of ``services``)."""
        return {
            "stack": self.stack.value,
            "service": self.service,
            "zone": self.zone,
            "state": self.state,
            "health": self.health,
            "image": self.image,
            "container_id": self.container_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "uptime_seconds": self.uptime_seconds,
            "namespace": self.namespace.verdict.value if self.namespace else None,
            "namespace_reason": self.namespace.reason if self.namespace else None,
        }


def with_user_stops(
    statuses: Iterable[ServiceStatus], user_stopped: Iterable[str]
) -> list[ServiceStatus]:
    """Return ``statuses`` with each service its user stopped (as the supervisor saw it, and
    still not running) shown as ``stopped``: a choice, not a problem to heal."""
    stopped = set(user_stopped)
    return [
        replace(entry, state=STOPPED_BY_USER, namespace=None)
        if entry.service in stopped and entry.state not in ("running", MISSING)
        else entry
        for entry in statuses
    ]


def namespace_verdict(
    dependent: ContainerInfo,
    owner: ContainerInfo | None,
    dependent_namespace: str | None,
    owner_namespace: str | None,
    owner_name: str = "gluetun",
) -> NamespaceCheck:
    """Given a dependent container, its namespace owner's current container (None: there is
    none), and both ``/proc/<pid>/ns/net`` links (None: unreadable), return whether the
    dependent really lives in the owner's namespace.

    stale: the network mode names another container than the owner's current one; the owner
    is not running; the namespaces differ; or (namespaces unreadable) the dependent started
    before the owner. An unreadable namespace is never evidence of staleness.
    """
    if not dependent.running:
        return NamespaceCheck(Verdict.UNKNOWN, f"not running ({dependent.status})")
    joined = dependent.network_container
    if joined is None:
        mode = dependent.network_mode
        return NamespaceCheck(Verdict.STALE, f"network mode is {mode}, not {owner_name}'s")
    if owner is None or not _names(joined, owner):
        return NamespaceCheck(Verdict.STALE, f"network mode names old {owner_name} {joined[:12]}")
    if not owner.running:
        return NamespaceCheck(Verdict.STALE, f"{owner_name} is not running ({owner.status})")
    if dependent_namespace is not None and owner_namespace is not None:
        if dependent_namespace != owner_namespace:
            return NamespaceCheck(Verdict.STALE, "namespace differs")
        return NamespaceCheck(Verdict.OK)
    if _started_before(dependent, owner):
        return NamespaceCheck(Verdict.STALE, f"started before {owner_name}")
    return NamespaceCheck(Verdict.OK, UNREAD_NAMESPACE_NOTE)


def _names(reference: str, container: ContainerInfo) -> bool:
    """True when a ``container:<reference>`` network mode points at ``container``: compose
    writes the full id; ``docker run`` users may write a name or a short id."""
    return reference in (container.id, container.name) or (
        len(reference) >= 12 and container.id.startswith(reference)
    )


def _started_before(dependent: ContainerInfo, owner: ContainerInfo) -> bool:
    if dependent.started_at is None or owner.started_at is None:
        return False
    return dependent.started_at < owner.started_at


def collect(
    loaded: LoadedConfig, engine: ContainerReader, *, now: datetime | None = None
) -> list[ServiceStatus]:
    """Return the status of every service of every rendered stack, in stack then file order.
    Raise RenderedFileError when nothing is rendered or a compose file is unreadable,
    AdapterError when the engine fails."""
    moment = now or datetime.now(UTC)
    statuses = []
    for project in require_rendered(loaded):
        containers = project_containers(engine, project)
        for service in project.services:
            statuses.append(_status_of(project, service, containers, engine, moment))
    return statuses


def project_containers(
    engine: ContainerReader, project: RenderedProject
) -> dict[str, ContainerInfo]:
    """Return the container of each service of ``project`` that has one. Of several (scaled,
    or left over), the running one started last wins; ``compose run`` containers never."""
    found = engine.inspect_containers(
        {"label": [f"{COMPOSE_PROJECT_LABEL}={project.project_name}"]}
    )
    chosen: dict[str, ContainerInfo] = {}
    for container in sorted(found, key=_preference):
        service = container.compose_service
        if service is not None and not container.is_oneoff:
            chosen[service] = container
    return chosen


def _preference(container: ContainerInfo) -> tuple[bool, datetime]:
    # Sorted ascending and later entries overwrite: the preferred container comes last.
    return (container.running, container.started_at or datetime.min.replace(tzinfo=UTC))


def _status_of(
    project: RenderedProject,
    service: RenderedService,
    containers: dict[str, ContainerInfo],
    engine: ContainerReader,
    now: datetime,
) -> ServiceStatus:
    container = containers.get(service.name)
    zone = _zone_of(service, container)
    if container is None:
        return ServiceStatus(
            project.stack, service.name, zone, MISSING, None, service.image, None, None, None, None
        )
    return ServiceStatus(
        stack=project.stack,
        service=service.name,
        zone=zone,
        state=container.status,
        health=container.health if container.running else None,
        image=container.image,
        container_id=container.id,
        started_at=container.started_at,
        uptime_seconds=_uptime(container, now),
        namespace=_namespace_of(service, container, containers, engine),
    )


def _namespace_of(
    service: RenderedService,
    container: ContainerInfo,
    containers: dict[str, ContainerInfo],
    engine: ContainerReader,
) -> NamespaceCheck | None:
    owner_name = service.namespace_owner
    if owner_name is None:
        return None
    owner = containers.get(owner_name)
    return namespace_verdict(
        container,
        owner,
        engine.network_namespace(container.pid),
        engine.network_namespace(owner.pid) if owner is not None else None,
        owner_name,
    )


def _zone_of(service: RenderedService, container: ContainerInfo | None) -> str | None:
    if container is not None and ZONE_LABEL in container.labels:
        return container.labels[ZONE_LABEL]
    if service.zone is not None:
        return service.zone
    definition = CATALOGUE.get(service.name)
    return definition.zone.value if definition is not None else None


def _uptime(container: ContainerInfo, now: datetime) -> int | None:
    if not container.running or container.started_at is None:
        return None
    return max(0, int((now - container.started_at).total_seconds()))


def needing_attention(statuses: Iterable[ServiceStatus]) -> list[ServiceStatus]:
    """Return the services that are missing, stopped, unhealthy or stale."""
    return [status for status in statuses if status.needs_attention]
