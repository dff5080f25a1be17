"""The supervisor's ``wire`` job: when it runs (start after its delay, the timer after each
run, cascades, updates' holds ending, a linked app healthy again on its own), bounded (one
queued, triggers fold), what it notifies (only change: links made or repaired, links newly
broken) and logs (a broken link once), and its child's body with a fake ``wire``."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from runtime_support import DEPENDENTS, Harness, build_harness

from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.config.schema import Supervisor
from mediastack.links import run as links_run
from mediastack.links.endpoints import Vantage
from mediastack.links.link import LinkStatus, ServiceRunner
from mediastack.links.reconcile import Progress
from mediastack.links.report import LinkState, WireReport
from mediastack.links.run import API_APPS, WireOptions
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime import job_child, job_wiring
from mediastack.supervisor.runtime.job_child import Channel
from mediastack.supervisor.runtime.job_process import DaemonHandler
from mediastack.supervisor.runtime.jobs import SupervisorJobs
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import LogOnlyNotifier
from mediastack.supervisor.runtime.wire_notices import LinkRecord
from mediastack.supervisor.runtime.wire_runner import (
    START_DELAY,
    WIRED_SERVICES,
    WireRun,
    WireRunner,
    WireTrigger,
    parse_wire_run,
)
from mediastack.supervisor.runtime.workers import InlineWorker

INTERVAL = timedelta(minutes=5)
OK = LinkRecord("sonarr", "sonarr:client", "qBittorrent download client", "ok")
MADE = LinkRecord("sonarr", "sonarr:client", "qBittorrent download client", "made")
BROKEN = LinkRecord("recyclarr", "recyclarr:profiles", "TRaSH quality profiles", "broken",
                    "`recyclarr sync` in recyclarr exited 1: exec refused")
FAST = Supervisor(gluetun_healthy_timeout_seconds=5, dependent_attempts=3,
                  dependent_retry_seconds=1, autoheal_grace_seconds=10)


@dataclass
class FakeWiring:
    """A wire job answering ``answers`` in turn (then the last one again)."""

    answers: list[tuple[LinkRecord, ...]] = field(default_factory=lambda: [(OK,)])
    triggers: list[WireTrigger] = field(default_factory=list)
    crash: bool = False

    def run(self, trigger: WireTrigger) -> WireRun | None:
        self.triggers.append(trigger)
        if self.crash:
            raise RuntimeError("boom")
        links = self.answers[min(len(self.triggers), len(self.answers)) - 1]
        return WireRun(links, f"{len(links)} links")

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Sink:
    sent: list[Any] = field(default_factory=list)

    def put(self, notification: Any) -> bool:
        self.sent.append(notification)
        return True

    def close(self, timeout: float = 5.0) -> int:
        return 0


def runner_of(job: FakeWiring, clock: FakeClock, sink: Sink | None = None) -> WireRunner:
    return WireRunner(job, InlineWorker(), sink or Sink(), Inbox(), "home", clock, INTERVAL)


# -- the runner ------------------------------------------------------------------------------


def test_the_start_run_waits_its_delay_then_the_timer_follows_each_run(clock: FakeClock) -> None:
    job = FakeWiring()
    runner = runner_of(job, clock)
    runner.start()
    assert runner.next_wakeup() == clock.now() + START_DELAY
    runner.tick(clock.advance(START_DELAY - timedelta(seconds=1)))
    assert job.triggers == []
    runner.tick(clock.advance(1))
    assert job.triggers == [WireTrigger.START]
    assert runner.next_wakeup() == clock.now() + INTERVAL
    clock.advance(60)
    runner.trigger(WireTrigger.CASCADE_FINISHED)  # a run moves the timer on
    assert runner.next_wakeup() == clock.now() + INTERVAL
    runner.tick(clock.advance(INTERVAL))
    assert job.triggers == [WireTrigger.START, WireTrigger.CASCADE_FINISHED, WireTrigger.TIMER]


def test_triggers_fold_into_the_one_queued_run(clock: FakeClock) -> None:
    queued: list[object] = []

    class Parked:
        def submit(self, job: object) -> None:
            queued.append(job)

        def stop(self, timeout: float) -> bool:
            return True

    runner = WireRunner(FakeWiring(), Parked(), Sink(), Inbox(), "home", clock, INTERVAL)
    runner.start()
    for trigger in (WireTrigger.CASCADE_FINISHED, WireTrigger.APP_HEALTHY, WireTrigger.TIMER):
        runner.trigger(trigger)
    assert len(queued) == 1 and runner.next_wakeup() is None


def test_nothing_is_notified_while_every_link_stays_as_it_was(clock: FakeClock) -> None:
    sink = Sink()
    runner = runner_of(FakeWiring([(OK,), (OK,), (OK,)]), clock, sink)
    for _ in range(3):
        runner.trigger(WireTrigger.TIMER)
    assert sink.sent == []


def test_a_made_link_is_notified_once_as_rewired(clock: FakeClock) -> None:
    sink = Sink()
    runner = runner_of(FakeWiring([(OK,), (MADE,), (OK,)]), clock, sink)
    for _ in range(3):
        runner.trigger(WireTrigger.TIMER)
    (rewired,) = sink.sent
    assert rewired.title == "home: 1 app link(s) rewired"
    assert rewired.body == "rewired sonarr: qBittorrent download client (was missing)"


def test_a_broken_link_is_notified_and_logged_when_it_breaks_not_every_run(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    sink = Sink()
    runner = runner_of(FakeWiring([(OK, BROKEN), (OK, BROKEN), (OK, BROKEN)]), clock, sink)
    with caplog.at_level(logging.INFO, logger="mediastack.supervisor"):
        for _ in range(3):
            runner.trigger(WireTrigger.TIMER)
    (broken,) = sink.sent
    assert broken.title == "home: 1 app link(s) broken"
    assert "recyclarr TRaSH quality profiles: `recyclarr sync`" in broken.body
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"wire: recyclarr TRaSH quality profiles is broken: {BROKEN.detail}"]
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("wire (timer): 2 links") == 3  # each run's summary line


def test_a_link_broken_again_after_it_was_fine_is_notified_again(clock: FakeClock) -> None:
    sink = Sink()
    fine = LinkRecord(BROKEN.app, BROKEN.key, BROKEN.title, "ok")
    runner = runner_of(FakeWiring([(BROKEN,), (fine,), (BROKEN,)]), clock, sink)
    for _ in range(3):
        runner.trigger(WireTrigger.TIMER)
    assert [n.title for n in sink.sent] == ["home: 1 app link(s) broken"] * 2


def test_a_crashing_wire_is_notified_and_stays_scheduled(clock: FakeClock) -> None:
    sink = Sink()
    job = FakeWiring(crash=True)
    runner = runner_of(job, clock, sink)
    runner.trigger(WireTrigger.TIMER)
    assert [n.title for n in sink.sent] == ["home: wire crashed"]
    assert runner.next_wakeup() == clock.now() + INTERVAL


def test_a_result_is_read_back_and_a_crash_is_one() -> None:
    run = parse_wire_run({"links": [vars(BROKEN)], "summary": "1 links: 1 broken"})
    assert run == WireRun((BROKEN,), "1 links: 1 broken")
    with pytest.raises(Exception, match="boom"):
        parse_wire_run({"crashed": "RuntimeError('boom')"})
    with pytest.raises(ValueError, match="not a wire result"):
        parse_wire_run({"links": [{"app": "sonarr"}], "summary": ""})


# -- the daemon's triggers -------------------------------------------------------------------


def daemon_with_wire(tmp_path: Path, clock: FakeClock) -> tuple[Harness, FakeWiring]:
    job = FakeWiring()
    jobs = SupervisorJobs()
    harness = build_harness(tmp_path, clock, FAST, jobs=jobs)
    jobs.wire = WireRunner(job, InlineWorker(), harness.notifier, harness.inbox, "home", clock,
                           INTERVAL)
    jobs.wire.start()
    harness.connect()
    return harness, job


def healthy(harness: Harness, *services: str) -> None:
    for service in services:
        harness.world.set_health(service, "healthy")
        harness.feed(harness.world.event("health_status: healthy", service))


def test_a_cascade_wires_once_when_it_is_over_not_for_each_dependent(
    tmp_path: Path, clock: FakeClock
) -> None:
    harness, job = daemon_with_wire(tmp_path, clock)
    world = harness.world
    world.restart_gluetun()
    harness.feed(world.event("start", "gluetun"))
    harness.advance(1)
    world.set_health("gluetun", "healthy")
    harness.feed(world.event("health_status: healthy", "gluetun"))
    healthy(harness, *DEPENDENTS)
    assert job.triggers == [WireTrigger.CASCADE_FINISHED]


def test_a_linked_app_healthy_again_on_its_own_is_wired(tmp_path: Path, clock: FakeClock) -> None:
    harness, job = daemon_with_wire(tmp_path, clock)
    healthy(harness, "sonarr")  # e.g. `mediastack restore --only sonarr` started it again
    assert job.triggers == [WireTrigger.APP_HEALTHY]


def test_an_update_wires_when_its_hold_ends_not_before(tmp_path: Path, clock: FakeClock) -> None:
    harness, job = daemon_with_wire(tmp_path, clock)
    handler = DaemonHandler(harness.notifier, harness.inbox)
    handler.hold_started(("sonarr",), "update of home-vpn/sonarr")
    harness.daemon.process_waiting()
    healthy(harness, "sonarr")
    assert job.triggers == []
    handler.hold_ended(("sonarr",), "update of home-vpn/sonarr")
    harness.daemon.process_waiting()
    assert job.triggers == [WireTrigger.UPDATE_FINISHED]


def test_the_daemons_loop_runs_the_start_wire_after_its_delay(
    tmp_path: Path, clock: FakeClock
) -> None:
    harness, job = daemon_with_wire(tmp_path, clock)
    assert harness.daemon.next_wakeup() == clock.now() + START_DELAY
    harness.advance(START_DELAY.total_seconds())
    assert job.triggers == [WireTrigger.START]
    assert harness.daemon.next_wakeup() == clock.now() + INTERVAL


# -- config, and the child's side ------------------------------------------------------------


def loaded(text: str, tmp_path: Path) -> LoadedConfig:
    return LoadedConfig(config=parse_config(text), path=tmp_path / "mediastack.yaml")


def test_wiring_enabled_false_switches_the_job_off(tmp_path: Path, clock: FakeClock) -> None:
    on = job_wiring.build_jobs(loaded("name: home\n", tmp_path), Inbox(), LogOnlyNotifier(),
                               clock, {})
    off = job_wiring.build_jobs(loaded("name: home\nwiring: {enabled: false}\n", tmp_path),
                                Inbox(), LogOnlyNotifier(), clock, {})
    assert on.wire is not None and off.wire is None
    on.stop()


def test_the_apps_that_call_for_a_wire_are_those_the_links_write_to() -> None:
    assert frozenset({*API_APPS, "qbittorrent"}) == WIRED_SERVICES


def test_the_child_wires_from_the_supervisors_vantage_with_the_daemons_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Mapping[str, str], WireOptions, ServiceRunner | None]] = []

    def fake_wire(
        config: LoadedConfig,
        secrets: Mapping[str, str],
        options: WireOptions,
        runner: ServiceRunner | None = None,
        progress: Progress | None = None,
    ) -> WireReport:
        calls.append((secrets, options, runner))
        state = LinkState("sonarr", "sonarr:client", "qBittorrent download client",
                          LinkStatus.REPAIRED, "host was gluetun")
        return WireReport((state,), (), 4, options.dry_run)

    monkeypatch.setattr(links_run, "wire", fake_wire)
    config = loaded("name: home\nwiring: {app_wait_seconds: 7}\n", tmp_path)
    channel = Channel(io.StringIO(), io.StringIO())
    result = job_child.JOBS[job_child.JobName.WIRE](
        config, {"trigger": "timer", "secrets": {"SONARR_API_KEY": "s"}}, channel
    )
    ((secrets, options, runner),) = calls
    assert secrets == {"SONARR_API_KEY": "s"}
    assert options.vantage is Vantage.SUPERVISOR and options.host_files and not options.dry_run
    assert options.app_wait_seconds == 7
    assert runner is not None  # compose: the recyclarr sync, cross-seed's restart
    run = parse_wire_run(result)
    assert run.links == (LinkRecord("sonarr", "sonarr:client", "qBittorrent download client",
                                    "repaired", "host was gluetun"),)
    assert run.summary == "1 links: 1 repaired; sent 0 write(s)"
