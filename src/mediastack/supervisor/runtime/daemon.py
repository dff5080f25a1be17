"""The supervisor daemon: one loop turning messages into decisions, saved, then executed.

Control flow, all on the loop thread:

    inbox message -> engine read (``discovery``) -> observation -> ``CascadeMachine.handle``
    -> ``store.save(snapshot, finished)`` -> actions executed (compose and restarts handed to
    workers, verification to the ``Verifier``, notices through the throttle to the notifier)
    -> results come back as messages or observations -> ...

- Intake: gluetun's ``start`` -> ``GluetunStarted`` (and its id remembered on disk); its
  ``health_status: healthy`` -> ``GluetunHealthy``; health and destroy events -> autoheal;
  any event about a dependent being verified -> check it again. The stream (re)connecting,
  a ``Reread`` and the start give a full ``EngineState`` and every autoheal container's health.
- The state is saved before any action of a decision runs, so a supervisor killed at any
  point resumes from a state that never claims more than was done.
- Time: the loop sleeps in the inbox until the earliest of the cascade's, autoheal's, the
  throttle's and the verifier's next wakeups (and every few seconds while paused, to see a
  ``supervise --resume``). An idle supervisor makes no engine call at all.
- Stop (SIGTERM): decisions from then on are saved but not executed; the compose call running
  is finished and its results recorded; the notification queue gets a few seconds.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, assert_never

from mediastack.adapters.errors import AdapterError
from mediastack.config.schema import Supervisor
from mediastack.notify import Delivery
from mediastack.supervisor.actions import (
    Action,
    CascadeFinished,
    GiveUp,
    Gluetun,
    Notify,
    Pause,
    PrepareDependents,
    RecreateDependents,
    Reread,
    RestartContainer,
    RetryDependent,
    StartDependents,
    VerifyDependents,
    WaitForGluetun,
)
from mediastack.supervisor.autoheal import AutohealPolicy, AutohealSettings
from mediastack.supervisor.backoff import Backoff
from mediastack.supervisor.cascade import (
    CascadeMachine,
    CascadeSettings,
    CascadeSnapshot,
    Mode,
)
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.events import ContainerEvent, EventKind, Health, Relevance, relevance
from mediastack.supervisor.limits import CascadeLimiter
from mediastack.supervisor.notify_policy import NotificationThrottle
from mediastack.supervisor.observations import (
    EngineState,
    GluetunHealthy,
    GluetunStarted,
    Observation,
    PrepareResult,
    RecreateResult,
    Tick,
)
from mediastack.supervisor.runtime.container_board import BoardRecorder
from mediastack.supervisor.runtime.decision_log import clock_time, describe_stale, log_decision
from mediastack.supervisor.runtime.discovery import DependentTarget, EngineSurveyor, Survey
from mediastack.supervisor.runtime.heartbeat import NO_HEARTBEAT, Heartbeat
from mediastack.supervisor.runtime.hold import Holds, LeaseWatch
from mediastack.supervisor.runtime.jobs import SupervisorJobs
from mediastack.supervisor.runtime.messages import (
    EventArrived,
    Inbox,
    InboxOverflowed,
    JobFinished,
    MaintenanceEnded,
    MaintenanceStarted,
    Message,
    PrepareFinished,
    RecreateFinished,
    RestartFinished,
    StopRequested,
    StreamConnected,
    StreamLost,
)
from mediastack.supervisor.runtime.notices import Notifier, notification_for
from mediastack.supervisor.runtime.stop_budget import (
    COMPOSE_FINISH_SECONDS,
    JOBS_STOP_SECONDS,
    NOTIFY_CLOSE_SECONDS,
    RESTART_FINISH_SECONDS,
    STREAM_STOP_SECONDS,
)
from mediastack.supervisor.runtime.verify import Verifier
from mediastack.supervisor.runtime.wire_runner import WIRED_SERVICES
from mediastack.supervisor.runtime.workers import Worker
from mediastack.supervisor.state import SupervisorStore

# The events the board spares when an update or a command holds their service: reading the
# leases for these alone keeps a flood of health events from listing the lease folder.
HOLDABLE_KINDS = frozenset({EventKind.DIE, EventKind.STOP, EventKind.DESTROY})
logger = logging.getLogger("mediastack.supervisor")

REREAD_RETRY = Backoff(timedelta(seconds=1), timedelta(seconds=30), max_attempts=1)
"""After an engine read failed, a full re-read is tried again 1 s later, doubling to 30 s:
whatever the failed read would have shown (a gluetun start, a reconnect) is not missed."""
RESUME_POLL = timedelta(seconds=2)
"""While paused, how often the state file is read for a ``supervise --resume`` request."""
# How long each part of a stop may take: ``stop_budget`` (their sum fits the rendered
# stop_grace_period). The compose call in progress ends within COMPOSE_FINISH_SECONDS: the
# call itself is bounded by COMPOSE_CALL_SECONDS, then killed.
SAVE_RETRY = Backoff(timedelta(seconds=1), timedelta(seconds=60), max_attempts=1)
"""After the state file could not be written, saving is tried again 1 s later, doubling to
60 s; the decision's actions wait until it is on disk."""


