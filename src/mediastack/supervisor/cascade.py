"""The VPN cascade as a pure state machine: observations in, actions out, time passed in.

When gluetun restarts in place (new namespace) or is recreated (new id), its dependents keep
running in a dead namespace. The machine asks the limiter and, while gluetun is still starting,
has every stale dependent's new container created but not started (compose's create, stop,
remove and rename take seconds: done during gluetun's own start, they cost nothing after it);
once gluetun is healthy (bounded wait) it starts the prepared ones and recreates any other
stale one, all at once, verifies each, retries a failed one with backoff and bounded
attempts, and reports. A newer gluetun incarnation supersedes the cascade
in flight; a dependent already done for the current incarnation is never recreated again.
``snapshot()`` is what the runtime persists after every ``handle()``, before executing actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import assert_never

from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import (
    Action,
    CascadeFinished,
    FinishedCascade,
    Gluetun,
    Notify,
    Outcome,
    Pause,
    PrepareDependents,
    Priority,
    RecreateDependents,
    Reread,
    RetryDependent,
    Stage,
    StartDependents,
    VerifyDependents,
    WaitForGluetun,
)
from mediastack.supervisor.backoff import Backoff
from mediastack.supervisor.cascade_notices import (
    CASCADE_SUBJECT,
    NOT_HEALTHY_IN_NAMESPACE,
    PREPARED_REASON,
    clock_time,
    detected_notice,
    give_up,
    paused_notice,
    seconds,
    summary_notice,
)
from mediastack.supervisor.clock import require_aware
from mediastack.supervisor.limits import CascadeLimiter, LimiterState, Paused, RateLimited
from mediastack.supervisor.observations import (
    EngineState,
    GluetunHealthy,
    GluetunStarted,
    Observation,
    PrepareResult,
    RecreateResult,
    Staleness,
    Tick,
    Verification,
    VerificationResult,
    prepared_services,
    stale_services,
)
from mediastack.supervisor.progress import (
    DependentProgress,
    DependentStatus,
    InFlightCascade,
    Phase,
)

DEPENDENT_RETRY = Backoff(timedelta(seconds=5), timedelta(seconds=60), max_attempts=4)


@dataclass(frozen=True)
class CascadeSettings:
    """The cascade's bounds. ``result_grace`` is how long past an action's deadline a missing
    result is taken as a failure."""

    gluetun_healthy_timeout: timedelta = timedelta(seconds=300)
    recreate_timeout: timedelta = timedelta(seconds=180)
    verify_timeout: timedelta = timedelta(seconds=180)
    result_grace: timedelta = timedelta(seconds=30)
    retry: Backoff = DEPENDENT_RETRY

    @classmethod
    def from_config(cls, settings: Supervisor) -> CascadeSettings:
        """Given the config's supervisor section, return settings with its gluetun timeout,
        its dependent verification timeout and its dependent retry bounds."""
        first_retry = timedelta(seconds=settings.dependent_retry_seconds)
        retry = Backoff(
            first_retry, max(first_retry, DEPENDENT_RETRY.cap), settings.dependent_attempts
        )
        return cls(
            gluetun_healthy_timeout=timedelta(seconds=settings.gluetun_healthy_timeout_seconds),
            verify_timeout=timedelta(seconds=settings.dependent_healthy_timeout_seconds),
            retry=retry,
        )


@dataclass(frozen=True)
class CascadeSnapshot:
    """Everything the cascade needs to resume after a supervisor restart."""

    limiter: LimiterState
    in_flight: InFlightCascade | None
    gluetun: Gluetun | None


class Mode(StrEnum):
    """What ``mediastack status`` shows for the supervisor."""

    WATCHING = "watching"
    CASCADING = "cascading"
    PAUSED = "paused"


@dataclass(frozen=True)
class CascadeStatus:
    """The supervisor's mode, the end of a pause, and the cascade in flight."""

    mode: Mode
    paused_until: datetime | None
    in_flight: InFlightCascade | None


