"""Each service's container as the daemon saw it: the status page's states, with no engine
call of the page's own (issue 12). Built from the daemon's full re-read and its events."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

from runtime_support import DEPENDENTS, PROJECT, Harness, build_harness

from mediastack.config.schema import Supervisor
from mediastack.stack.lease import Lease, LeaseHolder, active_leases
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.events import EventKind
from mediastack.supervisor.runtime.container_board import (
    BoardRecorder,
    ContainerBoard,
    board_record_path,
    read_board_record,
)
from mediastack.supervisor.runtime.hold import LeaseWatch
from mediastack.supervisor.web.page import service_condition
from mediastack.supervisor.web.status_sources import StatusPaths, StatusReader


def board_of(harness: Harness) -> dict[str, tuple[str, str | None, str]]:
    record = read_board_record(board_record_path(harness.store_path)).record
    assert record is not None
    return {
        name: (state.status, state.health, state.container)
        for name, state in record.services.items()
    }


def test_the_first_engine_read_puts_every_service_on_the_board(tmp_path: Path) -> None:
    harness = build_harness(tmp_path, FakeClock())
    harness.connect()
    board = board_of(harness)
    assert set(board) == {"gluetun", *DEPENDENTS}
    sonarr = harness.world.container("sonarr")
    assert board["sonarr"] == ("running", "healthy", sonarr.id)


def test_a_gluetun_restart_and_its_cascade_show_on_the_board(tmp_path: Path) -> None:
    harness = build_harness(tmp_path, FakeClock())
    harness.connect()
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    assert board_of(harness)["gluetun"][:2] == ("running", "starting")  # its check begins again
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))
    for service in DEPENDENTS:
        harness.feed(world.event("start", service))
        world.set_health(service, "healthy")
        harness.feed(world.event("health_status: healthy", service))
    board = board_of(harness)
    assert board["gluetun"][1] == "healthy"
    for service in DEPENDENTS:  # the new containers, healthy
        assert board[service] == ("running", "healthy", world.container(service).id)


def test_an_old_containers_death_after_its_replacement_started_says_nothing(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    harness = build_harness(tmp_path, clock)
    harness.connect()
    world = harness.world
    old = world.container("sonarr")
    world.recreate_dependent("sonarr", health="starting")
    harness.feed(world.event("start", "sonarr"))
    new = world.container("sonarr")
    # The engine reports the old container's die after the new one's start (compose order).
    board = ContainerBoard([PROJECT])
    board.reset([new], clock.now())
    started = world.event("start", "sonarr").event
    stale = dataclasses.replace(started, kind=EventKind.DIE, action="die", container_id=old.id)
    assert board.observe(stale) is False
    assert board.services["sonarr"].container == new.id
    assert board.observe(dataclasses.replace(stale, container_id=new.id)) is True


def test_a_flood_of_unchanged_events_writes_the_record_once(tmp_path: Path) -> None:
    clock = FakeClock()
    harness = build_harness(tmp_path, clock)
    harness.connect()
    path = board_record_path(harness.store_path)
    written = path.stat().st_mtime_ns
    message = harness.world.event("health_status: healthy", "sonarr")
    for _ in range(50):
        clock.advance(1)
        harness.feed(message)
    assert path.stat().st_mtime_ns == written


def test_the_status_page_shows_each_services_state_from_the_record(tmp_path: Path) -> None:
    clock = FakeClock()
    harness = build_harness(tmp_path, clock)
    harness.connect()
    world = harness.world
    world.set_health("radarr", "unhealthy")
    harness.feed(world.event("health_status: unhealthy", "radarr"))
    world.stop("qbittorrent")
    harness.feed(world.event("die", "qbittorrent"))
    reader = StatusReader(
        "home",
        StatusPaths(harness.store_path, tmp_path / "backups", tmp_path / "rollbacks.json"),
        Supervisor(),
        clock,
        lambda path: {},
    )
    view = reader()
    assert service_condition("sonarr", view) == ("healthy", "good")
    assert service_condition("radarr", view) == ("unhealthy", "bad")
    assert service_condition("qbittorrent", view) == ("exited", "bad")
    assert service_condition("plex", view) == ("no container", "warn")
    services = view.to_json()["services"]["by_name"]
    assert services["radarr"]["health"] == "unhealthy"


def test_before_the_daemon_saw_anything_the_page_says_not_known(tmp_path: Path) -> None:
    reader = StatusReader(
        "home",
        StatusPaths(tmp_path / "state.db", tmp_path / "backups", tmp_path / "rollbacks.json"),
        Supervisor(),
        FakeClock(),
        lambda path: {},
    )
    assert service_condition("sonarr", reader()) == ("not known yet", "muted")


def test_a_broken_record_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = board_record_path(tmp_path / "state.db")
    path.write_text(json.dumps({"written_at": "yesterday", "services": {}}))
    read = read_board_record(path)
    assert read.record is None and read.problem is not None and "containers record" in read.problem


def test_a_full_read_replaces_the_board_and_keeps_when_an_unchanged_state_began(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    harness = build_harness(tmp_path, clock)
    world = harness.world
    recorder = BoardRecorder(tmp_path / "board.json", [PROJECT])
    containers = [world.container(name) for name in ("gluetun", *DEPENDENTS)]
    first = clock.now()
    recorder.reset(containers, first)
    recorder.reset(containers, first + timedelta(minutes=5))
    assert recorder.board.services["sonarr"].since == first
    recorder.reset(containers[:1], first + timedelta(minutes=6))
    assert set(recorder.board.services) == {"gluetun"}


def test_a_one_off_run_of_a_service_does_not_take_its_place(tmp_path: Path) -> None:
    harness = build_harness(tmp_path, FakeClock())
    harness.connect()
    real = harness.world.container("sonarr")
    started = harness.world.event("start", "sonarr").event
    run = dataclasses.replace(
        started, container_id="f" * 64,
        labels={**started.labels, "com.docker.compose.oneoff": "True"},
    )  # fmt: skip
    board = ContainerBoard([PROJECT])
    board.reset([real], harness.clock.now())
    for kind in (EventKind.START, EventKind.DIE, EventKind.DESTROY):
        assert board.observe(dataclasses.replace(run, kind=kind, action=kind.value)) is False
    assert board.services["sonarr"].container == real.id


def test_a_stop_is_told_apart_from_a_death(tmp_path: Path) -> None:
    harness = build_harness(tmp_path, FakeClock())
    harness.connect()
    world = harness.world
    world.stop("sonarr")
    harness.feed(world.event("die", "sonarr"))
    assert board_of(harness)["sonarr"][0] == "exited"
    harness.feed(world.event("stop", "sonarr"))
    assert board_of(harness)["sonarr"][0] == "stopped"


def test_only_a_stop_death_or_removal_reads_the_leases_and_a_leased_one_is_held(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "leases"
    reads: list[Path] = []

    def counted(path: Path) -> list[Lease]:
        reads.append(path)
        return active_leases(path)

    harness = build_harness(tmp_path, FakeClock(), leases=LeaseWatch(folder, counted))
    harness.connect()
    before = len(reads)
    starting = harness.world.event("health_status: starting", "sonarr")
    for _ in range(20):  # a flood of health events: the board lists no folder for them
        harness.feed(starting)
    assert len(reads) == before
    with LeaseHolder(folder).hold(["sonarr"], "mediastack up --force-recreate sonarr"):
        harness.world.stop("sonarr")
        harness.feed(harness.world.event("die", "sonarr"))
        record = read_board_record(board_record_path(harness.store_path)).record
    assert len(reads) > before
    assert record is not None and record.held == ("sonarr",)
