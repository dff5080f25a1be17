"""Push pings (issue 12): the supervisor tells healthchecks.io, Uptime Kuma or any URL that
it is alive, so that an outside monitor alerts when the pings turn to failures or stop.

``PushPinger`` decides, per URL, when a ping is due and records how each ended; ``PushThread``
runs it on its own thread, asking an injected ``verdict()`` every ``CHECK_SECONDS``. What each
service wants, and the sources read for it, is in ``push_monitors``; the HTTP client, and why
it is urllib, in ``push_transport`` (imported only when a URL is configured).

When (``status.push_interval_seconds``, 60 s by default, is the interval):

- a ping to each URL every interval, healthy or not (a generic URL: only when healthy);
- a change of verdict (healthy to unhealthy, and back) is pushed at once, then every interval;
- a failed ping is not retried within the interval: the next interval is the retry (so set
  the monitor's grace, or Kuma's heartbeat interval, to at least twice the interval, and one
  lost ping does not alert: healthchecks.io's reliability tips advise retries, this is their
  equivalent at a 60 s cadence);
- at most ``RATE_LIMIT`` pings a minute to one URL (healthchecks.io drops pings past 5 a
  minute; applied to every kind, so a flapping verdict cannot flood a monitor): a ping over it
  waits for the window, not for the next interval.

Each request is bounded (``push_transport``: 3 s to connect, 10 s in all), URLs are pinged
one after the other, so a cycle takes at most 10 s per URL; the thread never blocks the
daemon's loop. A URL that fails logs one warning, and one line when it answers again: not
one a minute for a monitor down for hours. Logs name a URL by its kind and host only: the
UUID or token in it is the secret.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mediastack.config.schema import StatusPage
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.push_monitors import (
    NoReply,
    PushKind,
    PushOutcome,
    PushRequest,
    PushTarget,
    Reply,
    build_request,
    judge,
    parse_push_urls,
    short_message,
)

logger = logging.getLogger("mediastack.supervisor")

CHECK_SECONDS = 5.0
"""How often the thread asks for the verdict: a change is pushed within this."""
RATE_LIMIT = 5
RATE_WINDOW_SECONDS = 60.0
LEAST_WAIT_SECONDS = 0.5
HEALTHY_FALLBACK = "healthy"
UNHEALTHY_FALLBACK = "unhealthy"
KIND_NAMES = {
    PushKind.HEALTHCHECKS: "healthchecks.io",
    PushKind.UPTIME_KUMA: "Uptime Kuma",
    PushKind.GENERIC: "push URL",
}

Transport = Callable[[PushRequest], Reply]
"""Makes one request; returns the answer (any status) or raises ``NoReply``."""
Verdict = Callable[[], tuple[bool, str] | None]
"""Returns whether the supervisor is healthy, and why (a short sentence, no secret); None
while that cannot be told yet (a starting supervisor: nothing is pushed then)."""


@dataclass(frozen=True)
class TargetStatus:
    """One URL's state, for the status page and metrics (its kind and host, never its URL)."""

    kind: PushKind
    host: str
    failing: bool
    failures_in_a_row: int
    last_outcome: PushOutcome | None
    last_detail: str
    last_attempt_at: datetime | None


@dataclass
class _TargetState:
    target: PushTarget
    pushed_healthy: bool | None = None
    last_attempt: float | None = None
    recent: deque[float] = field(default_factory=deque)
    failing: bool = False
    answered: bool = False
    failures_in_a_row: int = 0
    last_outcome: PushOutcome | None = None
    last_detail: str = ""
    last_attempt_at: datetime | None = None


