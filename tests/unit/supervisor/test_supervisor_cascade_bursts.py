"""One gluetun start, one cascade: bursts of restarts, slow VPNs, prepared containers, dependents
stopped by their user, and the wording of what the user is told (issue 11, items 2, 5, 14, 15)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TypeVar

from supervisor_helpers import GLUETUN_ID

from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import (
    Action,
    CascadeFinished,
    Gluetun,
    Notify,
    Outcome,
    PrepareDependents,
    RecreateDependents,
    Stage,
    StartDependents,
    VerifyDependents,
)
from mediastack.supervisor.cascade import CascadeMachine, CascadeSettings, Mode
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import CascadeLimiter
from mediastack.supervisor.observations import (
    PREPARED,
    STOPPED_BY_USER,
    EngineState,
    GluetunHealthy,
    GluetunStarted,
    PrepareResult,
    RecreateResult,
    Tick,
    Verification,
    VerificationResult,
)

DEPENDENTS = ("qbittorrent", "radarr", "sonarr")
ALL_STALE: dict[str, str | None] = dict.fromkeys(DEPENDENTS, "namespace differs")
ALL_PREPARED: dict[str, str | None] = dict.fromkeys(DEPENDENTS, PREPARED)

ActionType = TypeVar("ActionType")


def machine(settings: Supervisor | None = None) -> CascadeMachine:
    config = settings or Supervisor()
    return CascadeMachine(CascadeSettings.from_config(config), CascadeLimiter.from_settings(config))


def only(actions: Iterable[Action], kind: type[ActionType]) -> list[ActionType]:
    return [action for action in actions if isinstance(action, kind)]


def restarted(clock: FakeClock) -> Gluetun:
    clock.advance(1)
    return Gluetun(GLUETUN_ID, clock.now())


def counted(cascade: CascadeMachine, clock: FakeClock) -> int:
    return len(cascade.snapshot().limiter.cascade_times)


def test_three_restarts_in_a_burst_make_each_dependent_once_and_count_one_cascade(
    clock: FakeClock,
) -> None:
    cascade = machine()
    first = restarted(clock)
    actions = cascade.handle(GluetunStarted(first, ALL_STALE), clock.now())
    for service in DEPENDENTS:  # compose prepared them, joined to gluetun's container id
        actions += cascade.handle(PrepareResult(first, service, True), clock.now())
    for _ in range(2):
        again = restarted(clock)
        actions += cascade.handle(GluetunStarted(again, ALL_PREPARED), clock.now())
    prepared = [
        service for action in only(actions, PrepareDependents) for service in action.services
    ]
    assert sorted(prepared) == sorted(DEPENDENTS)  # 3 containers made, not 9
    assert not only(actions, CascadeFinished)  # no "superseded" cascade in the history
    assert counted(cascade, clock) == 1

    healthy = cascade.handle(GluetunHealthy(again, ALL_PREPARED), clock.now())
    assert healthy == [StartDependents(again, DEPENDENTS)]  # started, not made again


def test_a_preparation_finishing_after_the_next_restart_still_counts(clock: FakeClock) -> None:
    cascade = machine()
    first = restarted(clock)
    cascade.handle(GluetunStarted(first, ALL_STALE), clock.now())
    again = restarted(clock)  # compose is still preparing: the engine shows the old ones
    burst = cascade.handle(GluetunStarted(again, ALL_STALE), clock.now())
    assert not only(burst, PrepareDependents)  # already being prepared: not asked twice
    for service in DEPENDENTS:  # the result names the earlier start of the same container
        cascade.handle(PrepareResult(first, service, True), clock.now())
    healthy = cascade.handle(GluetunHealthy(again, ALL_PREPARED), clock.now())
    assert healthy == [StartDependents(again, DEPENDENTS)]


def test_a_slow_vpn_that_times_out_then_turns_healthy_counts_once_and_starts_what_was_prepared(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    for service in DEPENDENTS:
        cascade.handle(PrepareResult(gluetun, service, True), clock.now())
    clock.advance(timedelta(seconds=301))
    timed_out = cascade.handle(Tick(), clock.now())
    assert only(timed_out, CascadeFinished)[0].summary.outcome is Outcome.GLUETUN_TIMEOUT

    late = cascade.handle(GluetunHealthy(gluetun, ALL_PREPARED), clock.now())
    assert only(late, StartDependents) == [StartDependents(gluetun, DEPENDENTS)]
    assert not only(late, RecreateDependents)  # no full compose recreate of what waits created
    assert counted(cascade, clock) == 1


def test_a_slow_vpn_does_not_reach_the_loop_pause(clock: FakeClock) -> None:
    cascade = machine(Supervisor(max_cascades_per_hour=2))
    for _ in range(3):  # three slow starts of gluetun, each healed in the end
        gluetun = restarted(clock)
        cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
        clock.advance(timedelta(seconds=301))
        cascade.handle(Tick(), clock.now())
        late = cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
        assert not [n for n in only(late, Notify) if n.stage is Stage.RATE_LIMITED]
        for service in DEPENDENTS:
            cascade.handle(RecreateResult(gluetun, service, True), clock.now())
            outcome = Verification.HEALTHY
            cascade.handle(VerificationResult(gluetun, service, outcome), clock.now())
        clock.advance(timedelta(minutes=25))  # two of them within any hour
    assert cascade.status(clock.now()).mode is Mode.WATCHING


def test_a_gluetun_healthy_and_restarting_again_is_a_new_cascade(clock: FakeClock) -> None:
    cascade = machine(Supervisor(max_cascades_per_hour=1))
    first = restarted(clock)
    cascade.handle(GluetunStarted(first, ALL_STALE), clock.now())
    cascade.handle(GluetunHealthy(first, ALL_STALE), clock.now())
    second = restarted(clock)  # it was healthy: a restart loop, counted again
    refused = cascade.handle(GluetunStarted(second, ALL_STALE), clock.now())
    assert [n.stage for n in only(refused, Notify)] == [Stage.RATE_LIMITED]


def test_prepared_containers_found_at_start_are_started_not_made_again(clock: FakeClock) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    staleness: dict[str, str | None] = {"qbittorrent": PREPARED, "radarr": "namespace differs"}
    actions = cascade.handle(EngineState(gluetun, True, staleness), clock.now())
    assert only(actions, StartDependents) == [StartDependents(gluetun, ("qbittorrent",))]
    assert only(actions, RecreateDependents) == [RecreateDependents(gluetun, ("radarr",))]


def test_a_dependent_stopped_by_its_user_is_left_alone_and_not_counted(clock: FakeClock) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    staleness: dict[str, str | None] = {"qbittorrent": None, "unpackerr": STOPPED_BY_USER}
    assert cascade.handle(GluetunStarted(gluetun, staleness), clock.now()) == []
    assert cascade.handle(EngineState(gluetun, True, staleness), clock.now()) == []
    assert counted(cascade, clock) == 0

    mixed = {**ALL_STALE, "unpackerr": STOPPED_BY_USER}
    actions = cascade.handle(EngineState(restarted(clock), True, mixed), clock.now())
    recreated = only(actions, RecreateDependents)[0].services
    assert "unpackerr" not in recreated and set(recreated) == set(DEPENDENTS)


def test_an_unhealthy_dependent_inside_the_namespace_is_not_told_it_may_be_outside(
    clock: FakeClock,
) -> None:
    cascade = machine(Supervisor(dependent_attempts=1))
    gluetun = restarted(clock)
    cascade.handle(EngineState(gluetun, True, {"sonarr": "namespace differs"}), clock.now())
    cascade.handle(RecreateResult(gluetun, "sonarr", True), clock.now())
    failed = VerificationResult(gluetun, "sonarr", Verification.FAILED, "its health is unhealthy")
    actions = cascade.handle(failed, clock.now())
    message = next(n for n in only(actions, Notify) if n.stage is Stage.DEPENDENT_FAILED).message
    assert "runs in gluetun's namespace but is not healthy" in message
    assert "outside gluetun's namespace" not in message


def test_the_summary_times_the_healed_ones_by_the_last_of_them(clock: FakeClock) -> None:
    cascade = machine(Supervisor(dependent_attempts=1))
    gluetun = restarted(clock)
    stale: dict[str, str | None] = {"radarr": "namespace differs", "sonarr": "namespace differs"}
    cascade.handle(EngineState(gluetun, True, stale), clock.now())
    for service in stale:
        cascade.handle(RecreateResult(gluetun, service, True), clock.now())
    clock.advance(7)
    healthy = VerificationResult(gluetun, "radarr", Verification.HEALTHY)
    cascade.handle(healthy, clock.now())
    clock.advance(116)  # sonarr's verification runs until its deadline, then fails
    failed = VerificationResult(gluetun, "sonarr", Verification.FAILED, "its health is starting")
    actions = cascade.handle(failed, clock.now())
    summary = next(n for n in only(actions, Notify) if n.stage is Stage.CASCADE_INCOMPLETE)
    assert "1 dependents healed into gluetun" in summary.message
    assert " in 7.0 s " in summary.message
    assert "given up after 123.0 s" in summary.message
    assert not only(actions, VerifyDependents)