class Recreating(Protocol):
    """Recreates dependents (``Recreator``): in one step, or prepared while gluetun starts
    and started once it is healthy; runs on the compose worker's thread."""

    def recreate(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]: ...

    def prepare(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[PrepareResult, ...]: ...

    def start(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]: ...


class Restarting(Protocol):
    """Restarts one container in place; raises AdapterError when it cannot."""

    def restart(self, container_id: str) -> None: ...


class RestartCounting(Protocol):
    """Keeps count of the restarts done (``job_records.RestartCounter``); never raises."""

    def count(self, service: str, reason: str) -> None: ...


class Stoppable(Protocol):
    """The event stream, as far as the daemon is concerned."""

    def stop(self, timeout: float = 5.0) -> None: ...


@dataclass
class DaemonParts:
    """Everything with a side effect the daemon uses, so tests can hand in fakes."""

    surveyor: EngineSurveyor
    recreator: Recreating
    restarter: Restarting
    notifier: Notifier
    store: SupervisorStore
    clock: Clock
    inbox: Inbox
    compose_worker: Worker
    restart_worker: Worker
    stream: Stoppable | None = None
    jobs: SupervisorJobs | None = None
    leases: LeaseWatch | None = None
    heartbeat: Heartbeat = NO_HEARTBEAT  # proof of life for the healthcheck (``heartbeat``)
    restart_counts: RestartCounting | None = None  # for the status pages' metrics
    board: BoardRecorder | None = None  # each service's container, for the status pages


class SupervisorDaemon:
    """Runs the supervisor. Feed it with ``process``/``tick`` (tests) or ``run`` it."""

    def __init__(self, settings: Supervisor, instance: str, parts: DaemonParts) -> None:
        self._parts = parts
        self._instance = instance
        snapshot = parts.store.load()
        self._saved: CascadeSnapshot | None = snapshot
        limiter = CascadeLimiter.from_settings(settings, snapshot.limiter)
        cascade_settings = CascadeSettings.from_config(settings)
        self._machine = CascadeMachine.from_snapshot(cascade_settings, limiter, snapshot)
        self._autoheal = AutohealPolicy(AutohealSettings.from_config(settings))
        self._throttle = NotificationThrottle()
        self._verifier = Verifier(parts.surveyor.probe)
        self._targets: dict[str, DependentTarget] = {}
        self._dependents: frozenset[str] = frozenset()
        self._gluetun_healthy = False  # unknown until the first look: autoheal holds back
        self._gluetun_healthy_at: datetime | None = None
        self._recreates_running = 0
        self._backlog: deque[Observation] = deque()
        self._feeding = False
        self._executing = True
        self._stopping = False
        self._connected = False
        self._stuck_wakeups: set[datetime] = set()
        self._reread_failures = 0
        self._reread_at: datetime | None = None
        self._rereads = 0  # full engine re-reads (attempts), for the footprint's counts
        self._holds = Holds(parts.leases)  # the daemon's own updates' and commands' leases
        self._unsaved: list[Action] = []  # decided, waiting for the state to reach the disk
        self._save_failures = 0
        self._save_retry_at: datetime | None = None
        self._user_stopped = parts.store.user_stopped()
        self._resume_poll_at: datetime | None = None  # while paused: the next look for --resume

    # -- what callers read ---------------------------------------------------------------

    @property
    def machine(self) -> CascadeMachine:
        """Return the cascade machine (read it; feed it only through the daemon)."""
        return self._machine

    @property
    def engine_rereads(self) -> int:
        """Return how many full engine re-reads were made (tried) so far."""
        return self._rereads

    @property
    def stopping(self) -> bool:
        """Return True once a stop was requested."""
        return self._stopping

    @property
    def settled(self) -> bool:
        """Return True when the engine was read and nothing is in flight: no cascade, no
        compose call, no verification (``supervise --once`` ends then)."""
        quiet = self._recreates_running == 0 and not self._verifier.pending
        return self._connected and quiet and self._machine.status(self._now()).in_flight is None

    def next_wakeup(self) -> datetime | None:
        """Return when ``tick`` must run next, or None when only a message can change things."""
        now = self._now()
        candidates = [
            self._machine.next_wakeup(),
            self._autoheal.next_wakeup(),
            self._throttle.next_wakeup(),
            self._verifier.next_wakeup(),
            self._reread_at,
            self._holds.next_wakeup(),
            self._save_retry_at,
            self._parts.jobs.next_wakeup() if self._parts.jobs else None,
            self._parts.heartbeat.next_wakeup(),  # an idle loop still turns, and says so
        ]
        if self._machine.status(now).mode is Mode.PAUSED:
            # A fixed moment: "now + 2 s", computed afresh, would never come due.
            candidates.append(self._resume_poll_at or now)
        due = [moment for moment in candidates if moment is not None]
        return min((m for m in due if m not in self._stuck_wakeups), default=None)

    # -- driving -------------------------------------------------------------------------

    def start(self) -> None:
        """Log the state loaded and take a resume request left while the daemon was down."""
        status = self._machine.status(self._now())
        in_flight = status.in_flight
        what = f"cascade for gluetun {in_flight.gluetun.short_id} in flight" if in_flight else ""
        logger.info("state loaded: %s%s", status.mode.value, f", {what}" if what else "")
        self._take_resume_request()
        if self._parts.jobs is not None:
            self._parts.jobs.start()

    def run(self, stop_when_settled: bool = False) -> None:
        """Process messages and ticks until a stop is requested (or, with
        ``stop_when_settled``, until ``settled``), then shut down."""
        try:
            while not self._stopping:
                message = self._parts.inbox.get(self._seconds_until_wakeup())
                if message is not None:
                    self._guarded(self.process, message)
                self._parts.heartbeat.loop_turned(self._now())
                if self._is_due():
                    self._guarded(self.tick)
                if stop_when_settled and self.settled:
                    logger.info("settled: no cascade in flight; exiting (--once)")
                    break
        finally:
            self.shutdown()

    def process(self, message: Message) -> None:
        """Handle one inbox message."""
        self._stuck_wakeups.clear()
        match message:
            case EventArrived(event):
                self._on_event(event)
            case StreamConnected(failures, resumed, connects):
                self._parts.heartbeat.stream_connected(self._now())
                self._on_connected(failures, resumed, connects)
            case InboxOverflowed(dropped):
                logger.warning("%d events dropped (more than %d waiting)", dropped,
                               Inbox.EVENT_LIMIT)
                self._reread(f"{dropped} events dropped")
            case StreamLost(reason, retry_in):
                self._parts.heartbeat.stream_lost(self._now())
                self._connected = False
                logger.warning("event stream lost (%s); reconnecting in %.1f s", reason, retry_in)
            case PrepareFinished(results):
                self._on_results(results, "prepared", "preparing")
            case RecreateFinished(results, started):
                words = ("started", "starting") if started else ("recreated", "recreating")
                self._on_results(results, *words)
            case RestartFinished(name, error):
                self._on_restarted(name, error)
            case StopRequested(reason):
                logger.info("stop requested (%s): finishing the current compose call", reason)
                self._stopping = True
            case MaintenanceStarted(services, reason):
                self._on_hold_started(services, reason)
            case MaintenanceEnded(services, reason):
                self._on_hold_ended(services, reason)
            case JobFinished(job):
                logger.debug("%s run ended", job)  # only wakes the loop: a new next_wakeup
            case _:
                assert_never(message)

    def process_waiting(self) -> int:
        """Process every message waiting in the inbox now (and those they lead to); return
        how many were processed (tests drive the daemon with this)."""
        count = 0
        while (message := self._parts.inbox.get(0)) is not None:
            self.process(message)
            count += 1
        return count

    def tick(self) -> None:
        """Run what is due now: cascade deadlines and retries, verification deadlines,
        autoheal restarts (after those, so it sees the latest locks), held-back notices."""
        now = self._now()
        if self._reread_at is not None and self._reread_at <= now:
            self._reread_at = None
            self._reread(f"retry {self._reread_failures} after a failed engine read")
        if self._save_retry_at is not None and self._save_retry_at <= now:
            self._save_pending()
        self._feed(Tick())
        self._feed_all(self._verifier.expire(now))
        self._poll_resume_request(now)
        self._poll_leases(now)
        self._execute_all(self._autoheal.tick(now, self._locked()))
        for notice in self._throttle.flush(now):
            self._send(notice)
        if self._parts.jobs is not None and self._executing:
            self._parts.jobs.tick(now)
        after = self.next_wakeup()
        if after is not None and after <= self._now():
            self._stuck_wakeups.add(after)  # waits for a message (e.g. a lock ending) instead

    def shutdown(self) -> None:
        """Stop the stream, stop the jobs (each within one shared budget), finish the compose
        call in progress (bounded; killed when over its time) and record its results, save,
        and give the notification queue a few seconds: each part within its ``stop_budget``."""
        self._stopping = True
        self._executing = False
        if self._parts.stream is not None:
            self._parts.stream.stop(STREAM_STOP_SECONDS)
        if self._parts.jobs is not None:
            self._parts.jobs.stop(JOBS_STOP_SECONDS)
        if not self._parts.compose_worker.stop(COMPOSE_FINISH_SECONDS):
            logger.warning("the compose call did not finish in time; the saved state resumes it")
        self._parts.restart_worker.stop(RESTART_FINISH_SECONDS)
        for message in self._parts.inbox.drain():
            if isinstance(message, PrepareFinished | RecreateFinished | RestartFinished):
                self._guarded(self.process, message)
        self._verifier.forget()
        self._parts.store.save(self._machine.snapshot())
        left = self._parts.notifier.close(NOTIFY_CLOSE_SECONDS)
        logger.info("stopped; state saved%s", f"; {left} notification(s) unsent" if left else "")
        self._parts.store.close()

    # -- intake --------------------------------------------------------------------------

    def _on_event(self, event: ContainerEvent) -> None:
        app_back = self._linked_app_back(event)  # before the cascade's verifier sees it
        layout = self._parts.surveyor.layout()
        meaning = relevance(event, layout.gluetun_service, layout.project_name)
        self._note_gluetun_health(event, meaning)
        self._note_user_stop(event)
        if self._parts.board is not None:
            if event.kind in HOLDABLE_KINDS:  # only then is a hold worth its lease read
                self._parts.board.hold(self._holds.services(), event.at)
            self._parts.board.observe(event)
        gluetun_news = meaning in (Relevance.GLUETUN_STARTED, Relevance.GLUETUN_HEALTHY)
        if gluetun_news and self._cascade_held(f"gluetun's {event.kind.value}"):
            pass  # whoever holds it hands over when it ends (logged)
        elif meaning is Relevance.GLUETUN_STARTED:
            self._on_gluetun_started()
        elif meaning is Relevance.GLUETUN_HEALTHY:
            self._gluetun_healthy_at = event.at
            self._on_gluetun_healthy()
        if event.kind in (EventKind.HEALTH, EventKind.DESTROY):
            self._execute_all(self._autoheal.observe(event, self._now()))
        self._feed_all(self._verifier.recheck(self._verifier.keys_for(event)))
        if app_back and self._parts.jobs is not None and self._executing:
            self._parts.jobs.app_healthy()

    def _linked_app_back(self, event: ContainerEvent) -> bool:
        """Return True when a linked app became healthy on its own: not in a cascade (its
        end wires) nor under an update's hold (its end wires); a restore, say."""
        layout = self._parts.surveyor.layout()
        return (
            event.health is Health.HEALTHY
            and event.project == layout.project_name
            and event.service in WIRED_SERVICES
            and event.service not in self._holds.services()
            and self._machine.status(self._now()).in_flight is None
        )

    def _note_gluetun_health(self, event: ContainerEvent, meaning: Relevance) -> None:
        """Track whether gluetun is healthy: while it is not, its dependents' failing
        healthchecks say nothing about them, and autoheal must not restart them."""
        layout = self._parts.surveyor.layout()
        is_gluetun = (
            event.project == layout.project_name and event.service == layout.gluetun_service
        )
        went_down = event.kind in (EventKind.START, EventKind.DIE)
        if meaning is Relevance.GLUETUN_HEALTHY:
            self._gluetun_healthy = True
        elif is_gluetun and (went_down or event.health is Health.UNHEALTHY):
            self._gluetun_healthy = False

    def _on_gluetun_started(self) -> None:
        survey = self._look("gluetun started")
        if survey is None:
            return
        gluetun = survey.incarnation
        if gluetun is None:
            logger.info("gluetun started but no longer runs; waiting for its next start")
            return
        logger.info(
            "gluetun %s started; stale dependents: %s",
            gluetun.short_id,
            describe_stale(survey),
        )
        self._feed(GluetunStarted(gluetun, survey.staleness))

    def _on_gluetun_healthy(self) -> None:
        survey = self._look("gluetun healthy")
        if survey is None or survey.incarnation is None:
            return
        logger.info(
            "gluetun %s is healthy; stale dependents: %s",
            survey.incarnation.short_id,
            describe_stale(survey),
        )
        self._feed(GluetunHealthy(survey.incarnation, survey.staleness))

    def _on_connected(self, failures: int, resumed: bool, connects: int) -> None:
        was_connected, self._connected = self._connected, True
        if resumed and was_connected:
            # Reopened at once after an idle cut, the events in between replayed: nothing
            # was missed, and a re-read would cost a request per container (event_stream).
            logger.info(
                "event stream resumed after an idle cut; no engine re-read "
                "(stream connections: %d, full engine re-reads: %d)",
                connects,
                self._rereads,
            )
            return
        after = f" after {failures} failed attempt(s)" if failures else ""
        logger.info("event stream connected%s; watching (stream connections: %d)", after, connects)
        self._reread("the event stream (re)connected")

    def _on_results(
        self, results: Sequence[PrepareResult | RecreateResult], done: str, doing: str
    ) -> None:
        """Log and feed the results of a compose-worker job (``done``/``doing``: its step)."""
        self._recreates_running = max(0, self._recreates_running - 1)
        for result in results:
            if result.succeeded:
                logger.info("%s %s", done, result.service)
            else:
                logger.warning("%s %s failed: %s", doing, result.service, result.detail)
        self._feed_all(results)

    def _on_restarted(self, name: str, error: str | None) -> None:
        if error is None:
            logger.info("restarted %s", name)
            return
        logger.warning("restarting %s failed: %s", name, error)
        self._execute_all(self._autoheal.restart_failed(name, error))

    def _reread(self, reason: str) -> None:
        """Give the cascade a full ``EngineState`` and autoheal every container's health."""
        self._rereads += 1
        survey = self._look(reason)
        if survey is None:
            return
        self._reread_failures = 0
        try:
            containers = self._parts.surveyor.labelled_containers()
        except AdapterError as error:
            logger.warning("cannot read container health (%s): %s", reason, error.message)
            containers = []
        else:
            if self._parts.board is not None:
                self._parts.board.reset(containers, self._now())
                self._parts.board.hold(self._holds.services(), self._now())
        reports = self._parts.surveyor.health_reports(containers)
        gluetun = survey.incarnation
        state = "not running" if gluetun is None else f"{gluetun.short_id}"
        health = "healthy" if survey.gluetun_healthy else "not healthy"
        logger.info(
            "engine read (%s): gluetun %s%s; %d dependents; stale: %s",
            reason,
            state,
            f" ({health})" if gluetun else "",
            len(survey.staleness),
            describe_stale(survey),
        )
        if not self._cascade_held(f"the engine read ({reason})"):
            self._feed(EngineState(gluetun, survey.gluetun_healthy, survey.staleness))
        self._feed_all(self._verifier.recheck_all())  # their events may be among those missed
        now = self._now()
        for report in reports:
            self._execute_all(self._autoheal.report(report, now))

    def _look(self, reason: str) -> Survey | None:
        """Survey the engine and learn from it; None (logged) when the engine fails."""
        try:
            survey = self._parts.surveyor.survey()
        except AdapterError as error:
            self._reread_failures += 1
            delay = REREAD_RETRY.delay(self._reread_failures)
            self._reread_at = self._now() + delay
            logger.warning(
                "cannot read the engine (%s): %s; full re-read in %.0f s",
                reason,
                error.message,
                delay.total_seconds(),
            )
            return None
        self._targets.update(survey.targets)
        self._dependents = frozenset(survey.targets)
        self._forget_user_stops(survey.running)
        self._gluetun_healthy = survey.gluetun_healthy
        if survey.gluetun is not None:
            self._parts.store.remember_gluetun(survey.gluetun.id, self._now())
        return survey

    # -- deciding ------------------------------------------------------------------------

    def _feed(self, observation: Observation) -> None:
        """Hand ``observation`` to the machine; results that come back at once (verification
        answers) are fed after the current decision's actions, never in the middle of them."""
        self._backlog.append(observation)
        if self._feeding:
            return
        self._feeding = True
        try:
            while self._backlog:
                current = self._backlog.popleft()
                self._commit(self._machine.handle(current, self._now()))
        finally:
            self._feeding = False

    def _feed_all(self, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self._feed(observation)

    def _commit(self, actions: Sequence[Action]) -> None:
        """Save the machine's state (and the cascades that ended), then execute. An unchanged
        state is not written again (a tick that decided nothing costs no fsync)."""
        self._unsaved.extend(actions)
        if self._save_retry_at is None:  # while a retry waits, it saves for this one too
            self._save_pending()

    def _save_pending(self) -> None:
        """Save the machine's state with the cascades that ended, then execute what was
        decided. When the state file cannot be written (a full disk, a lost volume), nothing
        is executed: the actions wait, and saving is tried again with backoff, so an action
        never runs that a restarted supervisor would not know about."""
        actions, self._unsaved = self._unsaved, []
        finished = [action.summary for action in actions if isinstance(action, CascadeFinished)]
        snapshot = self._machine.snapshot()
        if finished or snapshot != self._saved:
            try:
                self._parts.store.save(snapshot, finished)
            except (OSError, sqlite3.Error) as error:
                self._unsaved = actions
                self._save_failures += 1
                delay = SAVE_RETRY.delay(self._save_failures)
                self._save_retry_at = self._now() + delay
                logger.error(
                    "cannot save the supervisor's state (%s); %d decided action(s) wait, "
                    "saving again in %.0f s",
                    error,
                    len(actions),
                    delay.total_seconds(),
                )
                return
            self._saved = snapshot
        self._save_failures, self._save_retry_at = 0, None
        self._execute_all(actions)

    def _poll_resume_request(self, now: datetime) -> None:
        """While paused, look for a ``supervise --resume`` request every ``RESUME_POLL``."""
        if self._machine.status(now).mode is not Mode.PAUSED:
            self._resume_poll_at = None
            return
        if self._resume_poll_at is None or self._resume_poll_at <= now:
            self._resume_poll_at = now + RESUME_POLL
            self._take_resume_request()

    def _take_resume_request(self) -> None:
        requested = self._parts.store.take_resume_request()
        if requested is None:
            return
        logger.info("resume requested at %s", clock_time(requested))
        self._commit(self._machine.resume(self._now()))

    # -- acting --------------------------------------------------------------------------

    def _execute_all(self, actions: Iterable[Action]) -> None:
        for action in actions:
            log_decision(action, self._reasons)
            if self._executing:
                self._execute(action)

    def _execute(self, action: Action) -> None:
        match action:
            case Notify():
                self._send(action)
            case PrepareDependents():
                self._prepare(action)
            case StartDependents() | RecreateDependents():
                self._recreate(action)
            case VerifyDependents():
                targets = [self._target(service) for service in action.services]
                deadline = action.deadline
                self._feed_all(self._verifier.start(action.gluetun, targets, deadline, self._now()))
            case RestartContainer():
                self._restart(action)
            case Reread():
                self._reread(action.reason)
            case Pause():
                self._parts.store.take_resume_request()  # one older than the pause is stale
            case CascadeFinished():
                if self._parts.jobs is not None:
                    self._parts.jobs.cascade_finished()
            case WaitForGluetun() | RetryDependent() | GiveUp():
                pass  # decisions only: logged; the follow-up comes from a later tick
            case _:
                assert_never(action)

    def _log_issued(self, step: str) -> None:
        """Log how long after gluetun's healthy event the first dependent was acted on."""
        if self._gluetun_healthy_at is not None:
            delay = (self._now() - self._gluetun_healthy_at).total_seconds()
            logger.info("%s issued %.3f s after gluetun reported healthy", step, delay)
            self._gluetun_healthy_at = None

    def _prepare(self, action: PrepareDependents) -> None:
        recreator, gluetun = self._parts.recreator, action.gluetun

        def failed(detail: str) -> Message:
            return PrepareFinished(
                tuple(PrepareResult(gluetun, key, False, detail) for key in action.services)
            )

        self._submit(
            action.services,
            lambda targets: PrepareFinished(recreator.prepare(gluetun, targets)),
            failed,
        )

    def _recreate(self, action: StartDependents | RecreateDependents) -> None:
        recreator, gluetun = self._parts.recreator, action.gluetun
        starting = isinstance(action, StartDependents)
        step = recreator.start if starting else recreator.recreate
        self._log_issued("start" if starting else "recreate")

        def failed(detail: str) -> Message:
            results = (RecreateResult(gluetun, key, False, detail) for key in action.services)
            return RecreateFinished(tuple(results), starting)

        self._submit(
            action.services,
            lambda targets: RecreateFinished(step(gluetun, targets), starting),
            failed,
        )

    def _submit(
        self,
        services: Sequence[str],
        run: Callable[[list[DependentTarget]], Message],
        failed: Callable[[str], Message],
    ) -> None:
        """Run one step of recreating ``services`` on the compose worker; its message comes
        back through the inbox, with a result for each service even when the step crashed."""
        targets = [self._target(service) for service in services]
        inbox = self._parts.inbox

        def job() -> None:
            try:
                message = run(targets)
            except Exception as error:  # a bug, not an engine answer: still a result for each
                logger.exception("acting on %s crashed", ", ".join(services))
                message = failed(f"it crashed: {error}")
            inbox.put(message)

        self._recreates_running += 1
        self._parts.compose_worker.submit(job)

    def _restart(self, action: RestartContainer) -> None:
        restarter, inbox = self._parts.restarter, self._parts.inbox
        counts = self._parts.restart_counts

        def job() -> None:
            try:
                restarter.restart(action.container_id)
            except AdapterError as error:
                inbox.put(RestartFinished(action.name, error.message))
            else:
                if counts is not None:  # on this worker: a file write never delays the loop
                    counts.count(action.name, action.reason)
                inbox.put(RestartFinished(action.name, None))

        self._parts.restart_worker.submit(job)

    def _send(self, notice: Notify) -> None:
        delivery = Delivery()  # settled by the notifier: an undelivered one holds nothing back
        admitted = self._throttle.admit(notice, self._now(), delivery)
        if admitted is None:
            logger.info("notice held back (a like one was sent recently): %s", notice.stage)
            return
        self._parts.notifier.put(notification_for(admitted, self._instance), delivery)

    # -- holds: the daemon's own updates, the commands' leases ----------------------------

    def _on_hold_started(self, services: Sequence[str], reason: str) -> None:
        self._holds.begin(services)
        self._note_holds()
        logger.info(
            "hold on %s (%s): the cascade ignores gluetun's events, autoheal skips them",
            ", ".join(services),
            reason,
        )

    def _on_hold_ended(self, services: Sequence[str], reason: str) -> None:
        self._holds.end(services)
        self._note_holds()
        logger.info("hold on %s ended (%s): re-reading the engine", ", ".join(services), reason)
        self._reread(f"the hold of {reason} ended")
        gluetun = self._parts.surveyor.layout().gluetun_service
        if gluetun in services and self._parts.jobs is not None and self._executing:
            self._parts.jobs.gluetun_replaced()
        if self._parts.jobs is not None and self._executing:
            self._parts.jobs.update_finished()

    def _note_holds(self) -> None:
        """Tell the status pages' board what is held: an update's stops are not faults."""
        if self._parts.board is not None:
            self._parts.board.hold(self._holds.services(), self._now())

    def _cascade_services(self) -> frozenset[str]:
        layout = self._parts.surveyor.layout()
        return frozenset({layout.gluetun_service, *layout.rendered_dependents, *self._dependents})

    def _cascade_held(self, what: str) -> bool:
        """Return True (logged) when an update or a command holds gluetun or a dependent:
        ``what`` is then left to it, and the engine is read again once it lets go."""
        holder = self._holds.blocking(self._cascade_services(), self._now())
        if holder is None:
            return False
        logger.info("%s while %s holds the vpn stack: left to it", what, holder)
        return True

    def _poll_leases(self, now: datetime) -> None:
        """When the command the cascade waited for has ended, read the engine again so the
        cascade heals whatever it left stale (it may have replaced gluetun)."""
        ended = self._holds.ended(now, self._cascade_services())
        if ended is None:
            return
        logger.info("%s ended: re-reading the engine", ended)
        self._reread(f"{ended} ended")
        if self._parts.jobs is not None and self._executing:
            self._parts.jobs.gluetun_replaced()
            self._parts.jobs.update_finished()

    def _note_user_stop(self, event: ContainerEvent) -> None:
        """Remember a dependent stopped by its user (a ``stop`` nobody of ours made: not the
        cascade, not autoheal, no update or command holding it) until it starts again; the
        cascade leaves it stopped. Kept in the state file: it outlives reconnects."""
        layout = self._parts.surveyor.layout()
        key = event.service if event.project == layout.project_name else event.name
        if key is None or key not in self._cascade_services() - {layout.gluetun_service}:
            return
        stopped = set(self._user_stopped)
        if event.kind is EventKind.STOP and key not in self._ours():
            stopped.add(key)
        elif event.kind is EventKind.START:
            stopped.discard(key)
        if stopped != self._user_stopped:
            self._user_stopped = frozenset(stopped)
            self._parts.store.set_user_stopped(self._user_stopped)
            state = "stopped by its user: left stopped" if key in stopped else "started again"
            logger.info("%s %s", key, state)

    def _forget_user_stops(self, running: frozenset[str]) -> None:
        """Forget the user's stop of the dependents that run again although no ``start`` was
        seen: started while the stream was down. So it goes at an engine restart, whose
        shutdown sends every container's ``stop`` down the stream before it closes, and whose
        boot starts them again (restart policies); one the boot failed to start is healed,
        its error shows it was no choice (``discovery._not_running``)."""
        started = self._user_stopped & running
        if not started:
            return
        self._user_stopped -= started
        self._parts.store.set_user_stopped(self._user_stopped)
        logger.info("%s running again: no longer left stopped", ", ".join(sorted(started)))

    def _ours(self) -> frozenset[str]:
        """Return the services whose stop would be of our making (or a command's). An
        autoheal restart's stop is followed by its start at once, which forgets it again."""
        return self._machine.locked_services() | self._holds.services()

    # -- helpers -------------------------------------------------------------------------

    def _target(self, key: str) -> DependentTarget:
        known = self._targets.get(key)
        if known is not None:
            return known
        layout = self._parts.surveyor.layout()
        if key in layout.rendered_dependents:
            return DependentTarget(key, layout.vpn_project, key)
        return DependentTarget(key, None, None, key)

    def _locked(self) -> frozenset[str]:
        """Return what autoheal must leave alone: what the cascade holds, and every dependent
        while gluetun is not healthy (restarting them cannot help then)."""
        locked = self._machine.locked_services() | self._holds.services()
        return locked if self._gluetun_healthy else locked | self._dependents

    def _reasons(self, services: Sequence[str]) -> str:
        cascade = self._machine.snapshot().in_flight
        if cascade is None:
            return ""
        reasons = [
            f"{item.service}: {item.reason}"
            for item in cascade.dependents
            if item.service in services and item.reason
        ]
        return "; ".join(reasons)

    def _now(self) -> datetime:
        return self._parts.clock.now()

    def _seconds_until_wakeup(self) -> float | None:
        wakeup = self.next_wakeup()
        if wakeup is None:
            return None
        return max(0.0, (wakeup - self._now()).total_seconds())

    def _is_due(self) -> bool:
        wakeup = self.next_wakeup()
        return wakeup is not None and wakeup <= self._now()

    def _guarded(self, step: Callable[..., None], *arguments: object) -> None:
        """Run one step of the loop; a bug in it is logged, and the loop goes on (the state
        on disk is the last one saved before acting, so nothing half-done is recorded)."""
        try:
            step(*arguments)
        except Exception:
            logger.exception("supervisor step failed; continuing")
