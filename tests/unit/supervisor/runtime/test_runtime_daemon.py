"""The daemon's loop over a fake engine world, a fake clock and inline workers: intake, save
before acting, verification by events, retries, the hourly limit with pause and resume, a
killed supervisor resuming, a reconnect re-reading, autoheal and its locks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_support import DEPENDENTS, Harness, World, build_harness

from mediastack.adapters.errors import EngineUnreachableError
from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.cascade import Mode
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.progress import DependentStatus
from mediastack.supervisor.runtime.job_records import read_restarts_record, restarts_record_path
from mediastack.supervisor.runtime.messages import StopRequested, StreamConnected, StreamLost
from mediastack.supervisor.runtime.verify import RECHECK_SECONDS
from mediastack.supervisor.state import SupervisorStore

FAST = Supervisor(
    gluetun_healthy_timeout_seconds=5, dependent_attempts=3, dependent_retry_seconds=1
)


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Harness:
    built = build_harness(tmp_path, clock, FAST)
    built.connect()
    return built


def restart_gluetun(harness: Harness, healthy_after: float = 1.0) -> None:
    """Restart gluetun in place and let it turn healthy ``healthy_after`` seconds later."""
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    harness.advance(healthy_after)
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))


def report_healthy(harness: Harness, *services: str) -> None:
    for service in services or DEPENDENTS:
        harness.world.set_health(service, "healthy")
        harness.feed(harness.world.event("health_status: healthy", service))


def test_a_gluetun_restart_is_healed_after_it_turns_healthy(harness: Harness) -> None:
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    assert harness.recreator.prepared == [DEPENDENTS]  # one compose call for all of them
    assert harness.recreator.started == []  # gluetun is not healthy yet
    assert {world.container(service).status for service in DEPENDENTS} == {"created"}
    assert harness.daemon.machine.status(harness.clock.now()).mode is Mode.CASCADING

    harness.advance(1)
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))
    assert harness.recreator.started == [DEPENDENTS]
    assert harness.recreator.calls == []  # nothing left for a compose recreate
    assert all(world.in_namespace(service) for service in DEPENDENTS)
    assert harness.store.history() == ()  # verified only once they report healthy

    report_healthy(harness)
    (cascade,) = harness.store.history()
    assert cascade.outcome is Outcome.HEALED
    assert cascade.healed == DEPENDENTS
    assert harness.notifier.titles() == [
        "gluetun restarted: healing its dependents",
        "dependents healed",
    ]
    assert harness.daemon.settled


def test_the_state_is_saved_before_compose_runs(harness: Harness) -> None:
    restart_gluetun(harness)
    before_prepare, before_start = harness.recreator.saved_before
    expected = [DependentStatus.PREPARING, DependentStatus.RECREATING]
    for saved, status in zip((before_prepare, before_start), expected, strict=True):
        assert saved.in_flight is not None
        statuses = {item.service: item.status for item in saved.in_flight.dependents}
        assert statuses == dict.fromkeys(DEPENDENTS, status)
        assert saved.limiter.cascade_times  # counted before acting too


def test_a_recreated_gluetun_new_id_is_followed(harness: Harness) -> None:
    world = harness.world
    old_id = world.gluetun_id
    world.recreate_gluetun()
    harness.feed(world.event("start", "gluetun"))
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))
    report_healthy(harness)
    assert world.gluetun_id != old_id
    joined = f"container:{world.gluetun_id}"
    assert all(world.container(service).network_mode == joined for service in DEPENDENTS)
    assert harness.store.history()[0].outcome is Outcome.HEALED
    assert old_id in harness.store.known_gluetun_ids()


def test_gluetun_never_healthy_times_out_without_touching_anything(harness: Harness) -> None:
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    for service in DEPENDENTS:  # their own healthchecks fail in the dead namespace
        world.set_health(service, "unhealthy")
        harness.feed(world.event("health_status: unhealthy", service))
    harness.advance(6)
    assert harness.store.history()[0].outcome is Outcome.GLUETUN_TIMEOUT
    assert "gluetun is not healthy" in harness.notifier.titles()
    harness.advance(120)  # far past autoheal's grace: still nothing started
    assert harness.recreator.prepared == [DEPENDENTS]
    assert harness.recreator.started == harness.recreator.calls == []
    assert harness.restarter.restarted == []
    assert len(harness.store.history()) == 1  # no thrash: one cascade, one timeout


def test_a_dependent_that_fails_is_retried_then_reported_and_the_others_healed(
    harness: Harness,
) -> None:
    harness.recreator.failing = {"radarr"}
    restart_gluetun(harness)
    report_healthy(harness, "qbittorrent", "sonarr")
    harness.advance(1)  # first retry (1 s)
    harness.advance(2)  # second retry (2 s): the third and last attempt
    assert harness.recreator.started == [DEPENDENTS]
    assert harness.recreator.calls == [("radarr",), ("radarr",)]
    (cascade,) = harness.store.history()
    assert cascade.outcome is Outcome.PARTIAL
    assert cascade.healed == ("qbittorrent", "sonarr")
    assert cascade.failed == ("radarr",)
    assert "a dependent could not be healed" in harness.notifier.titles()
    assert harness.notifier.titles()[-1] == "dependents partly healed"


def test_a_sixth_cascade_within_the_hour_pauses_until_resumed(
    tmp_path: Path, harness: Harness
) -> None:
    harness.recreator.world = harness.world
    for _ in range(5):
        restart_gluetun(harness)
        report_healthy(harness)
        harness.advance(60)
    assert [entry.outcome for entry in harness.store.history()] == [Outcome.HEALED] * 5

    restart_gluetun(harness)  # the sixth within the hour
    now = harness.clock.now()
    assert harness.daemon.machine.status(now).mode is Mode.PAUSED
    assert harness.store.history()[0].outcome is Outcome.RATE_LIMITED
    assert "restart loop: cascades paused" in harness.notifier.titles()
    assert len(harness.recreator.prepared) == 5  # nothing touched for the sixth
    assert len(harness.recreator.started) == 5 and harness.recreator.calls == []
    harness.advance(30)
    assert harness.daemon.machine.status(harness.clock.now()).mode is Mode.PAUSED

    with SupervisorStore(tmp_path / "state.db") as other_process:  # `supervise --resume`
        other_process.request_resume(harness.clock.now())
    harness.clock.advance(2)
    wakeup = harness.daemon.next_wakeup()  # the loop ticks only once this has come
    assert wakeup is not None and wakeup <= harness.clock.now()
    harness.advance(0)  # the daemon looks for it while paused
    assert "cascades resumed" in harness.notifier.titles()
    assert harness.recreator.calls == [DEPENDENTS]  # the resume re-read found them stale
    report_healthy(harness)
    assert harness.store.history()[0].outcome is Outcome.HEALED
    assert harness.daemon.machine.status(harness.clock.now()).mode is Mode.WATCHING


@pytest.mark.parametrize("compose_ran", [True, False], ids=["after-compose", "before-compose"])
def test_a_supervisor_killed_mid_cascade_finishes_it_without_recreating_twice(
    tmp_path: Path, clock: FakeClock, compose_ran: bool
) -> None:
    first = build_harness(tmp_path, clock, FAST)
    first.connect()
    if not compose_ran:
        first.compose_worker.stopped = True  # killed before the compose call started
    restart_gluetun(first)
    while first.inbox.get(0) is not None:
        pass  # killed before the results were processed: they are lost
    first.store.close()
    recreated_by_first = len(first.recreator.started)

    second = build_harness(tmp_path, clock, FAST, world=first.world)
    second.connect()  # the restarted supervisor reads the engine
    # It starts what the lost call was preparing; what was not prepared is recreated in that
    # same call, at once: no failure, no retry after a backoff.
    assert all(second.world.in_namespace(service) for service in DEPENDENTS)
    report_healthy(second)
    assert second.recreator.calls == []
    assert second.recreator.prepared == []
    assert recreated_by_first + len(second.recreator.started) == 1
    (cascade,) = second.store.history()
    assert cascade.outcome is Outcome.HEALED
    assert cascade.healed == DEPENDENTS


def test_a_supervisor_killed_while_compose_prepared_prepares_again_while_gluetun_starts(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Its compose call died with it (in the container a SIGKILL takes the child too): the
    restarted supervisor, still waiting for gluetun, prepares again at once instead of idling
    until gluetun is healthy and recreating then (seen in the chaos run: ~8 s lost)."""
    first = build_harness(tmp_path, clock, FAST)
    first.connect()
    first.compose_worker.stopped = True  # killed before the compose call ran
    first.world.restart_gluetun()
    first.feed(first.world.event("start", "gluetun"))
    first.store.close()

    second = build_harness(tmp_path, clock, FAST, world=first.world)
    second.connect()  # gluetun still starting
    assert second.recreator.prepared == [DEPENDENTS]
    second.world.set_health("gluetun", "healthy")
    second.feed(second.world.event("health_status: healthy", "gluetun"))
    assert second.recreator.started == [DEPENDENTS] and second.recreator.calls == []
    report_healthy(second)
    (cascade,) = second.store.history()
    assert cascade.outcome is Outcome.HEALED and cascade.healed == DEPENDENTS


