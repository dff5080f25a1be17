"""Verifying recreated dependents without a polling loop.

A ``VerifyDependents`` is checked at once; a dependent not yet healthy is checked again only
when the engine says something about it (its ``start``, ``die`` or ``health_status`` event:
the health event is exactly when the answer can change) and one last time at the deadline,
when "not yet" becomes a failure. A check the engine could not answer is reported as
``PROBE_UNAVAILABLE`` at once, never as a failure: the core retries it later, bounded.

A safety net against a missed event (dropped with a flood, lost while the stream was down, or
never delivered: seen twice in a loaded lab, the eight healed dependents waiting minutes for
their deadline): while a verification is pending it is also checked every
``RECHECK_SECONDS``, and every pending one is checked after a full engine re-read. Only while
a cascade verifies: an idle supervisor still polls nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mediastack.adapters.errors import AdapterError
from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.events import ContainerEvent, EventKind
from mediastack.supervisor.observations import Verification, VerificationResult
from mediastack.supervisor.runtime.discovery import DependentTarget, Probe

logger = logging.getLogger(__name__)

RECHECK_KINDS = frozenset({EventKind.START, EventKind.DIE, EventKind.HEALTH, EventKind.DESTROY})
RECHECK_SECONDS = 5.0


@dataclass(frozen=True)
class _Pending:
    gluetun: Gluetun
    target: DependentTarget
    deadline: datetime
    detail: str = "not checked yet"
    recheck_at: datetime | None = None  # None: only on events and at the deadline


class Verifier:
    """Holds the verifications awaiting an answer; single-threaded (the daemon's loop)."""

    def __init__(self, probe: Callable[[DependentTarget], Probe]) -> None:
        self._probe = probe
        self._pending: dict[str, _Pending] = {}

    @property
    def pending(self) -> tuple[str, ...]:
        """Return the dependents awaiting an answer, sorted."""
        return tuple(sorted(self._pending))

    def start(
        self,
        gluetun: Gluetun,
        targets: Iterable[DependentTarget],
        deadline: datetime,
        now: datetime | None = None,
    ) -> list[VerificationResult]:
        """Begin verifying ``targets`` until ``deadline`` (given ``now``, also every
        ``RECHECK_SECONDS``); return the answers known at once."""
        recheck_at = None if now is None else now + timedelta(seconds=RECHECK_SECONDS)
        for target in targets:
            self._pending[target.key] = _Pending(gluetun, target, deadline, recheck_at=recheck_at)
        return self.recheck([target.key for target in targets])

    def recheck_all(self) -> list[VerificationResult]:
        """Check every pending verification again (after a full engine re-read)."""
        return self.recheck(list(self._pending))

    def recheck(self, keys: Iterable[str]) -> list[VerificationResult]:
        """Check these pending dependents again; return the answers now known."""
        results = []
        for key in keys:
            result = self._check(key, final=False)
            if result is not None:
                results.append(result)
        return results

    def keys_for(self, event: ContainerEvent) -> list[str]:
        """Return the pending dependents that ``event`` is about (by service, else name)."""
        if event.kind not in RECHECK_KINDS:
            return []
        return [key for key, pending in self._pending.items() if _is_about(event, pending.target)]

    def expire(self, now: datetime) -> list[VerificationResult]:
        """Give every verification whose deadline passed its last check, and check those whose
        recheck is due; return the answers."""
        due = [key for key, pending in self._pending.items() if pending.deadline <= now]
        results = [result for key in due if (result := self._check(key, final=True)) is not None]
        recheck = [
            key
            for key, pending in self._pending.items()
            if pending.recheck_at is not None and pending.recheck_at <= now
        ]
        for key in recheck:
            self._pending[key] = replace(
                self._pending[key], recheck_at=now + timedelta(seconds=RECHECK_SECONDS)
            )
        return results + self.recheck(recheck)

    def next_wakeup(self) -> datetime | None:
        """Return the earliest deadline or recheck, or None."""
        moments = [
            moment
            for pending in self._pending.values()
            for moment in (pending.deadline, pending.recheck_at)
            if moment is not None
        ]
        return min(moments, default=None)

    def forget(self) -> None:
        """Drop every pending verification (on shutdown: the saved state re-issues them)."""
        self._pending.clear()

    def _check(self, key: str, final: bool) -> VerificationResult | None:
        pending = self._pending.get(key)
        if pending is None:
            return None
        try:
            probe = self._probe(pending.target)
        except AdapterError as error:
            del self._pending[key]
            detail = f"the engine did not answer: {error.message}"
            return VerificationResult(pending.gluetun, key, Verification.PROBE_UNAVAILABLE, detail)
        if probe.healthy:
            del self._pending[key]
            return VerificationResult(pending.gluetun, key, Verification.HEALTHY)
        if final:
            del self._pending[key]
            detail = f"{probe.detail} at the deadline"
            return VerificationResult(pending.gluetun, key, Verification.FAILED, detail)
        self._pending[key] = replace(pending, detail=probe.detail)
        logger.debug("%s not verified yet: %s", key, probe.detail)
        return None


def _is_about(event: ContainerEvent, target: DependentTarget) -> bool:
    if target.project is None:
        return event.name == target.container_name
    return event.project == target.project.name and event.service == target.service
