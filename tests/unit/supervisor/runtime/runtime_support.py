"""A fake engine world for the runtime's unit tests (imported as ``runtime_support``).

``World`` holds gluetun and its dependents as ``ContainerInfo`` in a ``FakeEngine`` with
namespaces, changes them the way the real engine does (a restart in place: same id, new pid
and namespace; a recreate: new id), and makes the raw event dicts the engine would send.
``FakeRecreator`` recreates dependents into the current gluetun (in one step, or prepared while
gluetun starts and started once it is healthy), recording what the state file said at the
moment it was called. Everything runs inline: no thread, no sleep.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mediastack.adapters.compose import ComposeProject
from mediastack.adapters.engine import ContainerInfo
from mediastack.adapters.errors import EngineError, EngineUnreachableError
from mediastack.adapters.fakes import FakeEngine
from mediastack.config.schema import Supervisor
from mediastack.notify import Delivery, Notification
from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.cascade import CascadeSnapshot
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.events import ContainerEvent, parse_container_event
from mediastack.supervisor.observations import PrepareResult, RecreateResult
from mediastack.supervisor.runtime.container_board import BoardRecorder, board_record_path
from mediastack.supervisor.runtime.daemon import DaemonParts, SupervisorDaemon
from mediastack.supervisor.runtime.discovery import DependentTarget, EngineSurveyor, Layout
from mediastack.supervisor.runtime.heartbeat import NO_HEARTBEAT, Heartbeat
from mediastack.supervisor.runtime.hold import LeaseWatch
from mediastack.supervisor.runtime.job_records import RestartCounter, restarts_record_path
from mediastack.supervisor.runtime.jobs import SupervisorJobs
from mediastack.supervisor.runtime.messages import EventArrived, Inbox, StreamConnected
from mediastack.supervisor.runtime.workers import InlineWorker
from mediastack.supervisor.state import SupervisorStore

PROJECT = "home-vpn"
DEPENDENTS = ("qbittorrent", "radarr", "sonarr")
_ids = itertools.count(1)


def new_id() -> str:
    """Return a fresh 64-hex-digit container id."""
    return f"{next(_ids):064x}"


def labels(service: str, project: str = PROJECT) -> dict[str, str]:
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "autoheal": "true",
    }


@dataclass
class World:
    """Gluetun and its dependents, as the engine would report them."""

    clock: FakeClock
    engine: FakeEngine = field(default_factory=FakeEngine)
    gluetun_id: str = ""
    pids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def __post_init__(self) -> None:
        self.gluetun_id = new_id()
        self._put(self._gluetun(self.gluetun_id))
        for service in DEPENDENTS:
            self._put(self._dependent(service))

    # -- reading ------------------------------------------------------------------------

    def container(self, service: str) -> ContainerInfo:
        """Return the running (else the last) container of ``service``."""
        found = [c for c in self.engine.containers if c.compose_service == service]
        running = [c for c in found if c.running]
        return (running or found)[-1]

    def gluetun(self) -> Gluetun:
        container = self.container("gluetun")
        assert container.started_at is not None
        return Gluetun(container.id, container.started_at)

    def in_namespace(self, service: str) -> bool:
        gluetun, dependent = self.container("gluetun"), self.container(service)
        return self.engine.namespaces.get(dependent.pid) == self.engine.namespaces[gluetun.pid]

    # -- changing -----------------------------------------------------------------------

    def restart_gluetun(self, healthy: bool = False) -> ContainerInfo:
        """Restart gluetun in place (a second later: a restart takes time): same id, new
        process and namespace, health starting."""
        self.clock.advance(1)
        container = self.container("gluetun")
        restarted = self._gluetun(container.id, health="healthy" if healthy else "starting")
        self.engine.containers.remove(container)
        self._put(restarted)
        return restarted

    def recreate_gluetun(self) -> ContainerInfo:
        """Recreate gluetun (a second later): a new id (the old container is gone)."""
        self.clock.advance(1)
        self.engine.containers.remove(self.container("gluetun"))
        self.gluetun_id = new_id()
        created = self._gluetun(self.gluetun_id, health="starting")
        self._put(created)
        return created

    def set_health(self, service: str, health: str) -> ContainerInfo:
        container = self.container(service)
        changed = dataclasses.replace(container, health=health)
        self.engine.containers[self.engine.containers.index(container)] = changed
        return changed

    def stop(self, service: str, status: str = "exited") -> ContainerInfo:
        """Leave ``service``'s container not running: ``exited``, or ``created`` (a start that
        failed)."""
        container = self.container(service)
        stopped = dataclasses.replace(container, status=status, pid=0)
        self.engine.containers[self.engine.containers.index(container)] = stopped
        return stopped

    def recreate_dependent(self, service: str, health: str = "starting") -> ContainerInfo:
        """Recreate ``service`` into the current gluetun's namespace."""
        self.engine.containers.remove(self.container(service))
        created = self._dependent(service, health)
        self._put(created)
        return created

    def prepare_dependent(self, service: str) -> ContainerInfo:
        """Replace ``service``'s container by a new one joined to the current gluetun, created
        but not started (``up --no-start --force-recreate``)."""
        self.engine.containers.remove(self.container(service))
        created = dataclasses.replace(
            self._dependent(service), status="created", health=None, started_at=None, pid=0
        )
        self._put(created)
        return created

    def start_prepared(self, service: str, health: str = "starting") -> ContainerInfo:
        """Start ``service``'s prepared container in the current gluetun's namespace."""
        prepared = self.container(service)
        assert prepared.status == "created", f"{service} was not prepared"
        running = dataclasses.replace(self._dependent(service, health), id=prepared.id)
        self.engine.containers[self.engine.containers.index(prepared)] = running
        return running

    # -- events -------------------------------------------------------------------------

    def event(self, action: str, service: str) -> EventArrived:
        """Return the message of the engine event ``action`` about ``service``'s container."""
        container = self.container(service)
        nanoseconds = int(self.clock.now().timestamp() * 1e9)
        raw: dict[str, Any] = {
            "Type": "container",
            "Action": action,
            "Actor": {
                "ID": container.id,
                "Attributes": {"name": container.name, **labels(service)},
            },
            "time": nanoseconds // 10**9,
            "timeNano": nanoseconds,
        }
        parsed = parse_container_event(raw)
        assert parsed is not None
        return EventArrived(parsed)

    # -- building -----------------------------------------------------------------------

    def _gluetun(self, container_id: str, health: str = "healthy") -> ContainerInfo:
        pid = next(self.pids)
        self.engine.namespaces[pid] = f"net:[{pid}]"
        return ContainerInfo(
            id=container_id,
            name=f"{PROJECT}-gluetun-1",
            image="gluetun",
            status="running",
            health=health,
            started_at=self.clock.now(),
            pid=pid,
            network_mode="bridge",
            sandbox_key="/var/run/docker/netns/x",
            labels=labels("gluetun"),
        )

    def _dependent(self, service: str, health: str = "healthy") -> ContainerInfo:
        pid = next(self.pids)
        gluetun = self.container("gluetun")
        self.engine.namespaces[pid] = self.engine.namespaces[gluetun.pid]
        return ContainerInfo(
            id=new_id(),
            name=f"{PROJECT}-{service}-1",
            image=service,
            status="running",
            health=health,
            started_at=self.clock.now(),
            pid=pid,
            network_mode=f"container:{gluetun.id}",
            sandbox_key="",
            labels=labels(service),
        )

    def _put(self, container: ContainerInfo) -> None:
        self.engine.containers.append(container)