def test_a_reconnect_rereads_and_heals_what_changed_meanwhile(harness: Harness) -> None:
    harness.feed(StreamLost("the engine closed the event stream", 0.5))
    harness.world.restart_gluetun(healthy=True)  # while no event could be seen
    harness.feed(StreamConnected(1))
    assert harness.recreator.calls == [DEPENDENTS]
    report_healthy(harness)
    assert harness.store.history()[0].outcome is Outcome.HEALED


def test_a_probe_that_cannot_run_is_not_a_failure(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = harness.world
    working = world.engine.inspect_containers
    restart_gluetun(harness)

    def refuse(filters: object) -> list[object]:
        raise EngineUnreachableError("connection refused")

    monkeypatch.setattr(world.engine, "inspect_containers", refuse)
    for service in DEPENDENTS:
        world.set_health(service, "healthy")
        harness.feed(world.event("health_status: healthy", service))
    assert harness.store.history() == ()  # unverified, not failed
    in_flight = harness.store.load().in_flight
    assert in_flight is not None
    assert {item.status for item in in_flight.dependents} == {DependentStatus.VERIFY_WAIT}
    monkeypatch.setattr(world.engine, "inspect_containers", working)
    harness.advance(1)  # the verification retry
    assert harness.store.history()[0].outcome is Outcome.HEALED
    assert len(harness.recreator.started) == 1


def test_autoheal_restarts_an_unhealthy_container_after_its_grace(harness: Harness) -> None:
    world = harness.world
    unhealthy = world.set_health("sonarr", "unhealthy")
    harness.feed(world.event("health_status: unhealthy", "sonarr"))
    harness.advance(29)
    assert harness.restarter.restarted == []
    harness.advance(2)
    assert harness.restarter.restarted == [unhealthy.id]
    assert "autoheal" in harness.notifier.titles()
    restarts = read_restarts_record(restarts_record_path(harness.store_path)).record
    assert restarts is not None  # counted for the status pages
    assert restarts.counts == {(unhealthy.name, "unhealthy"): 1}


def test_autoheal_holds_back_while_gluetun_is_unhealthy_without_spinning(
    harness: Harness,
) -> None:
    world = harness.world
    world.set_health("gluetun", "unhealthy")
    harness.feed(world.event("health_status: unhealthy", "gluetun"))
    world.set_health("sonarr", "unhealthy")
    harness.feed(world.event("health_status: unhealthy", "sonarr"))
    harness.advance(40)
    assert harness.restarter.restarted == []
    wakeup = harness.daemon.next_wakeup()
    assert wakeup is None or wakeup > harness.clock.now()  # a due-but-locked restart waits


def test_a_failed_autoheal_restart_is_reported(harness: Harness) -> None:
    world = harness.world
    unhealthy = world.set_health("sonarr", "unhealthy")
    harness.restarter.failing = {unhealthy.id}
    harness.feed(world.event("health_status: unhealthy", "sonarr"))
    harness.advance(31)
    assert "autoheal restart failed" in harness.notifier.titles()
    assert not restarts_record_path(harness.store_path).exists()  # only restarts done count


def test_stranded_dependents_are_found_at_start(tmp_path: Path, clock: FakeClock) -> None:
    world = World(clock)
    world.restart_gluetun(healthy=True)  # happened while no supervisor ran
    harness = build_harness(tmp_path, clock, FAST, world=world)
    harness.connect()
    assert harness.recreator.calls == [DEPENDENTS]


def test_a_stop_saves_and_closes(harness: Harness) -> None:
    harness.feed(StopRequested("SIGTERM"))
    assert harness.daemon.stopping
    harness.daemon.shutdown()
    assert harness.notifier.closed


def test_a_failed_engine_read_is_retried(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(clock)
    world.restart_gluetun(healthy=True)
    harness = build_harness(tmp_path, clock, FAST, world=world)
    working = world.engine.inspect_containers

    def refuse(filters: object) -> list[object]:
        raise EngineUnreachableError("connection refused")

    monkeypatch.setattr(world.engine, "inspect_containers", refuse)
    harness.connect()  # the stream is back but the first read fails
    assert harness.recreator.calls == []
    monkeypatch.setattr(world.engine, "inspect_containers", working)
    harness.advance(1)
    assert harness.recreator.calls == [DEPENDENTS]


def test_once_ends_when_settled_and_saves(tmp_path: Path, clock: FakeClock) -> None:
    harness = build_harness(tmp_path, clock, FAST)
    harness.inbox.put(StreamConnected(0))
    harness.daemon.run(stop_when_settled=True)  # returns: nothing was stale
    assert harness.daemon.stopping
    assert harness.notifier.closed


def count_reads(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every container listing the daemon asks of the engine."""
    reads: list[object] = []
    engine = harness.world.engine
    working = engine.inspect_containers

    def counted(filters: Any) -> list[Any]:
        reads.append(filters)
        return working(filters)

    monkeypatch.setattr(engine, "inspect_containers", counted)
    return reads


def test_a_stream_resumed_after_an_idle_cut_is_not_followed_by_a_reread(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_reads(harness, monkeypatch)
    rereads = harness.daemon.engine_rereads
    for connects in range(2, 8):  # an idle hour behind HAProxy: a cut every 10 minutes
        harness.feed(StreamConnected(0, resumed=True, connects=connects))
    assert reads == [] and harness.daemon.engine_rereads == rereads
    assert harness.daemon.settled  # still connected: nothing was lost


def test_a_resumed_stream_the_daemon_did_not_see_connected_is_reread(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon takes ``resumed`` only as the continuation of a stream it saw open: after
    a StreamLost, or before any connect, the gap is unknown to it."""
    fresh = build_harness(tmp_path, clock)
    reads = count_reads(fresh, monkeypatch)
    fresh.feed(StreamConnected(0, resumed=True))
    assert reads and fresh.daemon.engine_rereads == 1
    fresh.feed(StreamLost("the event stream failed", 0.5), StreamConnected(1, resumed=True))
    assert fresh.daemon.engine_rereads == 2


def test_a_healthy_dependent_whose_event_never_came_is_verified_within_seconds(
    harness: Harness,
) -> None:
    """The safety net under the event-driven verification: a missed ``health_status`` (a
    flood, a stream cut) costs at most ``RECHECK_SECONDS``, not the whole verify deadline."""
    restart_gluetun(harness)
    for service in DEPENDENTS:
        harness.world.set_health(service, "healthy")  # no event reaches the daemon
    assert harness.store.history() == ()
    harness.advance(RECHECK_SECONDS)
    (cascade,) = harness.store.history()
    assert cascade.outcome is Outcome.HEALED and cascade.healed == DEPENDENTS
