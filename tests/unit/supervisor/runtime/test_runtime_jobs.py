"""The daemon's background jobs over the fake world with a fake clock and inline workers:
port sync's trigger points (start, cascade finished, timer), the update and backup schedules
waking the loop, a job's exception never stopping it, and an update's hold keeping the cascade
and autoheal off the services it recreates. Each run's child process: test_runtime_job_process
and test_runtime_job_child."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from runtime_support import DEPENDENTS, Harness, build_harness

from mediastack.adapters.engine import ContainerInfo
from mediastack.config.schema import Supervisor
from mediastack.notify import Notification
from mediastack.stack.lease import Lease
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.backup_runner import BackupOutcome, BackupRunner, BackupStatus
from mediastack.supervisor.runtime.hold import LeaseWatch
from mediastack.supervisor.runtime.job_process import DaemonHandler
from mediastack.supervisor.runtime.jobs import SupervisorJobs
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.portsync_runner import PortSyncRunner, SyncTrigger
from mediastack.supervisor.runtime.timers import CronTimer
from mediastack.supervisor.runtime.update_runner import (
    UpdateHandling,
    UpdateRunner,
    UpdateSummary,
)
from mediastack.supervisor.runtime.workers import InlineWorker
from mediastack.updates import Source, UpdateQueue, UpdateRequest

FAST = Supervisor(
    gluetun_healthy_timeout_seconds=5,
    dependent_attempts=3,
    dependent_retry_seconds=1,
    autoheal_grace_seconds=10,
)
INTERVAL = timedelta(minutes=15)


@dataclass
class FakePortSync:
    """A port sync that records its triggers; due ``INTERVAL`` after each run."""

    clock: FakeClock
    triggers: list[SyncTrigger] = field(default_factory=list)
    crash: bool = False
    interrupted: bool = False
    closed: bool = False
    last: datetime | None = None

    def run(self, trigger: SyncTrigger) -> Notification | None:
        self.triggers.append(trigger)
        self.last = self.clock.now()
        if self.crash:
            raise RuntimeError("boom")
        return Notification("port changed", "51413") if trigger is SyncTrigger.START else None

    def next_due(self) -> datetime | None:
        return None if self.last is None else self.last + INTERVAL

    def interrupt(self) -> None:
        self.interrupted = True

    def close(self) -> None:
        self.closed = True


def hourly(after: datetime) -> datetime:
    """The next full hour strictly after ``after`` (a stand-in for a cron schedule)."""
    return after.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


@dataclass
class Jobs:
    harness: Harness
    portsync: FakePortSync
    queue: UpdateQueue
    backups: list[str]


WRITTEN = BackupOutcome(BackupStatus.WRITTEN, "home-1.tar.zst: 2.0 MB, 10 files in 3.5 s")


def build_jobs_harness(
    tmp_path: Path,
    clock: FakeClock,
    backup_outcome: BackupOutcome | Exception = WRITTEN,
    leases: LeaseWatch | None = None,
) -> Jobs:
    portsync = FakePortSync(clock)
    queue = UpdateQueue()
    backups: list[str] = []

    def backup() -> BackupOutcome:
        backups.append(clock.now().isoformat())
        if isinstance(backup_outcome, Exception):
            raise backup_outcome
        return backup_outcome

    jobs = SupervisorJobs()
    harness = build_harness(tmp_path, clock, FAST, jobs=jobs, leases=leases)
    # Built after the harness so they share its inbox and notifier; started below.
    jobs.portsync = PortSyncRunner(
        portsync, InlineWorker(), harness.notifier, harness.inbox, "home"
    )
    jobs.updates = UpdateRunner(
        queue,
        _no_updater,
        harness.notifier,
        "home",
        timer=CronTimer("updates", hourly, clock.now()),
    )
    jobs.backups = BackupRunner(
        backup,
        CronTimer("backups", hourly, clock.now()),
        InlineWorker(),
        harness.notifier,
        harness.inbox,
        "home",
    )
    jobs.portsync.trigger(SyncTrigger.START)  # what daemon.start does once the jobs exist
    harness.daemon.process_waiting()
    harness.connect()
    return Jobs(harness, portsync, queue, backups)


def _no_updater() -> UpdateHandling:
    raise AssertionError("not called in these tests")


def restart_gluetun(harness: Harness) -> None:
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    harness.advance(1)
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))


def heal_dependents(harness: Harness) -> None:
    for service in DEPENDENTS:
        harness.world.set_health(service, "healthy")
        harness.feed(harness.world.event("health_status: healthy", service))


# -- port sync ------------------------------------------------------------------------------


def test_port_sync_runs_at_start_and_after_a_cascade(tmp_path: Path, clock: FakeClock) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    assert jobs.portsync.triggers == [SyncTrigger.START]
    assert jobs.harness.notifier.titles() == ["port changed"]

    restart_gluetun(jobs.harness)
    assert jobs.portsync.triggers == [SyncTrigger.START]  # not before the cascade is over
    heal_dependents(jobs.harness)

    assert jobs.portsync.triggers == [SyncTrigger.START, SyncTrigger.CASCADE_FINISHED]


def test_port_sync_safety_timer_wakes_the_loop(tmp_path: Path, clock: FakeClock) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    started = clock.now()
    assert jobs.harness.daemon.next_wakeup() == started + INTERVAL
    jobs.harness.advance(INTERVAL.total_seconds() - 1)
    assert jobs.portsync.triggers == [SyncTrigger.START]
    jobs.harness.advance(1)
    assert jobs.portsync.triggers == [SyncTrigger.START, SyncTrigger.TIMER]
    assert jobs.harness.daemon.next_wakeup() == clock.now() + INTERVAL


def test_triggers_fold_into_the_queued_run(clock: FakeClock) -> None:
    queued: list[object] = []

    class Parked:
        def submit(self, job: object) -> None:
            queued.append(job)

        def stop(self, timeout: float) -> bool:
            return True

    portsync = FakePortSync(clock)
    runner = PortSyncRunner(portsync, Parked(), RecordingSink(), Inbox(), "home")
    runner.trigger(SyncTrigger.START)
    runner.trigger(SyncTrigger.CASCADE_FINISHED)
    runner.trigger(SyncTrigger.TIMER)
    assert len(queued) == 1 and runner.next_wakeup() is None


def test_a_crashing_port_sync_is_notified_and_the_loop_goes_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    jobs.portsync.crash = True
    restart_gluetun(jobs.harness)
    heal_dependents(jobs.harness)
    assert "port sync crashed" in jobs.harness.notifier.titles()
    jobs.harness.advance(INTERVAL.total_seconds())
    assert jobs.portsync.triggers[-1] is SyncTrigger.TIMER  # still scheduled


# -- schedules ------------------------------------------------------------------------------


def test_the_update_schedule_queues_a_request_and_makes_no_engine_call(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    engine_calls: list[object] = []
    original = jobs.harness.world.engine.inspect_containers

    def counted(filters: Any) -> list[ContainerInfo]:
        engine_calls.append(filters)
        return original(filters)

    monkeypatch.setattr(jobs.harness.world.engine, "inspect_containers", counted)
    next_hour = hourly(clock.now())
    wakeups = []
    while clock.now() < next_hour:  # the idle loop: sleep until each wakeup, tick
        wakeup = jobs.harness.daemon.next_wakeup()
        assert wakeup is not None
        wakeups.append(wakeup.strftime("%H:%M"))
        jobs.harness.advance((wakeup - clock.now()).total_seconds())

    assert wakeups == ["12:15", "12:30", "12:45", "13:00"]  # port sync timer, then the hour
    assert [r.source for r in jobs.queue.pending()] == [Source.SCHEDULE]
    assert engine_calls == []


def test_a_scheduled_backup_is_notified_with_its_summary(tmp_path: Path, clock: FakeClock) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    jobs.harness.advance((hourly(clock.now()) - clock.now()).total_seconds())
    assert jobs.backups == [clock.now().isoformat()]
    written = jobs.harness.notifier.sent[-1]
    assert written.title == "home: backup written"
    assert "2.0 MB" in written.body and "3.5 s" in written.body


@pytest.mark.parametrize(
    ("outcome", "title"),
    [
        (BackupOutcome(BackupStatus.FAILED, "disk full", "free space"), "home: backup failed"),
        (BackupOutcome(BackupStatus.SKIPPED, "another backup runs"), "home: backup skipped"),
        (RuntimeError("bug"), "home: the scheduled backup crashed"),
    ],
)
def test_a_failing_backup_is_notified_and_the_loop_goes_on(
    tmp_path: Path, clock: FakeClock, outcome: BackupOutcome | Exception, title: str
) -> None:
    jobs = build_jobs_harness(tmp_path, clock, backup_outcome=outcome)
    jobs.harness.advance((hourly(clock.now()) - clock.now()).total_seconds())
    assert jobs.harness.notifier.sent[-1].title == title
    jobs.harness.advance(3600)
    assert len(jobs.backups) == 2  # the next one still runs


def test_a_failing_update_is_notified_and_the_worker_goes_on(clock: FakeClock) -> None:
    sink = RecordingSink()
    calls: list[UpdateRequest] = []

    class Failing:
        def handle(self, request: UpdateRequest) -> UpdateSummary:
            calls.append(request)
            raise RuntimeError("bug")

    runner = UpdateRunner(UpdateQueue(), Failing, sink, "home")
    runner.queue.put(UpdateRequest(Source.WEBHOOK, frozenset({"sonarr"})))
    assert runner.handle_waiting() == 1
    runner.queue.put(UpdateRequest(Source.SCHEDULE))
    assert runner.handle_waiting() == 1
    assert len(calls) == 2 and sink.sent[0].title == "home: update (webhook) crashed"


# -- holds ----------------------------------------------------------------------------------


@contextmanager
def update_hold(harness: Harness, services: tuple[str, ...], reason: str) -> Iterator[None]:
    """Hold ``services`` as an update child does, through the daemon's handler."""
    handler = DaemonHandler(harness.notifier, harness.inbox)
    handler.hold_started(services, reason)
    try:
        yield
    finally:
        handler.hold_ended(services, reason)


