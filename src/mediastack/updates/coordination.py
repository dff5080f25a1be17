"""What an update shares with the rest of the supervisor: a hold on the services it is
recreating, and the memory of digests that were rolled back.

The hold: while an update recreates gluetun and its dependents, the VPN cascade must not
recreate the same dependents from the Docker events it sees, and autoheal must not restart a
container that is still starting. ``Maintenance.hold(services)`` brackets that window. The
daemon implements it in-process (pause the cascade and autoheal for those services, then feed
the cascade a fresh engine state so it checks, and heals, what the update left); the command
line uses a lease (``stack.lease.LeaseHolder``), the one every command changing containers
takes, so a `mediastack update` run from the host is not fought by a running supervisor.

The memory: a digest that failed its health check and was rolled back is not tried again by
the schedule or the webhook (the command line retries it). ``FileMemory`` keeps it as JSON.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from mediastack.render import atomic_write

MEMORY_FILE_NAME = "update-rollbacks.json"
STATE_FOLDER = ".mediastack"


class Maintenance(Protocol):
    """Brackets the recreation of services by an update."""

    def hold(self, services: Sequence[str], reason: str) -> contextlib.AbstractContextManager[None]:
        """Return a context during which the cascade and autoheal leave ``services`` alone."""
        ...


class NoMaintenance:
    """A hold that holds nothing (tests, and callers that coordinate otherwise)."""

    def hold(self, services: Sequence[str], reason: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


class RollbackMemory(Protocol):
    """Which digest of which service was rolled back."""

    def rolled_back(self) -> dict[str, str]:
        """Return service -> the digest that was rolled back."""
        ...

    def remember(self, service: str, digest: str) -> None: ...

    def forget(self, service: str) -> None: ...


class InMemoryRollbacks:
    """A RollbackMemory that lives as long as the process (tests, the daemon's own copy)."""

    def __init__(self) -> None:
        self._digests: dict[str, str] = {}

    def rolled_back(self) -> dict[str, str]:
        return dict(self._digests)

    def remember(self, service: str, digest: str) -> None:
        self._digests[service] = digest

    def forget(self, service: str) -> None:
        self._digests.pop(service, None)


class FileRollbacks:
    """A RollbackMemory in a JSON file (service -> digest); unreadable reads as empty."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rolled_back(self) -> dict[str, str]:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(record, dict):
            return {}
        return {str(key): str(value) for key, value in record.items()}

    def remember(self, service: str, digest: str) -> None:
        self._write({**self.rolled_back(), service: digest})

    def forget(self, service: str) -> None:
        current = self.rolled_back()
        if service in current:
            del current[service]
            self._write(current)

    def _write(self, record: dict[str, str]) -> None:
        atomic_write(self.path, json.dumps(record, indent=2, sort_keys=True) + "\n", 0o644)


def state_folder(config_root: Path) -> Path:
    """Return the folder the update pipeline keeps its hold and memory files in."""
    return config_root / STATE_FOLDER
