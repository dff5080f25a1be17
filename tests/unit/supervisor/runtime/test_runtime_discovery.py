"""Reading the engine: which dependents are stale and why (restart in place, recreate, not
running), hand-added dependents joined to a gluetun id ever seen, probes and health."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from runtime_support import DEPENDENTS, PROJECT, World, labels, new_id

from mediastack.adapters.compose import ComposeProject
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.events import Health
from mediastack.supervisor.runtime.discovery import EngineSurveyor, Layout


def surveyor(world: World, tmp_path: Path, known: Sequence[str] = ()) -> EngineSurveyor:
    layout = Layout(ComposeProject(PROJECT, tmp_path / "compose.yaml", tmp_path), DEPENDENTS)
    return EngineSurveyor(world.engine, lambda: layout, lambda: tuple(known))


def test_nothing_is_stale_when_all_share_gluetuns_namespace(
    tmp_path: Path, clock: FakeClock
) -> None:
    survey = surveyor(World(clock), tmp_path).survey()
    assert survey.staleness == dict.fromkeys(DEPENDENTS)
    assert survey.gluetun_healthy


def test_a_restart_in_place_makes_every_dependent_stale(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    world.restart_gluetun()
    survey = surveyor(world, tmp_path).survey()
    assert survey.staleness == dict.fromkeys(DEPENDENTS, "namespace differs")
    assert not survey.gluetun_healthy


def test_a_recreate_is_seen_in_the_network_mode(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    old = world.gluetun_id
    world.recreate_gluetun()
    survey = surveyor(world, tmp_path).survey()
    assert survey.staleness["sonarr"] == f"network mode names old gluetun {old[:12]}"


def test_a_dependent_that_is_not_running_is_stale(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    world.stop("radarr")  # the boot race leaves it exited
    survey = surveyor(world, tmp_path).survey()
    assert survey.staleness["radarr"] == "not running (exited)"


def test_a_hand_added_dependent_of_an_old_gluetun_is_found(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    old = world.gluetun_id
    extra = dataclasses.replace(
        world.container("sonarr"),
        id=new_id(),
        name="extras-tool-1",
        labels={
            **labels("tool", project="extras"),
            "com.docker.compose.project.config_files": "/srv/extras/compose.yaml",
            "com.docker.compose.project.working_dir": "/srv/extras",
        },
    )
    world.engine.containers.append(extra)
    world.recreate_gluetun()
    survey = surveyor(world, tmp_path, known=[old]).survey()
    assert survey.staleness["extras-tool-1"] is not None
    target = survey.targets["extras-tool-1"]
    assert target.project is not None
    assert (target.project.name, target.service) == ("extras", "tool")
    assert target.project.compose_file == Path("/srv/extras/compose.yaml")
    unknown = surveyor(world, tmp_path, known=[]).survey()
    assert "extras-tool-1" not in unknown.staleness  # never a dependent of a gluetun we knew


def test_without_a_running_gluetun_nothing_is_judged(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    world.stop("gluetun")
    survey = surveyor(world, tmp_path).survey()
    assert survey.gluetun is None
    assert survey.staleness == {}
    assert set(survey.targets) == set(DEPENDENTS)


def test_a_probe_wants_running_healthy_and_the_same_namespace(
    tmp_path: Path, clock: FakeClock
) -> None:
    world = World(clock)
    reader = surveyor(world, tmp_path)
    target = reader.survey().targets["sonarr"]
    assert reader.probe(target).healthy
    world.set_health("sonarr", "starting")
    assert reader.probe(target).detail == "its health is starting"
    world.set_health("sonarr", "healthy")
    world.restart_gluetun(healthy=True)
    assert reader.probe(target).detail == "namespace differs"


def test_health_reports_leave_starting_containers_out(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    world.set_health("sonarr", "unhealthy")
    world.set_health("radarr", "starting")
    reports = {report.name: report.health for report in surveyor(world, tmp_path).health_reports()}
    assert reports[f"{PROJECT}-sonarr-1"] is Health.UNHEALTHY
    assert f"{PROJECT}-radarr-1" not in reports
