"""One sync of the forwarded port into qBittorrent, with the clients injected.

Control flow: ask gluetun for the forwarded port (while it has none yet, or does not answer
yet, ask again with backoff until ``port_wait_seconds`` are spent) -> read qBittorrent's
listen preferences -> :func:`~mediastack.portsync.decision.decide` -> nothing, or (unless a
dry run) one ``setPreferences`` -> read back to confirm, since qBittorrent answers 200 to
anything. Every failure of gluetun or qBittorrent becomes a FAILED outcome with a reason and
a fix: :func:`sync_once` does not raise for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from mediastack.adapters.errors import AdapterError
from mediastack.adapters.gluetun import (
    GluetunError,
    GluetunUnauthorizedError,
    GluetunUnavailableError,
    PublicAddress,
)
from mediastack.adapters.qbittorrent import (
    ListenPreferences,
    QbittorrentBannedError,
    QbittorrentError,
    QbittorrentLoginFailedError,
    QbittorrentLoginRequiredError,
    QbittorrentRejectedError,
    QbittorrentSessionLostError,
    QbittorrentUnreachableError,
)
from mediastack.portsync.decision import NoChange, decide
from mediastack.portsync.outcome import Problem, SyncOutcome, SyncStatus, failed

FIRST_POLL_SECONDS = 1.0
MAXIMUM_POLL_SECONDS = 15.0

Wait = Callable[[float], bool]
"""Wait up to the given seconds; return True when asked to stop (``threading.Event.wait``)."""

Progress = Callable[[str], None]
"""Told, in words, why the sync is waiting."""


class ForwardedPortSource(Protocol):
    """Where the forwarded port comes from: :class:`~mediastack.adapters.gluetun.
    GluetunControlClient`, or a fake."""

    def forwarded_ports(self) -> tuple[int, ...]:
        """Return the forwarded ports, empty while there is none; raise GluetunError."""
        ...

    def public_address(self) -> PublicAddress | None:
        """Return the VPN's exit address, None while there is none; raise GluetunError."""
        ...


class PreferencesStore(Protocol):
    """qBittorrent's listen preferences: :class:`~mediastack.adapters.qbittorrent.
    QbittorrentClient`, or a fake."""

    def read_preferences(self) -> ListenPreferences:
        """Return the current listen preferences; raise QbittorrentError."""
        ...

    def write_preferences(self, preferences: ListenPreferences) -> None:
        """Write all three listen preferences at once; raise QbittorrentError."""
        ...


class _Failure(Exception):
    """Ends a sync early with a FAILED outcome."""

    def __init__(self, problem: Problem, reason: str, fix: str | None = None) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason
        self.fix = fix


def sleep_wait(seconds: float) -> bool:
    """The Wait of a one-shot command: sleep, never asked to stop."""
    time.sleep(seconds)
    return False


def sync_once(
    gluetun: ForwardedPortSource,
    qbittorrent: PreferencesStore,
    *,
    port_wait_seconds: float,
    dry_run: bool = False,
    wait: Wait = sleep_wait,
    monotonic: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
) -> SyncOutcome:
    """Given the two clients, make qBittorrent listen on gluetun's forwarded port with random
    port and UPnP off, writing only when something differs (never on a dry run); return what
    happened. Blocks up to ``port_wait_seconds`` (plus request timeouts) while gluetun has no
    port yet; ``wait`` returning True ends that early (outcome STOPPED). Raises nothing for
    gluetun's or qBittorrent's failures: they are FAILED outcomes."""
    started = monotonic()
    try:
        port = _await_forwarded_port(
            gluetun, port_wait_seconds, wait=wait, monotonic=monotonic, progress=progress
        )
    except _Failure as failure:
        waited = monotonic() - started
        return failed(failure.problem, failure.reason, failure.fix, waited_seconds=waited)
    waited = monotonic() - started
    try:
        applied = _apply(port, qbittorrent, dry_run=dry_run, waited_seconds=waited)
    except QbittorrentError as error:
        return failed(
            problem_of(error), error.message, error.fix, forwarded_port=port, waited_seconds=waited
        )
    return _with_public_address(gluetun, applied)


def _with_public_address(gluetun: ForwardedPortSource, outcome: SyncOutcome) -> SyncOutcome:
    """Add the VPN's exit address gluetun reports (for the status pages): one more request
    to the control server it just answered; its failure leaves the address unknown and the
    sync as it was."""
    try:
        address = gluetun.public_address()
    except GluetunError:
        return outcome
    if address is None:
        return outcome
    return replace(outcome, public_ip=address.ip, vpn_country=address.country)