def test_an_update_hold_keeps_the_cascade_off_until_it_ends(
    tmp_path: Path, clock: FakeClock
) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    harness = jobs.harness
    with update_hold(harness, ("gluetun", *DEPENDENTS), "update of home-vpn/gluetun"):
        harness.daemon.process_waiting()
        restart_gluetun(harness)
        assert harness.recreator.calls == []
    harness.daemon.process_waiting()  # the hold ended: a fresh engine state, then the cascade

    assert harness.recreator.calls == [DEPENDENTS]
    assert SyncTrigger.GLUETUN_RESTARTED in jobs.portsync.triggers


def test_autoheal_skips_held_services(tmp_path: Path, clock: FakeClock) -> None:
    jobs = build_jobs_harness(tmp_path, clock)
    harness = jobs.harness
    with update_hold(harness, ("sonarr",), "update of home-vpn/sonarr"):
        harness.daemon.process_waiting()
        harness.world.set_health("sonarr", "unhealthy")
        harness.feed(harness.world.event("health_status: unhealthy", "sonarr"))
        harness.advance(60)
        assert harness.restarter.restarted == []
    harness.daemon.process_waiting()
    harness.advance(60)
    assert harness.restarter.restarted == [harness.world.container("sonarr").id]


def test_a_host_update_lease_defers_the_cascade(tmp_path: Path, clock: FakeClock) -> None:
    holds = [Lease(frozenset(("gluetun", *DEPENDENTS)), "mediastack update", 0.0)]
    watch = LeaseWatch(tmp_path / "leases", lambda path: list(holds))
    jobs = build_jobs_harness(tmp_path, clock, leases=watch)
    harness = jobs.harness
    restart_gluetun(harness)
    harness.advance(10)
    assert harness.recreator.calls == []
    holds.clear()  # the host's update is over
    harness.advance(5)
    assert harness.recreator.calls == [DEPENDENTS]


@dataclass
class RecordingSink:
    sent: list[Notification] = field(default_factory=list)

    def put(self, notification: Notification) -> bool:
        self.sent.append(notification)
        return True

    def close(self, timeout: float = 5.0) -> int:
        return 0
