"""Each service's container as the daemon last saw it, kept for the status pages.

The page draws every service's state and health without asking the engine (issue 12: nothing
polls the engine for the page): the daemon already reads every container labelled
``autoheal=true`` at each full re-read (for autoheal) and gets their start, die, stop,
destroy and health events. ``ContainerBoard`` (pure) folds those into one ``ServiceState``
per service of this instance's three projects; ``BoardRecorder`` writes
``<state>.containers.json`` atomically (``job_records.write_record``) when, and only when,
something the page shows changed. ``read_board_record`` is the web side's reader; it never
raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mediastack.adapters.engine import ContainerInfo
from mediastack.supervisor.events import ContainerEvent, EventKind, Health
from mediastack.supervisor.runtime.job_records import RecordRead, read_record, write_record

RUNNING = "running"
EXITED = "exited"  # it died: a crash, or the first half of a stop
STOPPED = "stopped"  # someone stopped it (the engine sends ``stop`` after ``die``)
REMOVED = "removed"
ONEOFF_LABEL = "com.docker.compose.oneoff"
STARTING = Health.STARTING.value


@dataclass(frozen=True)
class ServiceState:
    """One service's container: its engine status (``running``, ``exited``, ``created``,
    ``restarting``... or ``removed``), its health (None: no healthcheck, or not known), its
    id and when the daemon saw this state begin."""

    status: str
    health: str | None
    container: str
    since: datetime = field(compare=False)  # two states are the same whenever they began

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "health": self.health,
            "container": self.container,
            "since": self.since.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceState:
        health = data.get("health")
        return cls(
            str(data["status"]),
            None if health is None else str(health),
            str(data["container"]),
            datetime.fromisoformat(str(data["since"])),
        )


class ContainerBoard:
    """The services of ``projects`` (compose project names) by name. ``reset`` takes a full
    re-read; ``observe`` one event. Both return whether anything changed."""

    def __init__(self, projects: Iterable[str]) -> None:
        self._projects = frozenset(projects)
        self._services: dict[str, ServiceState] = {}
        self.held: frozenset[str] = frozenset()

    @property
    def services(self) -> Mapping[str, ServiceState]:
        return dict(self._services)

    def hold(self, services: Iterable[str]) -> bool:
        """Note the services an update or a command holds now (their stops and removals are
        theirs, not a fault); return whether that changed."""
        held = frozenset(services)
        changed = held != self.held
        self.held = held
        return changed

    def reset(self, containers: Iterable[ContainerInfo], at: datetime) -> bool:
        """Replace what is known with ``containers`` (one full read of the engine)."""
        seen: dict[str, ServiceState] = {}
        for container in containers:
            service = container.compose_service
            if service is None or container.compose_project not in self._projects:
                continue
            if container.is_oneoff:
                continue
            previous = self._services.get(service)
            state = ServiceState(container.status, container.health, container.id, at)
            if state == previous:
                state = previous  # unchanged: keep when it began
            if service not in seen or container.running:
                seen[service] = state
        changed = seen != self._services
        self._services = seen
        return changed

    def observe(self, event: ContainerEvent) -> bool:
        """Fold one container event in; return whether the page would show a change."""
        if event.service is None or event.project not in self._projects:
            return False
        if event.labels.get(ONEOFF_LABEL) == "True":
            return False  # `docker compose run` (recyclarr sync): not the service itself
        previous = self._services.get(event.service)
        state = _after(previous, event)
        if state is None or state == previous:
            return False
        self._services[event.service] = state
        return True


def _after(previous: ServiceState | None, event: ContainerEvent) -> ServiceState | None:
    container_id = event.container_id
    another = previous is not None and previous.container != container_id
    if another and event.kind is not EventKind.START:
        # An older container of the service (a recreate's leftover) says nothing about it.
        return None
    if event.kind is EventKind.START:
        # A new start: a healthcheck begins again at "starting", which the engine sets
        # without an event; a container without one stays without.
        health = STARTING if previous is not None and previous.health is not None else None
        return ServiceState(RUNNING, health, container_id, event.at)
    if event.kind in (EventKind.DIE, EventKind.STOP):
        status = STOPPED if event.kind is EventKind.STOP else EXITED
        return ServiceState(status, previous.health if previous else None, container_id, event.at)
    if event.kind is EventKind.DESTROY:
        return ServiceState(REMOVED, None, container_id, event.at)
    if event.kind is EventKind.HEALTH and event.health is not None:
        base = previous or ServiceState(RUNNING, None, container_id, event.at)
        return replace(base, health=event.health.value, since=event.at)
    return None



# -- the record ---------------------------------------------------------------------------


def board_record_path(state_file: Path) -> Path:
    """Return the containers record that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.containers.json"


@dataclass(frozen=True)
class BoardRecord:
    """``<state>.containers.json``: when it was written, each service's state, and the
    services an update or a command held then."""

    written_at: datetime
    services: Mapping[str, ServiceState]
    held: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "written_at": self.written_at.isoformat(),
            "services": {name: state.to_json() for name, state in sorted(self.services.items())},
            "held": list(self.held),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BoardRecord:
        services = data["services"]
        if not isinstance(services, Mapping):
            raise TypeError("services is not an object")
        return cls(
            datetime.fromisoformat(str(data["written_at"])),
            {str(name): ServiceState.from_json(state) for name, state in services.items()},
            tuple(str(name) for name in data.get("held", ())),
        )


def read_board_record(path: Path) -> RecordRead[BoardRecord]:
    """Return the containers record at ``path``; never raises."""
    return read_record(path, BoardRecord.from_json, "a containers record")


class BoardRecorder:
    """The board and its record: each change is written at once (a few hundred bytes, on
    the daemon's loop: events that change what the page shows are a few per minute at most,
    and a flood of unchanged ones writes nothing)."""

    def __init__(self, path: Path, projects: Iterable[str]) -> None:
        self._path = path
        self.board = ContainerBoard(projects)

    def reset(self, containers: Iterable[ContainerInfo], at: datetime) -> None:
        if self.board.reset(containers, at):
            self._write(at)

    def observe(self, event: ContainerEvent) -> None:
        if self.board.observe(event):
            self._write(event.at)

    def hold(self, services: Iterable[str], at: datetime) -> None:
        if self.board.hold(services):
            self._write(at)

    def _write(self, at: datetime) -> None:
        record = BoardRecord(at, self.board.services, tuple(sorted(self.board.held)))
        write_record(self._path, record.to_json())
