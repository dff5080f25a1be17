"""Recreating through compose: one call per project with the right flags, and one result per
service even when compose fails for only some of them; preparing (``--no-start``) and then
starting the prepared containers through the engine."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from runtime_support import DEPENDENTS, PROJECT, World, new_id

from mediastack.adapters.compose import ComposeProject
from mediastack.adapters.engine import ContainerInfo
from mediastack.adapters.errors import EngineError
from mediastack.adapters.fakes import RecordingExecutor
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime import wiring
from mediastack.supervisor.runtime.discovery import DependentTarget
from mediastack.supervisor.runtime.recreate import NOT_COMPOSE, Recreator
from mediastack.supervisor.runtime.start_order import DEPENDS_ON_LABEL, depends_on, start_waves


class ComposeOnWorld(RecordingExecutor):
    """Answers `compose up` by recreating the named services in the world, except those in
    ``failing`` (left "created", as compose leaves a container whose start failed), and
    exits 1 when any failed. With ``--no-start`` it prepares them instead; one in
    ``failing`` then keeps its old container (compose creates the new one first, and that
    failed)."""

    def __init__(self, world: World, failing: Sequence[str] = ()) -> None:
        super().__init__()
        self.world = world
        self.failing = set(failing)

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        super().stream(arguments, secrets=secrets)
        services = [name for name in arguments if name in DEPENDENTS]
        for service in services:
            if "--no-start" in arguments:
                if service not in self.failing:
                    self.world.prepare_dependent(service)
                continue
            self.world.recreate_dependent(service)
            if service in self.failing:
                self.world.stop(service, status="created")
        return 1 if self.failing & set(services) else 0


@dataclass
class StarterOnWorld:
    """Starts prepared containers in the world (from several threads); refuses those of
    ``refusing`` the way the engine refuses a container whose network owner is down."""

    world: World
    refusing: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, container_id: str) -> None:
        (container,) = [c for c in self.world.engine.containers if c.id == container_id]
        service = container.compose_service
        assert service is not None
        if service in self.refusing:
            raise EngineError("cannot join network of a non running container")
        with self.lock:
            self.world.start_prepared(service)
            self.started.append(service)


def targets(tmp_path: Path, *services: str) -> list[DependentTarget]:
    project = ComposeProject(PROJECT, tmp_path / "compose.yaml", tmp_path)
    return [DependentTarget(service, project, service) for service in services]


def test_one_compose_call_recreates_every_dependent_of_a_project(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    recreator = Recreator(world.engine, executor, StarterOnWorld(world))
    results = recreator.recreate(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    (command,) = executor.commands
    assert command[:3] == ("docker", "compose", "--project-name")
    assert {"up", "--force-recreate", "--no-deps", "--detach"} <= set(command)
    assert command[-3:] == DEPENDENTS
    assert [(result.service, result.succeeded) for result in results] == [
        (service, True) for service in DEPENDENTS
    ]


def test_a_failed_call_is_judged_per_service(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world, failing=["radarr"])
    recreator = Recreator(world.engine, executor, StarterOnWorld(world))
    results = recreator.recreate(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    outcome = {result.service: result for result in results}
    assert outcome["qbittorrent"].succeeded and outcome["sonarr"].succeeded
    assert not outcome["radarr"].succeeded
    assert "exited 1" in outcome["radarr"].detail
    assert "it is created" in outcome["radarr"].detail


HUNG_DOCKER = """#!/bin/sh
# a docker whose compose never returns: the CLI, and the plugin it runs, both hang
sleep 1000 & echo $! >> "$PIDS"
echo $$ >> "$PIDS"
sleep 1000
"""


def test_a_hung_compose_call_is_killed_and_counts_as_a_failed_attempt(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "docker").write_text(HUNG_DOCKER)
    (bin_folder / "docker").chmod(0o755)
    pids = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{bin_folder}:/usr/bin:/bin")
    monkeypatch.setenv("PIDS", str(pids))
    monkeypatch.setattr(wiring, "COMPOSE_CALL_SECONDS", 0.5)
    world = World(clock)
    recreator = Recreator(world.engine, wiring.compose_executor(), StarterOnWorld(world))
    results = recreator.recreate(world.gluetun(), targets(tmp_path, "sonarr", "radarr"))
    assert [result.succeeded for result in results] == [False, False]
    assert (
        f"`docker compose up` for {PROJECT} did not finish in 0.5 s; its processes were killed"
        in results[0].detail
    )
    assert ended([int(pid) for pid in pids.read_text().split()])


def ended(pids: list[int]) -> bool:
    """Wait (a few seconds at most) for every pid to end (a zombie counts as ended)."""
    for _ in range(100):
        states = []
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except FileNotFoundError:
                continue
            states.append(stat.rsplit(")", 1)[1].split()[0])
        if all(state in ("Z", "X") for state in states):
            return True
        time.sleep(0.05)
    return False


def test_a_container_not_made_by_compose_cannot_be_recreated(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    hand_made = DependentTarget("vpn-shell", None, None, "vpn-shell")
    (result,) = Recreator(world.engine, executor, StarterOnWorld(world)).recreate(
        world.gluetun(), [hand_made]
    )
    assert not result.succeeded
    assert result.detail == NOT_COMPOSE
    assert executor.commands == []


def test_each_project_gets_its_own_call(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    other = ComposeProject("extras", tmp_path / "extras.yaml", tmp_path)
    mixed = [*targets(tmp_path, "sonarr"), DependentTarget("extras-tool-1", other, "tool")]
    Recreator(world.engine, executor, StarterOnWorld(world)).recreate(world.gluetun(), mixed)
    assert [command[3] for command in executor.commands] == [PROJECT, "extras"]


def test_preparing_creates_every_new_container_without_starting_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    old = {service: world.container(service).id for service in DEPENDENTS}
    recreator = Recreator(world.engine, executor, StarterOnWorld(world))
    results = recreator.prepare(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    (command,) = executor.commands
    assert {"up", "--no-start", "--force-recreate", "--no-deps"} <= set(command)
    assert "--detach" not in command
    assert [(result.service, result.succeeded) for result in results] == [
        (service, True) for service in DEPENDENTS
    ]
    for service in DEPENDENTS:
        container = world.container(service)
        assert container.status == "created" and container.id != old[service]
        assert container.network_mode == f"container:{world.gluetun_id}"


def test_a_dependent_compose_could_not_create_is_not_prepared(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world, failing=["radarr"])
    recreator = Recreator(world.engine, executor, StarterOnWorld(world))
    results = {
        r.service: r for r in recreator.prepare(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    }
    assert results["qbittorrent"].succeeded and results["sonarr"].succeeded
    assert not results["radarr"].succeeded
    assert "it is running" in results["radarr"].detail  # its old container, untouched


def test_prepared_dependents_are_started_in_gluetuns_namespace(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    world.restart_gluetun(healthy=True)
    for service in DEPENDENTS:
        world.prepare_dependent(service)
    starter = StarterOnWorld(world)
    recreator = Recreator(world.engine, RecordingExecutor(), starter)
    results = recreator.start(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    assert [(result.service, result.succeeded) for result in results] == [
        (service, True) for service in DEPENDENTS
    ]
    assert sorted(starter.started) == sorted(DEPENDENTS)
    assert all(world.in_namespace(service) for service in DEPENDENTS)


def test_a_start_the_engine_refuses_fails_only_that_dependent_a_vanished_one_is_recreated(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    for service in ("qbittorrent", "radarr"):
        world.prepare_dependent(service)
    world.engine.containers.remove(world.container("sonarr"))  # removed by hand meanwhile
    starter = StarterOnWorld(world, refusing={"radarr"})
    executor = RecordingExecutor()
    recreator = Recreator(world.engine, executor, starter)
    results = {
        r.service: r for r in recreator.start(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    }
    assert results["qbittorrent"].succeeded
    assert results["radarr"].detail == "start: cannot join network of a non running container"
    assert results["sonarr"].succeeded  # made again at once, in the same call: no retry wait
    (command,) = executor.commands
    assert "--force-recreate" in command and command[-1] == "sonarr"


def test_a_dependent_started_since_gluetun_is_not_started_again_one_from_before_is_recreated(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A supervisor killed while compose prepared: what was never prepared is recreated in
    the same call, so the resumed cascade does not wait for a retry."""
    world = World(clock)
    world.restart_gluetun(healthy=True)  # radarr and sonarr run from before its start
    world.recreate_dependent("sonarr")  # started since (e.g. by hand)
    starter = StarterOnWorld(world)
    recreator = Recreator(world.engine, ComposeOnWorld(world), starter)
    results = recreator.start(world.gluetun(), targets(tmp_path, "radarr", "sonarr"))
    outcome = {result.service: result for result in results}
    assert outcome["sonarr"].succeeded and starter.started == []
    assert outcome["radarr"].succeeded
    assert world.in_namespace("radarr") and world.in_namespace("sonarr")


