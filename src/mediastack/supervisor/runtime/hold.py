"""Holds on services being recreated by an update, as the daemon sees them.

- An update run by the daemon (in its child process) announces its hold over the child's
  pipe; ``job_process.DaemonHandler`` turns entering and leaving it into inbox messages
  (``MaintenanceStarted``/``MaintenanceEnded``), so the loop, and only the loop, changes what
  the cascade and autoheal may touch. The child waits until the daemon has the hold before
  its compose calls, so the hold is seen before any event they cause.
- ``FileHoldWatch`` reads the hold file a ``mediastack update`` from the host writes; the
  daemon reads it (a file read, never an engine call) before acting on a gluetun event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mediastack.updates.coordination import ActiveHold, active_hold


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