def _await_forwarded_port(
    gluetun: ForwardedPortSource,
    limit_seconds: float,
    *,
    wait: Wait,
    monotonic: Callable[[], float],
    progress: Progress | None = None,
) -> int:
    """Return gluetun's (first) forwarded port, asking again with backoff while it has none
    or does not answer, for at most ``limit_seconds``. Raise _Failure when time runs out,
    gluetun refuses the key or answers nonsense, or ``wait`` asks to stop."""
    deadline = monotonic() + limit_seconds
    attempt = 0
    while True:
        attempt += 1
        port, not_ready = _ask_gluetun(gluetun)
        if port is not None:
            return port
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise _gave_up(not_ready, limit_seconds)
        delay = min(poll_delay(attempt), remaining)
        if progress is not None:
            progress(f"{_waiting_reason(not_ready)}; asking again in {delay:.0f} s")
        if wait(delay):
            raise _Failure(Problem.STOPPED, "stopped while waiting for gluetun's forwarded port")


def poll_delay(attempt: int) -> float:
    """Given the number of attempts made (1 or more), return the wait before the next:
    1, 2, 4, 8 s, then 15 s each time."""
    return min(FIRST_POLL_SECONDS * 2.0 ** min(attempt - 1, 16), MAXIMUM_POLL_SECONDS)


def _ask_gluetun(gluetun: ForwardedPortSource) -> tuple[int | None, GluetunError | None]:
    """Return (port, None) when gluetun has one, (None, error) when it did not answer,
    (None, None) when it has none yet; raise _Failure for errors a retry cannot clear."""
    try:
        ports = gluetun.forwarded_ports()
    except GluetunUnavailableError as error:
        return None, error
    except GluetunError as error:
        raise _Failure(problem_of(error), error.message, error.fix) from None
    return (ports[0], None) if ports else (None, None)


def _waiting_reason(not_ready: GluetunError | None) -> str:
    if not_ready is not None:
        return f"gluetun does not answer yet ({not_ready.message})"
    return "gluetun has no forwarded port yet"


def _gave_up(not_ready: GluetunError | None, limit_seconds: float) -> _Failure:
    if not_ready is not None:
        return _Failure(
            Problem.GLUETUN_UNREACHABLE,
            f"{not_ready.message} (for {limit_seconds:.0f} s)",
            not_ready.fix,
        )
    return _Failure(
        Problem.NO_FORWARDED_PORT,
        f"gluetun reported no forwarded port within {limit_seconds:.0f} s",
        "check that your VPN provider and server support port forwarding "
        "(vpn.port_forwarding) and gluetun's logs (`mediastack logs gluetun`)",
    )


def _apply(
    port: int, qbittorrent: PreferencesStore, *, dry_run: bool, waited_seconds: float
) -> SyncOutcome:
    """Read, decide, and write (unless a dry run) and confirm; raise QbittorrentError."""
    current = qbittorrent.read_preferences()
    decision = decide(port, current)
    if isinstance(decision, NoChange):
        return _succeeded(SyncStatus.UNCHANGED, port, current, current, waited_seconds)
    if dry_run:
        return _succeeded(SyncStatus.WOULD_CHANGE, port, current, decision.after, waited_seconds)
    qbittorrent.write_preferences(decision.after)
    applied = qbittorrent.read_preferences()
    if applied != decision.after:
        return failed(
            Problem.QBITTORRENT_NOT_APPLIED,
            f"qBittorrent accepted {decision.after.as_json()} but now reports {applied.as_json()}",
            "check qBittorrent's log; it may not be able to listen on that port",
            forwarded_port=port,
            before=current,
            waited_seconds=waited_seconds,
        )
    return _succeeded(SyncStatus.CHANGED, port, current, applied, waited_seconds)


def _succeeded(
    status: SyncStatus,
    port: int,
    before: ListenPreferences,
    after: ListenPreferences,
    waited_seconds: float,
) -> SyncOutcome:
    return SyncOutcome(
        status, forwarded_port=port, before=before, after=after, waited_seconds=waited_seconds
    )


_PROBLEMS: tuple[tuple[type[AdapterError], Problem], ...] = (
    (GluetunUnavailableError, Problem.GLUETUN_UNREACHABLE),
    (GluetunUnauthorizedError, Problem.GLUETUN_UNAUTHORIZED),
    (GluetunError, Problem.GLUETUN_BAD_ANSWER),
    (QbittorrentUnreachableError, Problem.QBITTORRENT_UNREACHABLE),
    (QbittorrentSessionLostError, Problem.QBITTORRENT_UNREACHABLE),
    (QbittorrentLoginFailedError, Problem.QBITTORRENT_LOGIN_FAILED),
    (QbittorrentLoginRequiredError, Problem.QBITTORRENT_LOGIN_REQUIRED),
    (QbittorrentBannedError, Problem.QBITTORRENT_BANNED),
    (QbittorrentRejectedError, Problem.QBITTORRENT_REJECTED),
    (QbittorrentError, Problem.QBITTORRENT_BAD_ANSWER),
)


def problem_of(error: GluetunError | QbittorrentError) -> Problem:
    """Return the Problem an adapter error stands for (the most specific class wins)."""
    for error_type, problem in _PROBLEMS:
        if isinstance(error, error_type):
            return problem
    raise TypeError(f"no problem is known for {type(error).__name__}")
