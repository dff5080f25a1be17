"""The VPN cascade: what a user sees when gluetun restarts, driven by a fake clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from supervisor_helpers import GLUETUN_ID, NEW_GLUETUN_ID, incarnation

from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import (
    Action,
    CascadeFinished,
    GiveUp,
    Gluetun,
    Notify,
    Outcome,
    Pause,
    PrepareDependents,
    Priority,
    RecreateDependents,
    Reread,
    RestartContainer,
    RetryDependent,
    Stage,
    StartDependents,
    VerifyDependents,
    WaitForGluetun,
)
from mediastack.supervisor.cascade import CascadeMachine, CascadeSettings, Mode
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import CascadeLimiter
from mediastack.supervisor.observations import (
    EngineState,
    GluetunHealthy,
    GluetunStarted,
    PrepareResult,
    RecreateResult,
    Tick,
    Verification,
    VerificationResult,
)

DEPENDENTS = ("bazarr", "qbittorrent", "radarr", "sonarr")
ALL_STALE = {service: "started before gluetun's current start" for service in DEPENDENTS}
NONE_STALE: dict[str, str | None] = dict.fromkeys(DEPENDENTS)
SECOND = timedelta(seconds=1)

ActionType = TypeVar("ActionType")


def machine(settings: Supervisor | None = None) -> CascadeMachine:
    config = settings or Supervisor()
    limiter = CascadeLimiter.from_settings(config)
    return CascadeMachine(CascadeSettings.from_config(config), limiter)


def only(actions: Iterable[Action], kind: type[ActionType]) -> list[ActionType]:
    return [action for action in actions if isinstance(action, kind)]


def restarted(clock: FakeClock) -> Gluetun:
    """Return the incarnation of a gluetun restarted in place at the clock's now."""
    return Gluetun(GLUETUN_ID, clock.now())


def prepared(
    cascade: CascadeMachine, clock: FakeClock, gluetun: Gluetun, *services: str
) -> list[Action]:
    """Report a successful preparation of each of ``services`` (default: every dependent)."""
    actions: list[Action] = []
    for service in services or DEPENDENTS:
        actions += cascade.handle(PrepareResult(gluetun, service, True), clock.now())
    return actions


def start(cascade: CascadeMachine, clock: FakeClock, gluetun: Gluetun) -> list[Action]:
    """Gluetun restarts, its dependents are prepared while it starts; return the actions."""
    actions = cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    return actions + prepared(cascade, clock, gluetun)


def heal(cascade: CascadeMachine, clock: FakeClock, gluetun: Gluetun) -> list[Action]:
    """Run a whole successful cascade for ``gluetun``; return every action, in order."""
    actions = start(cascade, clock, gluetun)
    clock.advance(8)
    actions += cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
    for service in DEPENDENTS:
        actions += cascade.handle(RecreateResult(gluetun, service, True), clock.now())
    clock.advance(4)
    for service in DEPENDENTS:
        outcome = Verification.HEALTHY
        actions += cascade.handle(VerificationResult(gluetun, service, outcome), clock.now())
    return actions


def test_gluetun_restarted_in_place_gets_its_dependents_prepared_then_started_at_once(
    clock: FakeClock,
) -> None:
    cascade = machine()
    assert (
        cascade.handle(EngineState(incarnation(clock, ago=600), True, NONE_STALE), clock.now())
        == []
    )
    clock.advance(5)
    gluetun = restarted(clock)

    detected = cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    assert "restarted in place" in only(detected, Notify)[0].message
    assert "preparing their new containers while waiting up to 300.0 s" in (
        only(detected, Notify)[0].message
    )
    assert only(detected, WaitForGluetun) == [WaitForGluetun(gluetun, clock.now() + 300 * SECOND)]
    assert only(detected, PrepareDependents) == [PrepareDependents(gluetun, DEPENDENTS)]
    assert not only(detected, RecreateDependents) and not only(detected, StartDependents)
    assert cascade.locked_services() == frozenset(DEPENDENTS)
    assert cascade.status(clock.now()).mode is Mode.CASCADING
    assert prepared(cascade, clock, gluetun) == []  # nothing starts before gluetun is healthy

    clock.advance(8)
    start_now = cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
    assert start_now == [StartDependents(gluetun, DEPENDENTS)]