class PushPinger:
    """Pings ``targets`` for each verdict it is given (see the module docstring), through
    ``transport``; time from ``clock`` (its monotonic seconds schedule, its ``now`` dates)."""

    def __init__(
        self,
        targets: Sequence[PushTarget],
        interval_seconds: float,
        transport: Transport,
        clock: Clock,
        secrets: Iterable[str] = (),
    ) -> None:
        """``secrets``: more text never to send nor log (the .env's other secrets), on top
        of the URLs' own secret parts."""
        self._states = [_TargetState(target) for target in targets]
        self._interval = interval_seconds
        self._transport = transport
        self._clock = clock
        self._secrets = tuple(
            {secret for target in targets for secret in target.secrets} | set(secrets)
        )
        self._lock = threading.Lock()
        self._counts = {target.kind: dict.fromkeys(PushOutcome, 0) for target in targets}

    def check(
        self, healthy: bool, reason: str, stopping: Callable[[], bool] = lambda: False
    ) -> int:
        """Ping every URL a ping is due to for this verdict; return how many were made.
        ``stopping`` is asked between two URLs (a stop does not wait for the rest)."""
        fallback = HEALTHY_FALLBACK if healthy else UNHEALTHY_FALLBACK
        message = short_message(reason, self._secrets, fallback)
        made = 0
        for state in self._states:
            if stopping():
                break
            if self._due(state, healthy, self._clock.monotonic()):
                self._ping(state, healthy, message)
                made += 1
        return made

    def seconds_until_due(self) -> float | None:
        """Return the seconds until the next scheduled ping (0: one is due now; None: none
        is scheduled before the verdict changes, or there is no URL)."""
        now = self._clock.monotonic()
        waits = [wait for state in self._states if (wait := self._wait(state, now)) is not None]
        return max(0.0, min(waits)) if waits else None

    def counters(self) -> dict[str, dict[str, int]]:
        """Return how many pings ended how, per kind of URL configured:
        ``{"healthchecks": {"ok": 12, "refused": 0, "timed_out": 1, "unreachable": 0}}``."""
        with self._lock:
            return {
                kind.value: {outcome.value: count for outcome, count in counts.items()}
                for kind, counts in self._counts.items()
            }

    def statuses(self) -> tuple[TargetStatus, ...]:
        """Return each URL's state, in the configured order."""
        with self._lock:
            return tuple(
                TargetStatus(
                    state.target.kind,
                    state.target.host,
                    state.failing,
                    state.failures_in_a_row,
                    state.last_outcome,
                    state.last_detail,
                    state.last_attempt_at,
                )
                for state in self._states
            )

    # -- deciding ----------------------------------------------------------------------

    def _due(self, state: _TargetState, healthy: bool, now: float) -> bool:
        if state.target.kind is PushKind.GENERIC and not healthy:
            state.pushed_healthy = False  # its silence says it; a recovery pings at once
            return False
        while state.recent and state.recent[0] <= now - RATE_WINDOW_SECONDS:
            state.recent.popleft()
        if len(state.recent) >= RATE_LIMIT:
            return False  # over the rate limit: due again when the window has room
        return (
            state.last_attempt is None
            or healthy != state.pushed_healthy
            or now - state.last_attempt >= self._interval
        )

    def _wait(self, state: _TargetState, now: float) -> float | None:
        if state.target.kind is PushKind.GENERIC and state.pushed_healthy is False:
            return None  # nothing to send until the verdict is healthy again
        if state.last_attempt is None:
            return 0.0
        wait = state.last_attempt + self._interval - now
        if len(state.recent) >= RATE_LIMIT:
            wait = max(wait, state.recent[0] + RATE_WINDOW_SECONDS - now)
        return wait

    # -- pinging -----------------------------------------------------------------------

    def _ping(self, state: _TargetState, healthy: bool, message: str) -> None:
        request = build_request(state.target, healthy, message)
        if request is None:
            return
        started = self._clock.monotonic()
        state.recent.append(started)
        state.last_attempt, state.pushed_healthy = started, healthy
        try:
            outcome, detail = judge(state.target.kind, self._transport(request))
        except NoReply as failure:
            outcome, detail = failure.outcome, failure.detail
        self._record(state, outcome, short_message(detail, self._secrets, outcome.value))

    def _record(self, state: _TargetState, outcome: PushOutcome, detail: str) -> None:
        target = state.target
        name = f"{KIND_NAMES[target.kind]} at {target.host}"
        with self._lock:
            self._counts[target.kind][outcome] += 1
            state.last_outcome, state.last_detail = outcome, detail
            state.last_attempt_at = self._clock.now()
            failures = state.failures_in_a_row
            state.failures_in_a_row = 0 if outcome is PushOutcome.OK else failures + 1
            was_failing, state.failing = state.failing, outcome is not PushOutcome.OK
        if outcome is not PushOutcome.OK and not was_failing:
            logger.warning(
                "push ping to %s failed: %s; pinged again every %g s, logged again when it answers",
                name,
                detail,
                self._interval,
            )
        elif outcome is PushOutcome.OK and was_failing:
            logger.info("push ping to %s answers again, after %d failed ping(s)", name, failures)
        elif outcome is PushOutcome.OK and not state.answered:
            logger.info("push pings to %s: the first one answered (%s)", name, detail)
        else:
            logger.debug("push ping to %s: %s (%s)", name, outcome.value, detail)
        state.answered = state.answered or outcome is PushOutcome.OK


