"""Who holds which services, as the daemon sees it: one answer for the cascade and autoheal.

- The daemon's own update jobs announce their holds over the child's pipe;
  ``job_process.DaemonHandler`` turns entering and leaving them into inbox messages
  (``MaintenanceStarted``/``MaintenanceEnded``), so the loop, and only the loop, counts them
  here. The child waits until the daemon has the hold before its compose calls, so the hold
  is seen before any event they cause.
- Commands run from the host (``up``, ``down``, ``restart``, ``pull``, ``update``, ``restore``)
  hold leases (``stack.lease``): files read here, a file read and a ``flock`` try each, never
  an engine call. They are read wherever the daemon decides: on gluetun's events, on every full
  engine re-read, and for autoheal. A lease the cascade waited for is read again every
  ``LEASE_POLL`` until it ends; then the daemon reads the engine and heals what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mediastack.stack.lease import Lease, active_leases

LEASE_POLL = timedelta(seconds=2)
"""While the cascade waits for a command's lease, how often the lease folder is read again."""


@dataclass(frozen=True)
class HeldServices:
    """The services held, and by what."""

    services: frozenset[str]
    reason: str


class LeaseWatch:
    """Reads the leases of the homelab's commands; ``read`` returns them merged, or None."""

    def __init__(self, folder: Path, reader: Callable[[Path], list[Lease]] = active_leases) -> None:
        self.folder = folder
        self._reader = reader

    def read(self) -> HeldServices | None:
        """Return every service leased now and by which commands, or None when none is."""
        leases = self._reader(self.folder)
        if not leases:
            return None
        services = frozenset().union(*(lease.services for lease in leases))
        return HeldServices(services, ", ".join(sorted({lease.reason for lease in leases})))


class Holds:
    """The daemon's own holds (counted) and the commands' leases (read when asked)."""

    def __init__(self, watch: LeaseWatch | None) -> None:
        self._watch = watch
        self._own: dict[str, int] = {}
        self._awaited: HeldServices | None = None  # the lease the cascade waits for
        self._poll_at: datetime | None = None

    def begin(self, services: Iterable[str]) -> None:
        """An update of the daemon's own holds ``services``."""
        for service in services:
            self._own[service] = self._own.get(service, 0) + 1

    def end(self, services: Iterable[str]) -> None:
        """An update of the daemon's own released ``services``."""
        for service in services:
            left = self._own.get(service, 0) - 1
            if left > 0:
                self._own[service] = left
            else:
                self._own.pop(service, None)

    def own(self) -> frozenset[str]:
        """Return the services the daemon's own updates hold."""
        return frozenset(self._own)

    def services(self) -> frozenset[str]:
        """Return every service held now: by the daemon's updates or by a command's lease."""
        leased = self._leased()
        return self.own() | (leased.services if leased is not None else frozenset())

    def blocking(self, wanted: frozenset[str], now: datetime) -> str | None:
        """Return what holds any of ``wanted`` (the cascade's services) now, or None. A
        lease found is watched from then on (``next_wakeup``, ``ended``)."""
        own = wanted & self.own()
        if own:
            return f"an update by the supervisor holding {', '.join(sorted(own))}"
        leased = self._leased()
        if leased is None or not leased.services & wanted:
            return None
        self._awaited = leased
        self._poll_at = now + LEASE_POLL
        return leased.reason

    def next_wakeup(self) -> datetime | None:
        """Return when the awaited lease is read again, or None when none is awaited."""
        return self._poll_at

    def ended(self, now: datetime, wanted: frozenset[str]) -> str | None:
        """When the awaited lease is due for a look: return its reason once it has ended (the
        cascade may look at the engine again); None while it holds or when nothing is due."""
        if self._awaited is None or self._poll_at is None or self._poll_at > now:
            return None
        leased = self._leased()
        if leased is not None and leased.services & wanted:
            self._poll_at = now + LEASE_POLL
            return None
        reason, self._awaited, self._poll_at = self._awaited.reason, None, None
        return reason

    def _leased(self) -> HeldServices | None:
        return self._watch.read() if self._watch is not None else None