def test_gluetun_healthy_before_compose_has_prepared_starts_each_as_it_is_ready(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    clock.advance(1)
    # compose is still removing the old containers: the engine lists two as fine, two not at all
    midway = {"bazarr": None, "qbittorrent": None}
    assert cascade.handle(GluetunHealthy(gluetun, midway), clock.now()) == []
    assert cascade.locked_services() == frozenset(DEPENDENTS)
    ready = PrepareResult(gluetun, "sonarr", True)
    assert cascade.handle(ready, clock.now()) == [StartDependents(gluetun, ("sonarr",))]
    failed = PrepareResult(gluetun, "radarr", False, "no such image")
    assert cascade.handle(failed, clock.now()) == [RecreateDependents(gluetun, ("radarr",))]
    actions = prepared(cascade, clock, gluetun, "bazarr", "qbittorrent")
    assert only(actions, StartDependents) == [
        StartDependents(gluetun, ("bazarr",)),
        StartDependents(gluetun, ("qbittorrent",)),
    ]


def test_a_dependent_that_could_not_be_prepared_is_recreated_once_gluetun_is_healthy(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    prepared(cascade, clock, gluetun, "bazarr", "qbittorrent", "sonarr")
    refused = PrepareResult(gluetun, "radarr", False, "compose: no such service")
    assert cascade.handle(refused, clock.now()) == []
    clock.advance(8)
    healthy = cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
    assert healthy == [
        StartDependents(gluetun, ("bazarr", "qbittorrent", "sonarr")),
        RecreateDependents(gluetun, ("radarr",)),
    ]
    progress = cascade.status(clock.now()).in_flight
    assert progress is not None
    radarr = progress.dependent("radarr")
    assert radarr is not None and "preparing failed: compose: no such service" in radarr.reason


def test_preparations_survive_a_supervisor_restart_even_those_in_flight(
    clock: FakeClock,
) -> None:
    """Killed while compose prepared two of them: that call ran on and made their new
    containers, so they are started too (the runtime starts only a new container, and a
    failed start recreates)."""
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    prepared(cascade, clock, gluetun, "bazarr", "sonarr")
    resumed = CascadeMachine.from_snapshot(
        CascadeSettings(), CascadeLimiter.from_settings(Supervisor()), cascade.snapshot()
    )
    clock.advance(8)
    reread = resumed.handle(EngineState(gluetun, True, ALL_STALE), clock.now())
    assert reread == [StartDependents(gluetun, DEPENDENTS)]
    failed = RecreateResult(gluetun, "radarr", False, "it was not prepared")
    retry = only(resumed.handle(failed, clock.now()), RetryDependent)
    assert retry[0].step == "recreate"
    clock.advance(5)
    assert resumed.handle(Tick(), clock.now()) == [RecreateDependents(gluetun, ("radarr",))]


def test_a_recreated_gluetun_is_followed_to_its_new_id(clock: FakeClock) -> None:
    cascade = machine()
    cascade.handle(EngineState(incarnation(clock, ago=600), True, NONE_STALE), clock.now())
    new = Gluetun(NEW_GLUETUN_ID, clock.now())
    detected = cascade.handle(GluetunStarted(new, ALL_STALE), clock.now())
    assert "recreated as 8f1383fa4a34" in only(detected, Notify)[0].message
    clock.advance(8)
    prepared(cascade, clock, new)
    assert cascade.handle(GluetunHealthy(new, ALL_STALE), clock.now()) == [
        StartDependents(new, DEPENDENTS)
    ]


def test_gluetun_never_healthy_times_out_notifies_and_starts_no_dependent(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    actions = start(cascade, clock, gluetun)
    assert cascade.next_wakeup() == clock.now() + 300 * SECOND
    clock.advance(299)
    assert cascade.handle(Tick(), clock.now()) == []
    clock.advance(1)
    timeout = cascade.handle(Tick(), clock.now())
    notice = only(timeout, Notify)[0]
    assert notice.stage is Stage.GLUETUN_TIMEOUT and notice.priority is Priority.HIGH
    assert "were not started" in notice.message
    assert only(timeout, CascadeFinished)[0].summary.outcome is Outcome.GLUETUN_TIMEOUT
    for _ in range(60):  # an hour later: no thrash
        clock.advance(60)
        actions += cascade.handle(Tick(), clock.now())
    touched = (StartDependents, RecreateDependents, VerifyDependents, RestartContainer)
    assert not [action for action in actions + timeout if isinstance(action, touched)]
    assert len(only(actions, PrepareDependents)) == 1
    assert cascade.locked_services() == frozenset()
    assert cascade.next_wakeup() is None


def test_after_a_timeout_a_gluetun_that_finally_turns_healthy_is_still_healed(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    clock.advance(400)
    cascade.handle(Tick(), clock.now())
    late = cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
    assert "stranded" in only(late, Notify)[0].message
    assert only(late, RecreateDependents) == [RecreateDependents(gluetun, DEPENDENTS)]


def test_a_sixth_cascade_within_the_hour_is_refused_pauses_and_resume_lifts_it(
    clock: FakeClock,
) -> None:
    cascade = machine()
    for _ in range(5):
        heal(cascade, clock, restarted(clock))
        clock.advance(timedelta(minutes=5))
    sixth = restarted(clock)
    refused = cascade.handle(GluetunStarted(sixth, ALL_STALE), clock.now())
    notice = only(refused, Notify)[0]
    assert notice.stage is Stage.RATE_LIMITED and notice.priority is Priority.URGENT
    assert "mediastack supervise --resume" in notice.message
    pause_until = clock.now() + timedelta(hours=1)
    assert only(refused, Pause)[0].until == pause_until
    assert only(refused, CascadeFinished)[0].summary.outcome is Outcome.RATE_LIMITED
    assert not only(refused, PrepareDependents)  # the loop does not churn the dependents
    healthy_later = cascade.handle(GluetunHealthy(sixth, ALL_STALE), clock.now())
    assert not only(healthy_later, Notify)  # the refused gluetun is told once, not per event
    status = cascade.status(clock.now())
    assert status.mode is Mode.PAUSED and status.paused_until == pause_until

    clock.advance(timedelta(minutes=2))
    seventh = restarted(clock)
    during_pause = cascade.handle(GluetunStarted(seventh, ALL_STALE), clock.now())
    assert [notice.stage for notice in only(during_pause, Notify)] == [Stage.PAUSED]
    assert not only(during_pause, WaitForGluetun)

    resumed = cascade.resume(clock.now())
    assert [notice.stage for notice in only(resumed, Notify)] == [Stage.RESUMED]
    assert only(resumed, Reread)
    reread = cascade.handle(EngineState(seventh, True, ALL_STALE), clock.now())
    assert only(reread, RecreateDependents) == [RecreateDependents(seventh, DEPENDENTS)]


def test_when_the_pause_ends_the_supervisor_says_so_and_looks_again(clock: FakeClock) -> None:
    cascade = machine(Supervisor(max_cascades_per_hour=1, loop_pause_seconds=600))
    heal(cascade, clock, restarted(clock))
    second = restarted(clock)
    cascade.handle(GluetunStarted(second, ALL_STALE), clock.now())
    cascade.handle(GluetunHealthy(second, ALL_STALE), clock.now())
    pause_until = clock.now() + timedelta(minutes=10)
    assert cascade.next_wakeup() == pause_until
    clock.advance(timedelta(minutes=10))
    ended = cascade.handle(Tick(), clock.now())
    assert [notice.stage for notice in only(ended, Notify)] == [Stage.RESUMED]
    assert only(ended, Reread)
    assert cascade.status(clock.now()).mode is Mode.WATCHING


def test_a_dependent_failing_to_start_is_retried_with_backoff_then_reported_while_the_others_heal(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    start(cascade, clock, gluetun)
    cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
    error = "cannot join network namespace of a non running container"
    failed = cascade.handle(RecreateResult(gluetun, "qbittorrent", False, error), clock.now())
    assert only(failed, RetryDependent)[0].at == clock.now() + 5 * SECOND
    for service in ("bazarr", "radarr", "sonarr"):
        verify = cascade.handle(RecreateResult(gluetun, service, True), clock.now())
        assert only(verify, VerifyDependents)[0].services == (service,)
        cascade.handle(VerificationResult(gluetun, service, Verification.HEALTHY), clock.now())
    assert cascade.locked_services() == frozenset({"qbittorrent"})

    delays = []
    actions: list[Action] = failed
    while not only(actions, GiveUp):
        retry = only(actions, RetryDependent)[0]
        delays.append(retry.at - clock.now())
        clock.advance(retry.at - clock.now() - SECOND)
        assert cascade.handle(Tick(), clock.now()) == []
        clock.advance(SECOND)
        assert cascade.handle(Tick(), clock.now()) == [
            RecreateDependents(gluetun, ("qbittorrent",))
        ]
        actions = cascade.handle(RecreateResult(gluetun, "qbittorrent", False, error), clock.now())
    assert delays == [5 * SECOND, 10 * SECOND, 20 * SECOND]

    stages = [notice.stage for notice in only(actions, Notify)]
    assert stages == [Stage.DEPENDENT_FAILED, Stage.CASCADE_INCOMPLETE]
    assert error in only(actions, GiveUp)[0].reason
    summary = only(actions, CascadeFinished)[0].summary
    assert summary.outcome is Outcome.PARTIAL
    assert summary.healed == ("bazarr", "radarr", "sonarr") and summary.failed == ("qbittorrent",)


def test_a_dependent_that_is_not_healthy_in_the_namespace_is_recreated_again(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunHealthy(gluetun, {"sonarr": "namespace differs"}), clock.now())
    cascade.handle(RecreateResult(gluetun, "sonarr", True), clock.now())
    result = VerificationResult(gluetun, "sonarr", Verification.FAILED, "only lo in namespace")
    retry = only(cascade.handle(result, clock.now()), RetryDependent)[0]
    assert retry.step == "recreate" and retry.attempt == 2
    clock.advance(5)
    assert cascade.handle(Tick(), clock.now()) == [RecreateDependents(gluetun, ("sonarr",))]


def test_a_probe_that_could_not_run_is_not_a_failure(clock: FakeClock) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunHealthy(gluetun, {"sonarr": "namespace differs"}), clock.now())
    cascade.handle(RecreateResult(gluetun, "sonarr", True), clock.now())
    unavailable = VerificationResult(gluetun, "sonarr", Verification.PROBE_UNAVAILABLE, "ps")
    retry = only(cascade.handle(unavailable, clock.now()), RetryDependent)[0]
    assert retry.step == "verify"
    clock.advance(5)
    verify = cascade.handle(Tick(), clock.now())
    assert only(verify, VerifyDependents)[0].services == ("sonarr",)
    assert not only(verify, RecreateDependents)
    healthy = VerificationResult(gluetun, "sonarr", Verification.HEALTHY)
    done = cascade.handle(healthy, clock.now())
    assert only(done, CascadeFinished)[0].summary.outcome is Outcome.HEALED


def test_a_dependent_that_can_never_be_checked_is_reported_as_unverified(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunHealthy(gluetun, {"sonarr": "namespace differs"}), clock.now())
    cascade.handle(RecreateResult(gluetun, "sonarr", True), clock.now())
    unavailable = VerificationResult(gluetun, "sonarr", Verification.PROBE_UNAVAILABLE, "ps")
    actions = cascade.handle(unavailable, clock.now())
    while not only(actions, GiveUp):
        clock.advance(only(actions, RetryDependent)[0].at - clock.now())
        cascade.handle(Tick(), clock.now())
        actions = cascade.handle(unavailable, clock.now())
    assert "could not verify" in only(actions, GiveUp)[0].reason
    assert only(actions, CascadeFinished)[0].summary.outcome is Outcome.FAILED
    assert not only(actions, RecreateDependents)


def test_a_result_that_never_comes_counts_as_a_failed_attempt(clock: FakeClock) -> None:
    settings = CascadeSettings(recreate_timeout=60 * SECOND, result_grace=10 * SECOND)
    cascade = CascadeMachine(settings, CascadeLimiter.from_settings(Supervisor()))
    gluetun = restarted(clock)
    cascade.handle(GluetunHealthy(gluetun, {"sonarr": "namespace differs"}), clock.now())
    assert cascade.next_wakeup() == clock.now() + 70 * SECOND
    clock.advance(69)
    assert cascade.handle(Tick(), clock.now()) == []
    clock.advance(1)
    retry = only(cascade.handle(Tick(), clock.now()), RetryDependent)
    assert retry and "no recreating result" in retry[0].reason


def test_a_new_gluetun_restart_during_a_cascade_restarts_it_for_the_new_gluetun(
    clock: FakeClock,
) -> None:
    cascade = machine()
    first = restarted(clock)
    cascade.handle(GluetunHealthy(first, ALL_STALE), clock.now())
    cascade.handle(RecreateResult(first, "sonarr", True), clock.now())
    cascade.handle(VerificationResult(first, "sonarr", Verification.HEALTHY), clock.now())
    clock.advance(3)
    second = Gluetun(NEW_GLUETUN_ID, clock.now())

    superseded = cascade.handle(GluetunStarted(second, ALL_STALE), clock.now())
    summary = only(superseded, CascadeFinished)[0].summary
    assert summary.outcome is Outcome.SUPERSEDED and summary.healed == ("sonarr",)
    assert only(superseded, WaitForGluetun)[0].gluetun == second
    assert only(superseded, PrepareDependents) == [PrepareDependents(second, DEPENDENTS)]
    late = RecreateResult(first, "radarr", True)
    assert cascade.handle(late, clock.now()) == []  # a result for the old gluetun is ignored
    assert cascade.handle(PrepareResult(first, "radarr", True), clock.now()) == []
    prepared(cascade, clock, second)
    clock.advance(8)
    healthy = cascade.handle(GluetunHealthy(second, ALL_STALE), clock.now())
    assert healthy == [StartDependents(second, DEPENDENTS)]


def test_a_dependent_done_for_the_current_gluetun_is_never_recreated_again(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    start(cascade, clock, gluetun)
    cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now())
    cascade.handle(RecreateResult(gluetun, "sonarr", True), clock.now())
    cascade.handle(VerificationResult(gluetun, "sonarr", Verification.HEALTHY), clock.now())

    assert cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now()) == []
    assert cascade.handle(GluetunHealthy(gluetun, ALL_STALE), clock.now()) == []
    # The event stream reconnects: a re-read repeats neither the done dependent nor the
    # recreates this process is still running.
    assert cascade.handle(EngineState(gluetun, True, ALL_STALE), clock.now()) == []
    restarted_supervisor = CascadeMachine.from_snapshot(
        CascadeSettings(), CascadeLimiter.from_settings(Supervisor()), cascade.snapshot()
    )
    reread = restarted_supervisor.handle(EngineState(gluetun, True, ALL_STALE), clock.now())
    assert reread == [RecreateDependents(gluetun, ("bazarr", "qbittorrent", "radarr"))]


def test_a_gluetun_start_with_nothing_stale_starts_no_cascade(clock: FakeClock) -> None:
    cascade = machine()
    assert cascade.handle(GluetunStarted(restarted(clock), NONE_STALE), clock.now()) == []
    assert cascade.status(clock.now()).mode is Mode.WATCHING


def test_a_cascade_whose_dependents_were_fixed_while_gluetun_started_ends_quietly(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunStarted(gluetun, ALL_STALE), clock.now())
    for service in DEPENDENTS:
        failed = PrepareResult(gluetun, service, False, "compose exited 1")
        cascade.handle(failed, clock.now())
    clock.advance(8)
    ended = cascade.handle(GluetunHealthy(gluetun, NONE_STALE), clock.now())
    assert [type(action) for action in ended] == [CascadeFinished]
    assert only(ended, CascadeFinished)[0].summary.outcome is Outcome.NOTHING_STALE


def test_dependents_stranded_while_the_supervisor_was_down_are_healed_at_start(
    clock: FakeClock,
) -> None:
    cascade = machine()
    gluetun = incarnation(clock, NEW_GLUETUN_ID, ago=120)
    stranded = {**NONE_STALE, "radarr": f"network mode names container {GLUETUN_ID[:12]}"}
    actions = cascade.handle(EngineState(gluetun, True, stranded), clock.now())
    assert "1 dependents are stale (radarr)" in only(actions, Notify)[0].message
    assert not only(actions, WaitForGluetun)
    assert only(actions, RecreateDependents) == [RecreateDependents(gluetun, ("radarr",))]


def test_a_hand_added_dependent_found_on_a_reread_joins_the_cascade(clock: FakeClock) -> None:
    """After a reconnect, work in progress is not repeated; what newly turned up is healed."""
    cascade = machine()
    gluetun = restarted(clock)
    cascade.handle(GluetunHealthy(gluetun, {"sonarr": "namespace differs"}), clock.now())
    cascade.handle(RecreateResult(gluetun, "sonarr", True), clock.now())
    staleness = {"sonarr": None, "my-extra-app": "namespace differs"}
    reread = cascade.handle(EngineState(gluetun, True, staleness), clock.now())
    assert reread == [RecreateDependents(gluetun, ("my-extra-app",))]


def test_settings_come_from_the_config() -> None:
    settings = CascadeSettings.from_config(Supervisor(gluetun_healthy_timeout_seconds=42))
    assert settings.gluetun_healthy_timeout == 42 * SECOND
    assert replace(settings, result_grace=SECOND).result_grace == SECOND
