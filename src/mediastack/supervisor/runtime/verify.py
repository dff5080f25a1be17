"""Verifying recreated dependents without a polling loop.

A ``VerifyDependents`` is checked at once; a dependent not yet healthy is checked again only
when the engine says something about it (its ``start``, ``die`` or ``health_status`` event:
the health event is exactly when the answer can change) and one last time at the deadline,
when "not yet" becomes a failure. A check the engine could not answer is reported as
``PROBE_UNAVAILABLE`` at once, never as a failure: the core retries it later, bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from mediastack.adapters.errors import AdapterError
from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.events import ContainerEvent, EventKind
from mediastack.supervisor.observations import Verification, VerificationResult
from mediastack.supervisor.runtime.discovery import DependentTarget, Probe

logger = logging.getLogger(__name__)

RECHECK_KINDS = frozenset({EventKind.START, EventKind.DIE, EventKind.HEALTH, EventKind.DESTROY})


@dataclass(frozen=True)
class _Pending:
    gluetun: Gluetun
    target: DependentTarget
    deadline: datetime
    detail: str = "not checked yet"


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
        self, gluetun: Gluetun, targets: Iterable[DependentTarget], deadline: datetime
    ) -> list[VerificationResult]:
        """Begin verifying ``targets`` until ``deadline``; return the answers known at once."""
        for target in targets:
            self._pending[target.key] = _Pending(gluetun, target, deadline)
        return self.recheck([target.key for target in targets])

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
        """Give every verification whose deadline passed its last check; return the answers."""
        due = [key for key, pending in self._pending.items() if pending.deadline <= now]
        return [result for key in due if (result := self._check(key, final=True)) is not None]

    def next_wakeup(self) -> datetime | None:
        """Return the earliest deadline, or None."""
        return min((pending.deadline for pending in self._pending.values()), default=None)

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