class CascadeMachine:
    """Decides the cascade. Not thread-safe: feed it from one loop."""

    def __init__(
        self,
        settings: CascadeSettings,
        limiter: CascadeLimiter,
        in_flight: InFlightCascade | None = None,
        gluetun: Gluetun | None = None,
    ) -> None:
        self._settings = settings
        self._limiter = limiter
        self._in_flight = in_flight
        self._gluetun = in_flight.gluetun if in_flight is not None else gluetun
        # Services whose recreate or verification this process issued: a result will come.
        # Awaited work missing from here was issued by a previous process and is lost.
        self._issued_here: set[str] = set()
        # The gluetun last told its cascade is refused by the pause: its next event (the
        # healthy one after the start) is not told again.
        self._told_paused: Gluetun | None = None

    @classmethod
    def from_snapshot(
        cls, settings: CascadeSettings, limiter: CascadeLimiter, snapshot: CascadeSnapshot
    ) -> CascadeMachine:
        """Given settings, a limiter holding ``snapshot.limiter`` and a snapshot, resume."""
        return cls(settings, limiter, snapshot.in_flight, snapshot.gluetun)

    # -- what the runtime reads -------------------------------------------------------------

    def snapshot(self) -> CascadeSnapshot:
        """Return the state to persist (in one transaction) before executing the actions."""
        return CascadeSnapshot(self._limiter.state, self._in_flight, self._gluetun)

    def locked_services(self) -> frozenset[str]:
        """Return the services autoheal must leave alone: those the cascade is about to
        recreate or is recreating."""
        return self._in_flight.locked_services if self._in_flight else frozenset()

    def next_wakeup(self) -> datetime | None:
        """Return the latest time the runtime must send a ``Tick``, or None when nothing waits."""
        candidates = [self._limiter.state.pause_until, *self._cascade_deadlines()]
        present = [moment for moment in candidates if moment is not None]
        return min(present) if present else None

    def status(self, now: datetime) -> CascadeStatus:
        """Given the time, return watching / cascading / paused-until."""
        paused_until = self._limiter.status(now).paused_until
        if self._in_flight is not None:
            return CascadeStatus(Mode.CASCADING, paused_until, self._in_flight)
        mode = Mode.PAUSED if paused_until is not None else Mode.WATCHING
        return CascadeStatus(mode, paused_until, None)

    # -- inputs ------------------------------------------------------------------------------

    def handle(self, observation: Observation, now: datetime) -> list[Action]:
        """Given one observation and the time, update the cascade and return what to do."""
        now = require_aware(now)
        match observation:
            case GluetunStarted():
                return self._on_started(observation, now)
            case GluetunHealthy():
                return self._on_healthy(observation, now)
            case EngineState():
                return self._on_engine_state(observation, now)
            case PrepareResult():
                return self._on_prepared(observation, now)
            case RecreateResult():
                return self._on_recreated(observation, now)
            case VerificationResult():
                return self._on_verified(observation, now)
            case Tick():
                return self._on_tick(now)
            case _:
                assert_never(observation)

    def resume(self, now: datetime) -> list[Action]:
        """Lift a loop pause (the user's ``--resume``); return a notice and a re-read request."""
        require_aware(now)
        actions: list[Action] = []
        if self._limiter.resume():
            message = "Cascades resumed by the user; the supervisor is watching gluetun again."
            actions.append(Notify(Stage.RESUMED, CASCADE_SUBJECT, message))
        return [*actions, Reread("cascades resumed")]

    # -- gluetun -----------------------------------------------------------------------------

    def _on_started(self, observation: GluetunStarted, now: datetime) -> list[Action]:
        if observation.gluetun == self._gluetun:
            return []
        return self._take_over(observation.gluetun, observation.staleness, False, now)

    def _on_healthy(self, observation: GluetunHealthy, now: datetime) -> list[Action]:
        if not self._targets(observation.gluetun):
            return self._take_over(observation.gluetun, observation.staleness, True, now)
        if self._phase() is Phase.WAITING_FOR_GLUETUN:
            return self._begin_healing(observation.staleness, now)
        return []

    def _on_engine_state(self, observation: EngineState, now: datetime) -> list[Action]:
        gluetun = observation.gluetun
        if gluetun is None:
            return []
        if not self._targets(gluetun):
            return self._take_over(gluetun, observation.staleness, observation.gluetun_healthy, now)
        if self._phase() is Phase.HEALING:
            return self._resume_healing(observation.staleness, now)
        if observation.gluetun_healthy:
            return self._begin_healing(observation.staleness, now)
        return self._prepare_again(observation.staleness, now)

    def _prepare_again(self, staleness: Staleness, now: datetime) -> list[Action]:
        """Still waiting for gluetun, fresh engine state (a supervisor restarted while compose
        prepared: its call may have died with it): prepare again what a previous process was
        preparing and the engine shows still stale, so the wait is not wasted."""
        self._adopt_prepared(staleness)
        cascade = self._require_cascade()
        stale = stale_services(staleness)
        orphaned = tuple(
            service
            for service in cascade.services_in(DependentStatus.PREPARING)
            if service in stale and service not in self._issued_here
        )
        return [self._prepare(orphaned, now)] if orphaned else []

    def _take_over(
        self, gluetun: Gluetun, staleness: Staleness, healthy: bool, now: datetime
    ) -> list[Action]:
        """A gluetun incarnation no cascade targets: supersede the one in flight, open one for
        it if dependents are stale, and heal at once when it is already healthy. A new start
        of the container the cascade waits for continues that cascade (``_rebase``)."""
        cascade = self._in_flight
        if cascade is not None and _same_container_waiting(cascade, gluetun):
            return self._rebase(cascade, gluetun, staleness, healthy, now)
        actions = self._finish(Outcome.SUPERSEDED, now) if self._in_flight else []
        actions += self._open(gluetun, staleness, healthy, now)
        if healthy and self._in_flight is not None:
            actions += self._begin_healing(staleness, now)
        return actions

    def _rebase(
        self,
        cascade: InFlightCascade,
        gluetun: Gluetun,
        staleness: Staleness,
        healthy: bool,
        now: datetime,
    ) -> list[Action]:
        """The container the cascade waits for started again (a burst of restarts while the
        VPN comes up). What was prepared joins it by container id, so it stays prepared: the
        cascade follows the new start with a fresh wait and prepares only what is newly
        stale. One burst is one cascade, counted once, each dependent made once."""
        self._gluetun = gluetun
        deadline = now + self._settings.gluetun_healthy_timeout
        self._in_flight = replace(cascade, gluetun=gluetun, gluetun_deadline=deadline)
        self._adopt_prepared(staleness)
        if healthy:
            return self._begin_healing(staleness, now)
        underway = set(self._require_cascade().services_in(*_PREPARATION))
        fresh = {s: r for s, r in stale_services(staleness).items() if s not in underway}
        self._in_flight = self._require_cascade().with_dependents(
            *(_pending(self._require_cascade().dependent(s), s, r) for s, r in fresh.items())
        )
        actions: list[Action] = [WaitForGluetun(gluetun, deadline)]
        return actions + ([self._prepare(tuple(fresh), now)] if fresh else [])

    def _adopt_prepared(self, staleness: Staleness) -> None:
        """Take the containers the engine shows prepared for the current gluetun (created,
        joined to it, never started: by this cascade, a previous process or a cascade that
        gave up waiting) as prepared: they are started, never made again."""
        cascade = self._require_cascade()
        adopted = [
            replace(_existing(cascade, service), status=DependentStatus.PREPARED, due_at=None)
            for service in prepared_services(staleness)
            if not _existing(cascade, service).final
            and _existing(cascade, service).status is not DependentStatus.RECREATING
        ]
        self._in_flight = cascade.with_dependents(*adopted)

    def _open(
        self, gluetun: Gluetun, staleness: Staleness, healthy: bool, now: datetime
    ) -> list[Action]:
        previous, self._gluetun = self._gluetun, gluetun
        stale = stale_services(staleness)
        prepared = prepared_services(staleness)
        if not stale and not prepared:
            return []
        shown = stale | dict.fromkeys(prepared, PREPARED_REASON)
        paused_until = self._limiter.status(now).paused_until
        if paused_until is not None:
            return self._paused_notice(gluetun, paused_until, shown)
        deadline = now + self._settings.gluetun_healthy_timeout
        self._in_flight = InFlightCascade.open(gluetun, now, deadline, stale)
        self._adopt_prepared(staleness)
        if healthy:
            return [detected_notice(previous, gluetun, shown, None)]
        # Preparing removes the old containers, so the cascade counts from here: a gluetun
        # that restarts in a loop is paused before it churns its dependents again and again.
        refusal = self._ask_limiter(now)
        if refusal:
            return refusal
        self._in_flight = replace(self._require_cascade(), counted=True)
        notice = detected_notice(previous, gluetun, shown, deadline - now)
        actions: list[Action] = [notice, WaitForGluetun(gluetun, deadline)]
        return actions + ([self._prepare(tuple(stale), now)] if stale else [])

    def _prepare(self, services: tuple[str, ...], now: datetime) -> PrepareDependents:
        cascade = self._require_cascade()
        due = now + self._settings.recreate_timeout
        preparing = [
            replace(_existing(cascade, service), status=DependentStatus.PREPARING, due_at=due)
            for service in services
        ]
        self._in_flight = cascade.with_dependents(*preparing)
        self._issued_here.update(services)
        return PrepareDependents(cascade.gluetun, services)

    def _gluetun_timed_out(self, cascade: InFlightCascade, now: datetime) -> list[Action]:
        waited = seconds(now - cascade.detected_at)
        message = (
            f"gluetun {cascade.gluetun.short_id} is still not healthy after {waited}; its "
            f"{len(cascade.dependents)} stale dependents were not started (those prepared wait "
            "as created containers). Check `docker logs` of "
            "gluetun (VPN credentials, server, /dev/net/tun). The supervisor keeps watching "
            "and heals them once gluetun is healthy."
        )
        notice = Notify(Stage.GLUETUN_TIMEOUT, cascade.gluetun.short_id, message, Priority.HIGH)
        return [notice, *self._finish(Outcome.GLUETUN_TIMEOUT, now)]

    def _on_prepared(self, result: PrepareResult, now: datetime) -> list[Action]:
        # Prepared for an earlier start of the same container: valid for this one too.
        progress = self._awaiting(
            result.gluetun, result.service, DependentStatus.PREPARING, same_container=True
        )
        if progress is None:
            return []
        if self._phase() is Phase.HEALING:  # gluetun turned healthy while compose prepared
            if result.succeeded:
                return self._issue([], [], now, {}, start=[result.service])
            return self._issue([result.service], [], now, {})
        if result.succeeded:
            self._update(replace(progress, status=DependentStatus.PREPARED, due_at=None))
        else:  # recreated the usual way once gluetun is healthy
            reason = f"{progress.reason}; preparing failed: {result.detail or 'no detail'}"
            pending = replace(progress, status=DependentStatus.PENDING, due_at=None, reason=reason)
            self._update(pending)
        return []

    # -- healing -----------------------------------------------------------------------------

    def _begin_healing(self, staleness: Staleness, now: datetime) -> list[Action]:
        """Gluetun is healthy: start what was prepared, recreate every other stale dependent.
        A prepared dependent is kept whatever the engine says now: its container is created,
        not running, or (while compose still prepares it) briefly absent."""
        self._adopt_prepared(staleness)
        cascade = self._require_cascade()
        stale = stale_services(staleness)
        underway = [item for item in cascade.dependents if item.status in _PREPARATION]
        if not stale and not underway:
            return self._finish(Outcome.NOTHING_STALE, now)
        if not cascade.counted:
            refusal = self._ask_limiter(now)
            if refusal:
                return refusal
        self._limiter.settle()  # healing: the next start of this container counts again
        kept = {item.service for item in underway}
        pending = tuple(
            _pending(cascade.dependent(service), service, reason)
            for service, reason in stale.items()
            if service not in kept
        )
        self._in_flight = replace(
            cascade,
            phase=Phase.HEALING,
            counted=True,
            healthy_at=now,
            dependents=(*underway, *pending),
        ).with_dependents()
        start = [item.service for item in underway if self._ready_to_start(item)]
        return self._issue([item.service for item in pending], [], now, {}, start=start)

    def _ready_to_start(self, progress: DependentProgress) -> bool:
        """Return True when ``progress`` is prepared, or was being prepared by a previous
        process (its compose call ran on without it: the runtime starts the container only
        when it is the new one, and reports a failure otherwise, which recreates it)."""
        if progress.status is DependentStatus.PREPARED:
            return True
        return progress.service not in self._issued_here

    def _ask_limiter(self, now: datetime) -> list[Action]:
        """Return the refusal actions when the limiter refuses, or [] when it allows (counted)."""
        decision = self._limiter.request(now, self._require_cascade().gluetun.container_id)
        if isinstance(decision, RateLimited):
            message = (
                f"Restart loop: {decision.cascades_in_window} cascades within the last hour. "
                f"Cascades are paused until {clock_time(decision.until)}; dependents are left "
                "as they are. Fix gluetun, then run `mediastack supervise --resume`."
            )
            self._told_paused = self._require_cascade().gluetun
            return [
                Notify(Stage.RATE_LIMITED, CASCADE_SUBJECT, message, Priority.URGENT),
                Pause(decision.until, "restart loop: cascade limit per hour exceeded"),
                *self._finish(Outcome.RATE_LIMITED, now),
            ]
        if isinstance(decision, Paused):
            stale = {item.service: item.reason for item in self._require_cascade().dependents}
            notice = self._paused_notice(self._require_cascade().gluetun, decision.until, stale)
            return [*notice, *self._finish(Outcome.RATE_LIMITED, now)]
        return []

    def _paused_notice(
        self, gluetun: Gluetun, until: datetime, stale: dict[str, str]
    ) -> list[Action]:
        """The notice that ``gluetun``'s cascade is refused by the pause, once per gluetun."""
        if self._told_paused == gluetun:
            return []
        self._told_paused = gluetun
        return [paused_notice(gluetun, until, stale)]

    def _resume_healing(self, staleness: Staleness, now: datetime) -> list[Action]:
        """Same gluetun, fresh engine state (supervisor restarted or stream reconnected): recreate
        what is still stale, verify what no longer is; never touch a dependent already done,
        waiting for its retry, or whose recreate or verification this process is running."""
        self._adopt_prepared(staleness)
        cascade = self._require_cascade()
        stale = stale_services(staleness)
        start: list[str] = []
        recreate: list[str] = []
        verify: list[str] = []
        for service in sorted({*stale, *cascade.services_in(*_RESUMABLE)}):
            progress = cascade.dependent(service) or DependentProgress(service)
            if not self._needs_resuming(progress):
                continue
            if progress.status in _PREPARATION:
                start.append(service)
            else:
                (recreate if service in stale else verify).append(service)
        return self._issue(recreate, verify, now, stale, start=start)

    def _needs_resuming(self, progress: DependentProgress) -> bool:
        if progress.final or progress.status is DependentStatus.RETRY_WAIT:
            return False
        return not (progress.status in _AWAITING and progress.service in self._issued_here)

    def _issue(
        self,
        recreate: list[str],
        verify: list[str],
        now: datetime,
        reasons: dict[str, str],
        start: Sequence[str] = (),
    ) -> list[Action]:
        """Mark and request recreates (of prepared dependents: starts) and verifications,
        each with its result deadline."""
        cascade = self._require_cascade()
        recreate_due = now + self._settings.recreate_timeout
        verify_due = now + self._settings.verify_timeout
        updates = [
            _recreating(cascade.dependent(service), service, recreate_due, reasons.get(service))
            for service in (*start, *recreate)
        ]
        updates += [
            replace(
                _existing(cascade, service), status=DependentStatus.VERIFYING, due_at=verify_due
            )
            for service in verify
        ]
        self._in_flight = cascade.with_dependents(*updates)
        self._issued_here.update(start, recreate, verify)
        actions: list[Action] = []
        if start:
            actions.append(StartDependents(cascade.gluetun, tuple(start)))
        if recreate:
            actions.append(RecreateDependents(cascade.gluetun, tuple(recreate)))
        if verify:
            actions.append(VerifyDependents(cascade.gluetun, tuple(verify), verify_due))
        return actions

    def _on_recreated(self, result: RecreateResult, now: datetime) -> list[Action]:
        progress = self._awaiting(result.gluetun, result.service, DependentStatus.RECREATING)
        if progress is None:
            return []
        if result.succeeded:
            return self._issue([], [result.service], now, {})
        return self._failed(progress, f"recreate failed: {result.detail or 'no detail'}", now)

    def _on_verified(self, result: VerificationResult, now: datetime) -> list[Action]:
        progress = self._awaiting(result.gluetun, result.service, DependentStatus.VERIFYING)
        if progress is None:
            return []
        detail = result.detail or "no detail"
        match result.outcome:
            case Verification.HEALTHY:
                self._update(replace(progress, status=DependentStatus.DONE, due_at=now))
                return self._finish_if_done(now)
            case Verification.FAILED:
                return self._failed(progress, f"{NOT_HEALTHY_IN_NAMESPACE}: {detail}", now)
            case Verification.PROBE_UNAVAILABLE:
                return self._probe_unavailable(progress, detail, now)
            case _:
                assert_never(result.outcome)

    def _failed(self, progress: DependentProgress, reason: str, now: datetime) -> list[Action]:
        """A recreate or a verification failed: retry after backoff, or give up and report."""
        delay = self._settings.retry.next_delay(progress.attempts)
        if delay is None:
            self._update(
                replace(progress, status=DependentStatus.GAVE_UP, due_at=None, reason=reason)
            )
            return [*give_up(progress, reason, "recreate"), *self._finish_if_done(now)]
        at = now + delay
        self._update(replace(progress, status=DependentStatus.RETRY_WAIT, due_at=at, reason=reason))
        return [RetryDependent(progress.service, "recreate", at, progress.attempts + 1, reason)]

    def _probe_unavailable(
        self, progress: DependentProgress, detail: str, now: datetime
    ) -> list[Action]:
        """A check that could not run is not a failed check: check again later, bounded."""
        probes = progress.probe_attempts + 1
        reason = f"could not verify: {detail}"
        delay = self._settings.retry.next_delay(probes)
        status = DependentStatus.UNVERIFIED if delay is None else DependentStatus.VERIFY_WAIT
        at = None if delay is None else now + delay
        self._update(
            replace(progress, status=status, probe_attempts=probes, due_at=at, reason=reason)
        )
        if at is None:
            return [*give_up(progress, reason, "verify"), *self._finish_if_done(now)]
        return [RetryDependent(progress.service, "verify", at, probes + 1, reason)]

    # -- time --------------------------------------------------------------------------------

    def _on_tick(self, now: datetime) -> list[Action]:
        actions: list[Action] = []
        if self._limiter.expire_pause(now):
            message = "The cascade pause is over; the supervisor is watching gluetun again."
            actions += [Notify(Stage.RESUMED, CASCADE_SUBJECT, message), Reread("pause ended")]
        cascade = self._in_flight
        if cascade is None:
            return actions
        if cascade.phase is Phase.WAITING_FOR_GLUETUN:
            if now >= cascade.gluetun_deadline:
                actions += self._gluetun_timed_out(cascade, now)
            return actions
        actions += self._overdue(now)
        return actions + self._due_retries(now)

    def _overdue(self, now: datetime) -> list[Action]:
        """A recreate or verification whose result never came is a failed attempt."""
        actions: list[Action] = []
        late = now - self._settings.result_grace
        for progress in self._require_cascade().dependents:
            if progress.status in _AWAITING and _is_due(progress, late):
                reason = f"no {progress.status.value} result by {clock_time(progress.due_at)}"
                actions += self._failed(progress, reason, now)
                if self._in_flight is None:
                    break
        return actions

    def _due_retries(self, now: datetime) -> list[Action]:
        cascade = self._in_flight
        if cascade is None:
            return []
        due = [item for item in cascade.dependents if _is_due(item, now)]
        recreate = [item.service for item in due if item.status is DependentStatus.RETRY_WAIT]
        verify = [item.service for item in due if item.status is DependentStatus.VERIFY_WAIT]
        return self._issue(recreate, verify, now, {})

    def _cascade_deadlines(self) -> list[datetime | None]:
        cascade = self._in_flight
        if cascade is None:
            return []
        if cascade.phase is Phase.WAITING_FOR_GLUETUN:
            return [cascade.gluetun_deadline]
        grace = self._settings.result_grace
        return [
            item.due_at + grace if item.status in _AWAITING else item.due_at
            for item in cascade.dependents
            if item.due_at is not None and not item.final
        ]

    # -- ending ------------------------------------------------------------------------------

    def _finish_if_done(self, now: datetime) -> list[Action]:
        cascade = self._in_flight
        if cascade is None or not cascade.all_final:
            return []
        healed = cascade.services_in(DependentStatus.DONE)
        outcome = Outcome.HEALED if len(healed) == len(cascade.dependents) else Outcome.PARTIAL
        outcome = Outcome.FAILED if not healed else outcome
        return [summary_notice(cascade, outcome, now), *self._finish(outcome, now)]

    def _finish(self, outcome: Outcome, now: datetime) -> list[Action]:
        cascade = self._require_cascade()
        self._in_flight = None
        self._issued_here.clear()
        summary = FinishedCascade(
            gluetun=cascade.gluetun,
            started_at=cascade.detected_at,
            finished_at=now,
            outcome=outcome,
            healed=cascade.services_in(DependentStatus.DONE),
            failed=cascade.services_in(DependentStatus.GAVE_UP, DependentStatus.UNVERIFIED),
        )
        return [CascadeFinished(summary)]

    # -- helpers -----------------------------------------------------------------------------

    def _targets(self, gluetun: Gluetun) -> bool:
        return self._in_flight is not None and self._in_flight.gluetun == gluetun

    def _phase(self) -> Phase:
        return self._require_cascade().phase

    def _require_cascade(self) -> InFlightCascade:
        if self._in_flight is None:
            raise RuntimeError("no cascade in flight")  # a bug in this module, not an input
        return self._in_flight

    def _awaiting(
        self,
        gluetun: Gluetun,
        service: str,
        status: DependentStatus,
        same_container: bool = False,
    ) -> DependentProgress | None:
        """Return the dependent's progress when a result for it is awaited, else None (a late
        result, or one for a gluetun no longer targeted, is ignored; with ``same_container``,
        one for another start of the targeted container counts)."""
        cascade = self._in_flight
        if same_container and cascade is not None:
            if cascade.gluetun.container_id != gluetun.container_id:
                return None
        elif not self._targets(gluetun):
            return None
        progress = self._require_cascade().dependent(service)
        return progress if progress is not None and progress.status is status else None

    def _update(self, progress: DependentProgress) -> None:
        self._in_flight = self._require_cascade().with_dependents(progress)


