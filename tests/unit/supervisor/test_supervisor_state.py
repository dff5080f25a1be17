"""The state file: it survives restarts and kills, so a cascade is finished but never doubled."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from supervisor_helpers import GLUETUN_ID, NEW_GLUETUN_ID

from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import (
    Action,
    CascadeFinished,
    FinishedCascade,
    Gluetun,
    Outcome,
    RecreateDependents,
    StartDependents,
    VerifyDependents,
)
from mediastack.supervisor.cascade import CascadeMachine, CascadeSettings, CascadeSnapshot
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import CascadeLimiter, LimiterState
from mediastack.supervisor.observations import (
    EngineState,
    GluetunHealthy,
    GluetunStarted,
    Observation,
    PrepareResult,
    RecreateResult,
    Verification,
    VerificationResult,
)
from mediastack.supervisor.progress import DependentStatus
from mediastack.supervisor.state import StateError, SupervisorStore

DEPENDENTS = ("qbittorrent", "radarr", "sonarr")
ALL_STALE = dict.fromkeys(DEPENDENTS, "namespace differs")


class WiredSupervisor:
    """The decision core wired to a real state file, saving before acting, like the runtime."""

    def __init__(self, path: Path) -> None:
        self.store = SupervisorStore(path)
        snapshot = self.store.load()
        limiter = CascadeLimiter.from_settings(Supervisor(), snapshot.limiter)
        self.machine = CascadeMachine.from_snapshot(CascadeSettings(), limiter, snapshot)

    def feed(self, observation: Observation, clock: FakeClock) -> list[Action]:
        actions = self.machine.handle(observation, clock.now())
        finished = [action.summary for action in actions if isinstance(action, CascadeFinished)]
        self.store.save(self.machine.snapshot(), finished)
        return actions


def recreated(actions: list[Action]) -> list[str]:
    """Return the services recreated in one step or (prepared before) started."""
    return [
        name
        for action in actions
        if isinstance(action, RecreateDependents | StartDependents)
        for name in action.services
    ]


def verified(actions: list[Action]) -> list[str]:
    return [
        name
        for action in actions
        if isinstance(action, VerifyDependents)
        for name in action.services
    ]


def start_cascade(supervisor: WiredSupervisor, clock: FakeClock) -> Gluetun:
    """Gluetun restarts, its dependents are prepared, it turns healthy; sonarr is healed,
    radarr is started and being verified, qbittorrent's start was issued: then the supervisor
    is killed."""
    gluetun = Gluetun(GLUETUN_ID, clock.now())
    supervisor.feed(GluetunStarted(gluetun, ALL_STALE), clock)
    for service in DEPENDENTS:
        supervisor.feed(PrepareResult(gluetun, service, True), clock)
    clock.advance(8)
    assert recreated(supervisor.feed(GluetunHealthy(gluetun, ALL_STALE), clock)) == list(DEPENDENTS)
    for service in ("radarr", "sonarr"):
        supervisor.feed(RecreateResult(gluetun, service, True), clock)
    supervisor.feed(VerificationResult(gluetun, "sonarr", Verification.HEALTHY), clock)
    supervisor.store.close()  # killed: nothing more is saved
    return gluetun


def test_killed_mid_cascade_reopening_finishes_without_recreating_a_done_dependent(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "state" / "supervisor.db"
    gluetun = start_cascade(WiredSupervisor(path), clock)
    clock.advance(30)

    again = WiredSupervisor(path)
    assert again.machine.locked_services() == frozenset({"qbittorrent", "radarr"})
    # The engine, re-read: qbittorrent's recreate never ran; radarr's did; sonarr is even
    # reported stale by a flaky check, but it is done for this gluetun.
    staleness = {"qbittorrent": "namespace differs", "radarr": None, "sonarr": "flaky"}
    actions = again.feed(EngineState(gluetun, True, staleness), clock)
    assert recreated(actions) == ["qbittorrent"]
    assert verified(actions) == ["radarr"]

    again.feed(RecreateResult(gluetun, "qbittorrent", True), clock)
    for service in ("qbittorrent", "radarr"):
        actions = again.feed(VerificationResult(gluetun, service, Verification.HEALTHY), clock)
    summary = next(action.summary for action in actions if isinstance(action, CascadeFinished))
    assert summary.outcome is Outcome.HEALED and summary.healed == DEPENDENTS
    assert again.store.history()[0] == summary
    assert again.store.load().in_flight is None


def test_killed_after_a_recreate_ran_the_dependent_is_only_verified(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "supervisor.db"
    gluetun = start_cascade(WiredSupervisor(path), clock)
    again = WiredSupervisor(path)
    actions = again.feed(EngineState(gluetun, True, dict.fromkeys(DEPENDENTS)), clock)
    assert recreated(actions) == []
    assert verified(actions) == ["qbittorrent", "radarr"]


def test_the_snapshot_round_trips_through_the_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "supervisor.db"
    supervisor = WiredSupervisor(path)
    gluetun = Gluetun(GLUETUN_ID, clock.now())
    supervisor.feed(GluetunStarted(gluetun, ALL_STALE), clock)
    supervisor.feed(PrepareResult(gluetun, "qbittorrent", True), clock)
    supervisor.feed(PrepareResult(gluetun, "sonarr", False, "no such image"), clock)
    supervisor.feed(GluetunHealthy(gluetun, ALL_STALE), clock)
    supervisor.feed(RecreateResult(gluetun, "sonarr", False, "boom"), clock)
    expected = supervisor.machine.snapshot()
    supervisor.store.close()
    with SupervisorStore(path) as reopened:
        assert reopened.load() == expected
    assert expected.in_flight is not None and expected.limiter.cascade_times
    statuses = {item.status for item in expected.in_flight.dependents}
    assert statuses == {
        DependentStatus.PREPARING,  # radarr: compose still at work when gluetun turned healthy
        DependentStatus.RECREATING,  # qbittorrent: started
        DependentStatus.RETRY_WAIT,  # sonarr: could not be prepared, then its recreate failed
    }


def test_a_new_file_holds_an_empty_state(tmp_path: Path) -> None:
    with SupervisorStore(tmp_path / "new.db") as store:
        assert store.load() == CascadeSnapshot(LimiterState(), None, None)
        assert store.history() == ()
        assert store.known_gluetun_ids() == ()
        mode = store._connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_the_pause_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "supervisor.db"
    until = clock.now() + timedelta(hours=1)
    limiter = LimiterState(tuple(clock.now() - timedelta(minutes=m) for m in range(5)), until)
    with SupervisorStore(path) as store:
        store.save(CascadeSnapshot(limiter, None, None))
    with SupervisorStore(path) as store:
        loaded = store.load().limiter
    assert loaded.pause_until == until
    assert sorted(loaded.cascade_times) == sorted(limiter.cascade_times)


_KILL_MID_WRITE = """
import os, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("DELETE FROM in_flight_dependents")
connection.execute("DELETE FROM in_flight")
os._exit(9)
"""


def test_a_process_killed_in_the_middle_of_a_write_leaves_the_previous_state(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "supervisor.db"
    supervisor = WiredSupervisor(path)
    gluetun = Gluetun(GLUETUN_ID, clock.now())
    supervisor.feed(GluetunHealthy(gluetun, ALL_STALE), clock)
    before = supervisor.machine.snapshot()
    supervisor.store.close()
    subprocess.run([sys.executable, "-c", _KILL_MID_WRITE, str(path)], check=False)
    with SupervisorStore(path) as store:
        assert store.load() == before


def test_a_failed_save_changes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "supervisor.db"
    with SupervisorStore(path) as store:
        before = store.load()
        gluetun = Gluetun(GLUETUN_ID, clock.now())
        unserialisable = FinishedCascade(
            gluetun,
            clock.now(),
            clock.now(),
            Outcome.HEALED,
            (object(),),  # type: ignore[arg-type]
            (),
        )
        snapshot = CascadeSnapshot(LimiterState((clock.now(),)), None, gluetun)
        with pytest.raises(TypeError):
            store.save(snapshot, [unserialisable])
        assert store.load() == before


def test_the_history_lists_the_last_cascades_with_their_durations(
    tmp_path: Path, clock: FakeClock
) -> None:
    with SupervisorStore(tmp_path / "supervisor.db") as store:
        for seconds, outcome in ((12, Outcome.HEALED), (300, Outcome.GLUETUN_TIMEOUT)):
            start = clock.now()
            clock.advance(seconds)
            summary = FinishedCascade(
                Gluetun(GLUETUN_ID, start), start, clock.now(), outcome, ("sonarr",), ()
            )
            store.save(CascadeSnapshot(LimiterState(), None, None), [summary])
        history = store.history()
    assert [item.outcome for item in history] == [Outcome.GLUETUN_TIMEOUT, Outcome.HEALED]
    assert [item.duration for item in history] == [timedelta(seconds=300), timedelta(seconds=12)]


def test_gluetun_ids_are_remembered_so_stranded_dependents_are_found(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "supervisor.db"
    with SupervisorStore(path) as store:
        store.save(CascadeSnapshot(LimiterState(), None, Gluetun(GLUETUN_ID, clock.now())))
        clock.advance(60)
        store.remember_gluetun(NEW_GLUETUN_ID, clock.now())
    with SupervisorStore(path) as store:
        assert store.known_gluetun_ids() == (NEW_GLUETUN_ID, GLUETUN_ID)
        assert store.load().gluetun == Gluetun(GLUETUN_ID, clock.now() - timedelta(seconds=60))


def test_a_resume_request_is_taken_once(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "supervisor.db"
    with SupervisorStore(path) as cli:
        cli.request_resume(clock.now())
    with SupervisorStore(path) as daemon:
        assert daemon.take_resume_request() == clock.now()
        assert daemon.take_resume_request() is None


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "supervisor.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="not a usable state file"):
        SupervisorStore(garbage)


def test_a_state_file_from_a_newer_mediastack_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "supervisor.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version=99")
    connection.close()
    with pytest.raises(StateError, match="newer"):
        SupervisorStore(path)
