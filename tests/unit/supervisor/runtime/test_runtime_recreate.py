"""Recreating through compose: one call per project with the right flags, and one result per
service even when compose fails for only some of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runtime_support import DEPENDENTS, PROJECT, World

from mediastack.adapters.compose import ComposeProject
from mediastack.adapters.fakes import RecordingExecutor
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.discovery import DependentTarget
from mediastack.supervisor.runtime.recreate import NOT_COMPOSE, Recreator


class ComposeOnWorld(RecordingExecutor):
    """Answers `compose up` by recreating the named services in the world, except those in
    ``failing`` (left "created", as compose leaves a container whose start failed), and
    exits 1 when any failed."""

    def __init__(self, world: World, failing: Sequence[str] = ()) -> None:
        super().__init__()
        self.world = world
        self.failing = set(failing)

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        super().stream(arguments, secrets=secrets)
        services = [name for name in arguments if name in DEPENDENTS]
        for service in services:
            self.world.recreate_dependent(service)
            if service in self.failing:
                self.world.stop(service, status="created")
        return 1 if self.failing & set(services) else 0


def targets(tmp_path: Path, *services: str) -> list[DependentTarget]:
    project = ComposeProject(PROJECT, tmp_path / "compose.yaml", tmp_path)
    return [DependentTarget(service, project, service) for service in services]


def test_one_compose_call_recreates_every_dependent_of_a_project(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    recreator = Recreator(world.engine, executor)
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
    recreator = Recreator(world.engine, executor)
    results = recreator.recreate(world.gluetun(), targets(tmp_path, *DEPENDENTS))
    outcome = {result.service: result for result in results}
    assert outcome["qbittorrent"].succeeded and outcome["sonarr"].succeeded
    assert not outcome["radarr"].succeeded
    assert "exited 1" in outcome["radarr"].detail
    assert "it is created" in outcome["radarr"].detail


def test_a_container_not_made_by_compose_cannot_be_recreated(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    hand_made = DependentTarget("vpn-shell", None, None, "vpn-shell")
    (result,) = Recreator(world.engine, executor).recreate(world.gluetun(), [hand_made])
    assert not result.succeeded
    assert result.detail == NOT_COMPOSE
    assert executor.commands == []


def test_each_project_gets_its_own_call(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    executor = ComposeOnWorld(world)
    other = ComposeProject("extras", tmp_path / "extras.yaml", tmp_path)
    mixed = [*targets(tmp_path, "sonarr"), DependentTarget("extras-tool-1", other, "tool")]
    Recreator(world.engine, executor).recreate(world.gluetun(), mixed)
    assert [command[3] for command in executor.commands] == [PROJECT, "extras"]
