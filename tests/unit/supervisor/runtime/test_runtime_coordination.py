"""The daemon never fights its user: commands' leases honoured on events, re-reads and by
autoheal; a dependent its user stopped stays stopped; a state that cannot be saved holds the
actions back until it can (issue 11, items 1, 2 and 7)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from runtime_support import DEPENDENTS, Harness, build_harness

from mediastack.config.schema import Supervisor
from mediastack.stack.lease import Lease
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.hold import LeaseWatch
from mediastack.supervisor.runtime.messages import (
    MaintenanceStarted,
    StreamConnected,
    StreamLost,
)

FAST = Supervisor(
    gluetun_healthy_timeout_seconds=5, dependent_attempts=3, dependent_retry_seconds=1
)


@pytest.fixture
def leases() -> list[Lease]:
    return []


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock, leases: list[Lease]) -> Harness:
    watch = LeaseWatch(tmp_path / "leases", lambda folder: list(leases))
    built = build_harness(tmp_path, clock, FAST, leases=watch)
    built.connect()
    return built


def vpn_lease(reason: str = "mediastack up") -> Lease:
    return Lease(frozenset(("gluetun", *DEPENDENTS)), reason, 0.0)


def test_a_command_recreating_the_vpn_stack_is_not_fought_and_costs_no_cascade(
    harness: Harness, leases: list[Lease]
) -> None:
    world = harness.world
    leases.append(vpn_lease())  # `mediastack up vpn --force-recreate` is at work
    world.restart_gluetun()
    for service in DEPENDENTS:  # compose made them, waiting for gluetun to be healthy
        world.prepare_dependent(service)
    harness.feed(world.event("start", "gluetun"))
    harness.feed(StreamConnected(1))  # a reconnect re-reads the engine meanwhile
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))
    harness.advance(10)
    assert harness.recreator.prepared == harness.recreator.calls == []
    assert harness.recreator.started == []

    for service in DEPENDENTS:  # compose started them itself
        world.start_prepared(service, "healthy")
    leases.clear()
    harness.advance(3)
    assert harness.recreator.calls == harness.recreator.started == []
    assert harness.store.history() == ()
    assert harness.daemon.machine.snapshot().limiter.cascade_times == ()


def test_what_a_command_leaves_stale_is_healed_once_it_ends(
    harness: Harness, leases: list[Lease]
) -> None:
    world = harness.world
    leases.append(vpn_lease("mediastack restart"))
    world.restart_gluetun(healthy=True)
    harness.feed(world.event("start", "gluetun"))
    harness.advance(5)
    assert harness.recreator.calls == []
    leases.clear()
    harness.advance(3)
    assert harness.recreator.calls == [DEPENDENTS]


def test_a_gluetun_update_of_the_daemon_during_a_reconnect_causes_no_cascade(
    harness: Harness,
) -> None:
    world = harness.world
    harness.feed(MaintenanceStarted(("gluetun", *DEPENDENTS), "update of home-vpn/gluetun"))
    world.recreate_gluetun()
    harness.feed(StreamConnected(1))  # the stream dropped and came back mid-update
    harness.advance(5)
    assert harness.recreator.prepared == harness.recreator.calls == []
    assert harness.daemon.machine.snapshot().limiter.cascade_times == ()


def test_autoheal_leaves_a_leased_service_alone(harness: Harness, leases: list[Lease]) -> None:
    world = harness.world
    leases.append(Lease(frozenset({"sonarr"}), "mediastack update", 0.0))
    world.set_health("sonarr", "unhealthy")
    harness.feed(world.event("health_status: unhealthy", "sonarr"))
    harness.advance(40)
    assert harness.restarter.restarted == []
    leases.clear()
    harness.advance(1)
    assert harness.restarter.restarted == [world.container("sonarr").id]


def test_a_dependent_stopped_by_its_user_stays_stopped(harness: Harness) -> None:
    world = harness.world
    world.stop("radarr")
    harness.feed(world.event("stop", "radarr"))  # `docker compose stop radarr`
    harness.feed(StreamConnected(1))
    world.restart_gluetun(healthy=True)
    harness.feed(world.event("start", "gluetun"))
    harness.feed(world.event("health_status: healthy", "gluetun"))
    recreator = harness.recreator
    steps = (*recreator.prepared, *recreator.calls)
    assert {service for step in steps for service in step} == {"qbittorrent", "sonarr"}
    assert world.container("radarr").status == "exited"
    assert harness.store.user_stopped() == {"radarr"}

    world.recreate_dependent("radarr")
    harness.feed(world.event("start", "radarr"))  # the user started it again
    assert harness.store.user_stopped() == frozenset()


def test_a_user_stop_followed_by_a_failed_start_is_healed(harness: Harness) -> None:
    world = harness.world
    harness.feed(world.event("stop", "radarr"))  # `docker restart radarr` while gluetun is down
    failed = world.stop("radarr")
    index = world.engine.containers.index(failed)
    error = "cannot join network of a non running container"
    world.engine.containers[index] = dataclasses.replace(failed, error=error)
    world.restart_gluetun(healthy=True)
    harness.feed(world.event("start", "gluetun"))
    harness.feed(world.event("health_status: healthy", "gluetun"))
    steps = (*harness.recreator.prepared, *harness.recreator.calls)
    assert "radarr" in {service for step in steps for service in step}


def test_the_stops_of_an_engine_shutting_down_are_forgotten_once_it_is_back(
    harness: Harness,
) -> None:
    """dockerd stopping stops every container, and the stream, still open, brings each
    ``stop``; the engine then starts them again at its boot, unseen (the stream is down), one
    of them failing the boot race. Measured on a real engine restart
    (tests/integration/test_engine_restart.py)."""
    world = harness.world
    for service in ("gluetun", *DEPENDENTS):
        world.stop(service)
        harness.feed(world.event("stop", service))
    harness.feed(StreamLost("the engine closed the event stream", 0.5))
    world.restart_gluetun(healthy=True)
    for service in ("qbittorrent", "sonarr"):  # started after gluetun: in its namespace
        world.recreate_dependent(service, health="healthy")
    failed = world.container("radarr")  # started before gluetun
    error = "cannot join network of a non running container"
    world.engine.containers[world.engine.containers.index(failed)] = dataclasses.replace(
        failed, error=error
    )
    harness.feed(StreamConnected(1))
    assert harness.store.user_stopped() <= {"radarr"}  # the others run: started again
    steps = (*harness.recreator.prepared, *harness.recreator.calls)
    assert {service for step in steps for service in step} == {"radarr"}


def test_a_stop_the_cascade_makes_is_not_taken_for_the_users(harness: Harness) -> None:
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))  # the cascade prepares: compose stops them
    harness.feed(world.event("stop", "sonarr"))
    assert harness.store.user_stopped() == frozenset()


class FailingSaves:
    """Wraps the store: the next ``failures`` saves raise as a full disk does."""

    def __init__(self, harness: Harness, failures: int) -> None:
        self.failures = failures
        self._save = harness.store.save
        harness.store.save = self.save  # type: ignore[method-assign]

    def save(self, *arguments: object) -> None:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        self._save(*arguments)  # type: ignore[arg-type]


def test_a_decision_whose_state_cannot_be_saved_waits_and_is_not_lost(harness: Harness) -> None:
    world = harness.world
    FailingSaves(harness, failures=2)
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    assert harness.recreator.prepared == []  # not acted on: a restart would not know of it
    harness.advance(1)  # the first retry fails too
    assert harness.recreator.prepared == []
    harness.advance(2)
    assert harness.recreator.prepared == [DEPENDENTS]
    saved = harness.store.load().in_flight
    assert saved is not None and {item.service for item in saved.dependents} == set(DEPENDENTS)