class PushThread:
    """Runs ``pinger`` on a daemon thread: every ``check_seconds`` (sooner when a ping is
    scheduled sooner) it asks ``verdict()`` and lets the pinger ping what is due. ``stop``
    wakes it at once; a ping in progress ends within its own bound (the thread is a daemon
    thread, so even a hung name lookup never holds the process)."""

    def __init__(
        self,
        pinger: PushPinger,
        verdict: Verdict,
        check_seconds: float = CHECK_SECONDS,
        name: str = "push-pings",
    ) -> None:
        self.pinger = pinger
        self._verdict = verdict
        self._check_seconds = check_seconds
        self._name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._verdict_failed = False

    def start(self) -> None:
        """Start the thread (its first cycle pings every URL at once)."""
        self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to stop and wait ``timeout`` seconds at most; return True when it
        has ended (False: a ping is still in progress; it ends on its own bound)."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def run_once(self) -> int:
        """Ask the verdict and ping what is due (one cycle); return how many pings were made.
        Never raises: a failure is logged."""
        verdict = self._read_verdict()
        if verdict is None:
            return 0
        healthy, reason = verdict
        try:
            return self.pinger.check(healthy, reason, self._stopping.is_set)
        except Exception:  # a bug, not a failed ping (those are recorded): keep pinging
            logger.exception("%s: a cycle crashed", self._name)
            return 0

    def _work(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self._delay())

    def _delay(self) -> float:
        due = self.pinger.seconds_until_due()
        wait = self._check_seconds if due is None else min(self._check_seconds, due)
        return max(LEAST_WAIT_SECONDS, wait)

    def _read_verdict(self) -> tuple[bool, str] | None:
        """The verdict; one that cannot be read is unhealthy (the outside monitor should
        know), logged once until it can be read again."""
        try:
            verdict = self._verdict()
        except Exception as error:
            if not self._verdict_failed:
                logger.exception("%s: the health verdict cannot be read", self._name)
            self._verdict_failed = True
            return False, f"the supervisor's health cannot be read ({type(error).__name__})"
        self._verdict_failed = False
        return verdict


def push_targets(status: StatusPage, environment: Mapping[str, str]) -> tuple[PushTarget, ...]:
    """Return the push URLs of ``status.push_urls_variable`` in ``environment`` (none when it
    is unset or empty); raise PushUrlError for one that is not a usable push URL."""
    variable = status.push_urls_variable
    return parse_push_urls(environment.get(variable, ""), variable)


def build_push_thread(
    status: StatusPage,
    environment: Mapping[str, str],
    clock: Clock,
    verdict: Verdict,
    secrets: Iterable[str] = (),
) -> PushThread | None:
    """Return the push thread the config and ``environment`` ask for, not started; None when
    no push URL is configured (and then the HTTP client is not even imported). Raise
    PushUrlError for a URL that is not usable."""
    targets = push_targets(status, environment)
    if not targets:
        return None
    from mediastack.supervisor.runtime.push_transport import UrllibTransport

    pinger = PushPinger(targets, status.push_interval_seconds, UrllibTransport(), clock, secrets)
    kinds = ", ".join(f"{KIND_NAMES[target.kind]} at {target.host}" for target in targets)
    logger.info("push pings every %d s to %s", status.push_interval_seconds, kinds)
    return PushThread(pinger, verdict)
