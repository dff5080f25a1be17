"""The in-flight cascade as plain data: what is persisted, so a restarted supervisor resumes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from mediastack.supervisor.actions import Gluetun


class Phase(StrEnum):
    """Where a cascade is."""

    WAITING_FOR_GLUETUN = "waiting_for_gluetun"
    HEALING = "healing"


class DependentStatus(StrEnum):
    """Where one dependent is within a cascade."""

    PENDING = "pending"  # stale, waiting for gluetun to be healthy
    PREPARING = "preparing"  # new container being created while gluetun starts, until due_at
    PREPARED = "prepared"  # new container created, started once gluetun is healthy
    RECREATING = "recreating"  # recreate issued, result awaited until due_at
    VERIFYING = "verifying"  # verification issued, result awaited until due_at
    RETRY_WAIT = "retry_wait"  # recreate failed; recreated again at due_at
    VERIFY_WAIT = "verify_wait"  # verification could not run; verified again at due_at
    DONE = "done"  # verified in the targeted gluetun's namespace
    GAVE_UP = "gave_up"  # attempts used up
    UNVERIFIED = "unverified"  # recreated, but it could never be checked


FINAL_STATUSES = frozenset(
    {DependentStatus.DONE, DependentStatus.GAVE_UP, DependentStatus.UNVERIFIED}
)


@dataclass(frozen=True)
class DependentProgress:
    """One dependent of the in-flight cascade; ``reason``: why it is stale, then the last error.
    ``due_at``: when the awaited result or the retry is due; for a done one, when it was done
    (its summary's timing)."""

    service: str
    status: DependentStatus = DependentStatus.PENDING
    attempts: int = 0
    probe_attempts: int = 0
    due_at: datetime | None = None
    reason: str = ""

    @property
    def final(self) -> bool:
        """Return True when the cascade is done with this dependent."""
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class InFlightCascade:
    """The cascade being run for one gluetun incarnation; dependents sorted by service name."""

    gluetun: Gluetun
    detected_at: datetime
    phase: Phase
    gluetun_deadline: datetime
    counted: bool
    healthy_at: datetime | None
    dependents: tuple[DependentProgress, ...]

    @classmethod
    def open(
        cls, gluetun: Gluetun, now: datetime, deadline: datetime, stale: Mapping[str, str]
    ) -> InFlightCascade:
        """Given gluetun, the time, the wait deadline and the stale services with reasons, return
        a cascade waiting for gluetun with every stale service pending."""
        pending = tuple(
            DependentProgress(service, reason=reason) for service, reason in sorted(stale.items())
        )
        return cls(gluetun, now, Phase.WAITING_FOR_GLUETUN, deadline, False, None, pending)

    def dependent(self, service: str) -> DependentProgress | None:
        """Return the progress of ``service``, or None when it is not part of this cascade."""
        return next((item for item in self.dependents if item.service == service), None)

    def with_dependents(self, *updates: DependentProgress) -> InFlightCascade:
        """Return this cascade with these dependents replaced or added (kept sorted)."""
        merged = {item.service: item for item in self.dependents}
        merged.update({item.service: item for item in updates})
        return replace(self, dependents=tuple(merged[name] for name in sorted(merged)))

    def services_in(self, *statuses: DependentStatus) -> tuple[str, ...]:
        """Return the services whose status is one of ``statuses``, sorted."""
        return tuple(item.service for item in self.dependents if item.status in statuses)

    @property
    def all_final(self) -> bool:
        """Return True when every dependent is done, given up or unverified."""
        return all(item.final for item in self.dependents)

    @property
    def locked_services(self) -> frozenset[str]:
        """Return the services this cascade is about to recreate or is recreating."""
        return frozenset(item.service for item in self.dependents if not item.final)