_AWAITING = (DependentStatus.PREPARING, DependentStatus.RECREATING, DependentStatus.VERIFYING)
_PREPARATION = (DependentStatus.PREPARING, DependentStatus.PREPARED)
_RESUMABLE = (
    DependentStatus.PENDING,
    DependentStatus.PREPARING,
    DependentStatus.PREPARED,
    DependentStatus.RECREATING,
    DependentStatus.VERIFYING,
    DependentStatus.VERIFY_WAIT,
)


def _same_container_waiting(cascade: InFlightCascade, gluetun: Gluetun) -> bool:
    """True when ``gluetun`` is a new start of the container ``cascade`` still waits for."""
    return (
        cascade.phase is Phase.WAITING_FOR_GLUETUN
        and cascade.gluetun.container_id == gluetun.container_id
        and cascade.gluetun != gluetun
    )


def _is_due(progress: DependentProgress, now: datetime) -> bool:
    return progress.due_at is not None and progress.due_at <= now


def _existing(cascade: InFlightCascade, service: str) -> DependentProgress:
    return cascade.dependent(service) or DependentProgress(service)


def _pending(progress: DependentProgress | None, service: str, reason: str) -> DependentProgress:
    """Return ``service`` pending, keeping what a failed preparation said about it."""
    if progress is not None and progress.status is DependentStatus.PENDING:
        return progress
    return DependentProgress(service, reason=reason)


def _recreating(
    progress: DependentProgress | None, service: str, due: datetime, reason: str | None
) -> DependentProgress:
    current = progress or DependentProgress(service)
    return replace(
        current,
        status=DependentStatus.RECREATING,
        attempts=current.attempts + 1,
        due_at=due,
        reason=reason or current.reason,
    )
