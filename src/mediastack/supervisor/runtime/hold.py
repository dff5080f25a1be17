"""Holds on services being recreated by an update, as the daemon sees them.

- ``DaemonHold`` is the ``updates.Maintenance`` the daemon's own update worker uses: entering
  and leaving a hold become inbox messages (``MaintenanceStarted``/``MaintenanceEnded``), so
  the loop, and only the loop, changes what the cascade and autoheal may touch. The inbox is
  FIFO: the hold message is seen before any event the update's compose calls cause.
- ``FileHoldWatch`` reads the hold file a ``mediastack update`` from the host writes; the
  daemon reads it (a file read, never an engine call) before acting on a gluetun event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mediastack.supervisor.runtime.messages import Inbox, MaintenanceEnded, MaintenanceStarted
from mediastack.updates.coordination import ActiveHold, active_hold


class DaemonHold:
    """Brackets an update's recreation with inbox messages (an ``updates.Maintenance``)."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    @contextlib.contextmanager
    def hold(self, services: Sequence[str], reason: str) -> Iterator[None]:
        """Put ``MaintenanceStarted`` now and ``MaintenanceEnded`` on exit (even on error)."""
        held = tuple(services)
        self._inbox.put(MaintenanceStarted(held, reason))
        try:
            yield
        finally:
            self._inbox.put(MaintenanceEnded(held, reason))


@dataclass(frozen=True)
class HeldServices:
    """The services a hold names, and why."""

    services: frozenset[str]
    reason: str


class FileHoldWatch:
    """Reads the host CLI's hold file; ``read`` returns the hold in force, or None."""

    def __init__(self, path: Path, reader: Callable[[Path], ActiveHold | None] = active_hold):
        self.path = path
        self._reader = reader

    def read(self) -> HeldServices | None:
        """Return the active hold (its process alive, younger than an hour), or None."""
        found = self._reader(self.path)
        if found is None:
            return None
        return HeldServices(frozenset(found.services), found.reason)
