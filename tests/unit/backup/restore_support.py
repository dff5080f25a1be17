"""A fake ServiceControl for restore tests: records what it was asked, fails when told."""

from __future__ import annotations

from collections.abc import Sequence

from mediastack.backup import BackupError


class FakeControl:
    """Services: ``services`` exist, ``running`` run; ``start`` fails when ``fail_start``."""

    def __init__(
        self,
        services: Sequence[str] = (),
        running: Sequence[str] = (),
        fail_start: bool = False,
    ) -> None:
        self.services = list(services)
        self.running_now = set(running)
        self.fail_start = fail_start
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def services_owning(self, apps: Sequence[str]) -> list[str]:
        return [app for app in apps if app in self.services]

    def running(self, services: Sequence[str]) -> list[str]:
        return [service for service in services if service in self.running_now]

    def stop(self, services: Sequence[str]) -> None:
        self.calls.append(("stop", tuple(services)))
        self.running_now -= set(services)

    def start(self, services: Sequence[str]) -> None:
        self.calls.append(("start", tuple(services)))
        if self.fail_start and services:
            raise BackupError(f"{', '.join(services)} did not come back healthy: unhealthy")
        self.running_now |= set(services)