def test_what_was_prepared_is_started_without_looking_it_up_again(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(clock)
    starter = StarterOnWorld(world)
    recreator = Recreator(world.engine, ComposeOnWorld(world), starter)
    recreator.prepare(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    lookups: list[object] = []
    looked_up = world.engine.inspect_containers

    def counted(filters: Any) -> list[ContainerInfo]:
        lookups.append(filters)
        return looked_up(filters)

    monkeypatch.setattr(world.engine, "inspect_containers", counted)
    results = recreator.start(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    assert all(result.succeeded for result in results)
    assert sorted(starter.started) == sorted(DEPENDENTS)
    assert lookups == []  # nothing between gluetun's healthy event and the starts


class ComposeWithDependsOn(ComposeOnWorld):
    """Prepares like ComposeOnWorld, with radarr's new container carrying compose's
    depends_on label naming qbittorrent (as compose writes it at create time)."""

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        exit_code = super().stream(arguments, secrets=secrets)
        if "radarr" in arguments:
            container = self.world.container("radarr")
            labelled = dataclasses.replace(
                container,
                labels={**container.labels, DEPENDS_ON_LABEL: "qbittorrent:service_healthy:false"},
            )
            containers = self.world.engine.containers
            containers[containers.index(container)] = labelled
        return exit_code


def test_a_dependent_waits_for_the_one_it_logs_in_to(tmp_path: Path, clock: FakeClock) -> None:
    """cross-seed logs in to qBittorrent at start and retries only a minute later: started
    together it stayed unhealthy after every cascade (seen in the lab)."""
    world = World(clock)
    starter = StarterOnWorld(world)
    naps: list[float] = []

    def sleep(seconds: float) -> None:  # time passes: qBittorrent turns healthy
        naps.append(seconds)
        world.set_health("qbittorrent", "healthy")

    recreator = Recreator(world.engine, ComposeWithDependsOn(world), starter, sleep=sleep)
    recreator.prepare(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    results = recreator.start(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    assert [result.service for result in results] == list(DEPENDENTS)
    assert all(result.succeeded for result in results)
    assert starter.started[-1] == "radarr"  # after qbittorrent and sonarr
    assert naps  # it waited until qbittorrent was healthy


def test_a_dependency_that_never_turns_healthy_delays_the_next_wave_boundedly(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    starter = StarterOnWorld(world)
    moments = iter(range(0, 10_000, 30))
    recreator = Recreator(
        world.engine, ComposeWithDependsOn(world), starter,
        sleep=lambda seconds: None, monotonic=lambda: float(next(moments)),
    )  # fmt: skip
    recreator.prepare(world.gluetun(), targets(tmp_path, "qbittorrent", "radarr"))
    results = recreator.start(world.gluetun(), targets(tmp_path, "qbittorrent", "radarr"))
    assert all(result.succeeded for result in results)
    assert starter.started == ["qbittorrent", "radarr"]


def test_the_needs_come_from_compose_s_depends_on_label() -> None:
    label = "gluetun:service_healthy:true,qbittorrent:service_healthy:false"
    assert depends_on({DEPENDS_ON_LABEL: label}) == {"gluetun", "qbittorrent"}
    assert depends_on({}) == frozenset()
    needs = {"cross-seed": frozenset({"qbittorrent", "gluetun"})}
    assert start_waves(["qbittorrent", "cross-seed", "sonarr"], needs) == [
        ["qbittorrent", "sonarr"],
        ["cross-seed"],
    ]
    cycle = {"a": frozenset({"b"}), "b": frozenset({"a"})}
    assert start_waves(["a", "b"], cycle) == [["a", "b"]]


class ComposeLikeV2(RecordingExecutor):
    """Compose v2 with ``broken``'s image missing. A call naming it fails at once (exit 1)
    and cancels the others: each is left with its replacement half-made, created under the
    temporary name ``<old id, 12 digits>_<name>``, its old container still running. A
    service whose temporary name is already taken fails ("The container name ... is already
    in use"). Otherwise each named service is recreated (or prepared). ``made`` counts the
    containers made per service."""

    def __init__(self, world: World, broken: str) -> None:
        super().__init__()
        self.world = world
        self.broken = broken
        self.made: Counter[str] = Counter()

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        super().stream(arguments, secrets=secrets)
        services = [name for name in arguments if name in DEPENDENTS]
        if self.broken in services:
            for service in services:
                if service != self.broken and not self._name_taken(service):
                    self._half_make(service)
            return 1
        taken = [service for service in services if self._name_taken(service)]
        for service in services:
            if service not in taken:
                self.made[service] += 1
                if "--no-start" in arguments:
                    self.world.prepare_dependent(service)
                else:
                    self.world.recreate_dependent(service)
        return 1 if taken else 0

    def temporary_name(self, service: str) -> str:
        old = self.world.container(service)
        return f"{old.id[:12]}_{old.name}"

    def half_made(self) -> list[str]:
        return [c.name for c in self.world.engine.containers if "_" in c.name]

    def _name_taken(self, service: str) -> bool:
        name = self.temporary_name(service)
        return any(container.name == name for container in self.world.engine.containers)

    def _half_make(self, service: str) -> None:
        self.made[service] += 1
        replacement = dataclasses.replace(
            self.world.container(service), id=new_id(), name=self.temporary_name(service),
            status="created", health=None, started_at=None, pid=0,
        )  # fmt: skip
        self.world.engine.containers.append(replacement)


class RemovingStarter(StarterOnWorld):
    """Also removes containers from the world, refusing a running one as the engine does."""

    def remove(self, container_id: str) -> None:
        (container,) = [c for c in self.world.engine.containers if c.id == container_id]
        if container.running:
            raise EngineError("You cannot remove a running container")
        self.world.engine.containers.remove(container)


def test_a_dependent_whose_image_is_missing_does_not_hold_up_the_others(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    world.restart_gluetun(healthy=True)  # every dependent is stale
    compose = ComposeLikeV2(world, broken="radarr")
    recreator = Recreator(world.engine, compose, RemovingStarter(world))
    results = recreator.recreate(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    outcome = {result.service: result for result in results}
    assert outcome["qbittorrent"].succeeded and outcome["sonarr"].succeeded  # this call
    assert world.in_namespace("qbittorrent") and world.in_namespace("sonarr")
    assert not outcome["radarr"].succeeded
    assert compose.made["qbittorrent"] <= 2 and compose.made["sonarr"] <= 2
    assert compose.half_made() == []


def test_a_preparation_is_not_held_up_by_a_dependent_whose_image_is_missing(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    world.restart_gluetun()
    compose = ComposeLikeV2(world, broken="sonarr")
    recreator = Recreator(world.engine, compose, RemovingStarter(world))
    results = recreator.prepare(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    outcome = {result.service: result for result in results}
    assert outcome["qbittorrent"].succeeded and outcome["radarr"].succeeded
    assert world.container("radarr").status == "created"
    assert world.container("radarr").name == f"{PROJECT}-radarr-1"
    assert not outcome["sonarr"].succeeded
    assert compose.made["qbittorrent"] <= 2 and compose.made["radarr"] <= 2
    assert compose.half_made() == []


def test_a_container_half_made_by_an_earlier_call_does_not_block_the_next(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The supervisor's start-up path in the lab: a retry met "The container name ... is
    already in use" and healed only at the third attempt."""
    world = World(clock)
    world.restart_gluetun(healthy=True)
    compose = ComposeLikeV2(world, broken="none")
    compose._half_make("sonarr")  # left by a call cut short before this supervisor started
    recreator = Recreator(world.engine, compose, RemovingStarter(world))
    results = recreator.recreate(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    assert all(result.succeeded for result in results)
    assert all(world.in_namespace(service) for service in DEPENDENTS)
    assert compose.half_made() == []


def test_a_failed_call_for_one_dependent_is_not_repeated(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    compose = ComposeLikeV2(world, broken="radarr")
    recreator = Recreator(world.engine, compose, RemovingStarter(world))
    (result,) = recreator.recreate(world.gluetun(), targets(tmp_path, "radarr"))
    assert not result.succeeded
    assert len(compose.commands) == 1


def test_what_an_earlier_process_prepared_still_starts_in_waves(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A supervisor restarted mid-cascade starts the containers its predecessor prepared:
    their depends_on labels are read then, so cross-seed still waits for qBittorrent
    (seen in the chaos run: started 0.26 s before it, all nine at once)."""
    world = World(clock)
    Recreator(world.engine, ComposeWithDependsOn(world), StarterOnWorld(world)).prepare(
        world.gluetun(), targets(tmp_path, *DEPENDENTS)
    )
    starter = StarterOnWorld(world)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        world.set_health("qbittorrent", "healthy")

    restarted = Recreator(world.engine, RecordingExecutor(), starter, sleep=sleep)
    results = restarted.start(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    assert all(result.succeeded for result in results)
    assert starter.started[-1] == "radarr" and naps