@dataclass
class FakeRecreator:
    """Recreates into the world's current gluetun; ``failing`` services fail to start every
    time (their preparation works, as a create does when only the start fails).
    ``calls``, ``prepared`` and ``started`` record each step's services; ``saved_before``
    holds what the state file said when each call began."""

    world: World
    store: SupervisorStore | None = None
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    prepared: list[tuple[str, ...]] = field(default_factory=list)
    started: list[tuple[str, ...]] = field(default_factory=list)
    saved_before: list[CascadeSnapshot] = field(default_factory=list)

    def recreate(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]:
        self._record(self.calls, targets)
        return tuple(
            self._act(gluetun, target.key, self.world.recreate_dependent) for target in targets
        )

    def prepare(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[PrepareResult, ...]:
        self._record(self.prepared, targets)
        for target in targets:
            self.world.prepare_dependent(target.key)
        return tuple(PrepareResult(gluetun, target.key, True) for target in targets)

    def start(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]:
        """As ``Recreator.start``: a prepared ("created") container is started, one that was
        not prepared is recreated."""
        self._record(self.started, targets)
        results = []
        for target in targets:
            if self.world.container(target.key).status == "created":
                results.append(self._act(gluetun, target.key, self.world.start_prepared))
            else:
                results.append(self._act(gluetun, target.key, self.world.recreate_dependent))
        return tuple(results)

    def _record(self, calls: list[tuple[str, ...]], targets: Sequence[DependentTarget]) -> None:
        if self.store is not None:
            self.saved_before.append(self.store.load())
        calls.append(tuple(target.key for target in targets))

    def _act(
        self, gluetun: Gluetun, service: str, step: Callable[[str], ContainerInfo]
    ) -> RecreateResult:
        if service in self.failing:
            return RecreateResult(gluetun, service, False, "exec failed")
        step(service)
        return RecreateResult(gluetun, service, True)


@dataclass
class FakeRestarter:
    """Records restarts; raises for ids in ``failing``."""

    restarted: list[str] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def restart(self, container_id: str) -> None:
        if container_id in self.failing:
            raise EngineError("no such container")
        self.restarted.append(container_id)


@dataclass
class RecordingNotifier:
    """Keeps every notification put."""

    sent: list[Notification] = field(default_factory=list)
    closed: bool = False

    def put(self, notification: Notification, delivery: Delivery | None = None) -> bool:
        self.sent.append(notification)
        return True

    def close(self, timeout: float = 5.0) -> int:
        self.closed = True
        return 0

    def titles(self) -> list[str]:
        return [notification.title.removeprefix("home: ") for notification in self.sent]


class UnreachableEngine(FakeEngine):
    """An engine that refuses every request (the socket is gone)."""

    def inspect_containers(self, filters: Any) -> list[ContainerInfo]:
        raise EngineUnreachableError("connection refused")


@dataclass
class Harness:
    """A daemon over a World, with everything inline, and the fakes to look at."""

    world: World
    daemon: SupervisorDaemon
    store: SupervisorStore
    recreator: FakeRecreator
    restarter: FakeRestarter
    notifier: RecordingNotifier
    inbox: Inbox
    clock: FakeClock
    compose_worker: InlineWorker
    store_path: Path

    def feed(self, *messages: object) -> None:
        """Process ``messages``, then everything they put into the inbox."""
        for message in messages:
            self.daemon.process(message)  # type: ignore[arg-type]
            self.daemon.process_waiting()

    def advance(self, seconds: float) -> datetime:
        """Move the clock and run a tick (plus what it leads to)."""
        now = self.clock.advance(seconds)
        self.daemon.tick()
        self.daemon.process_waiting()
        return now

    def connect(self) -> None:
        self.feed(StreamConnected(0))


def build_harness(
    tmp_path: Path,
    clock: FakeClock,
    settings: Supervisor | None = None,
    world: World | None = None,
    *,
    jobs: SupervisorJobs | None = None,
    leases: LeaseWatch | None = None,
    heartbeat: Heartbeat = NO_HEARTBEAT,
) -> Harness:
    """Return a daemon over a fresh (or the given) world with its state in ``tmp_path`` (and
    the given background jobs, host hold file and heartbeat, none by default)."""
    world = world or World(clock)
    store = SupervisorStore(tmp_path / "state.db")
    layout = Layout(ComposeProject(PROJECT, tmp_path / "compose.yaml", tmp_path), DEPENDENTS)
    recreator = FakeRecreator(world, store)
    restarter = FakeRestarter()
    notifier = RecordingNotifier()
    inbox = Inbox()
    compose_worker = InlineWorker()
    parts = DaemonParts(
        surveyor=EngineSurveyor(
            world.engine, lambda: layout, store.known_gluetun_ids, store.user_stopped
        ),
        recreator=recreator,
        restarter=restarter,
        notifier=notifier,
        store=store,
        clock=clock,
        inbox=inbox,
        compose_worker=compose_worker,
        restart_worker=InlineWorker(),
        jobs=jobs,
        leases=leases,
        heartbeat=heartbeat,
        restart_counts=RestartCounter(restarts_record_path(tmp_path / "state.db"), clock),
        board=BoardRecorder(board_record_path(tmp_path / "state.db"), [PROJECT]),
    )
    daemon = SupervisorDaemon(settings or Supervisor(), "home", parts)
    daemon.start()
    return Harness(
        world, daemon, store, recreator, restarter, notifier, inbox, clock, compose_worker,
        tmp_path / "state.db",
    )  # fmt: skip


def event_of(message: EventArrived) -> ContainerEvent:
    return message.event
