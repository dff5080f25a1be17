"""The real ``ServiceControl`` for restore: the rendered stacks, through the stack operations
and the compose adapter (the same paths ``mediastack up``/``down`` take)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from mediastack.adapters.compose import Compose, ComposeProject
from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.errors import AdapterError
from mediastack.adapters.executor import Executor
from mediastack.backup.errors import BackupError
from mediastack.config import LoadedConfig
from mediastack.stack import operations
from mediastack.stack.rendered import RenderedFileError, RenderedProject, require_rendered
from mediastack.stack.targets import TargetError


class StackServiceControl:
    """Stops and starts services of the rendered stacks; an app folder belongs to the
    service of the same name."""

    def __init__(self, loaded: LoadedConfig, executor: Executor, console: Console) -> None:
        self._loaded = loaded
        self._executor = executor
        self._console = console

    def _projects(self) -> list[RenderedProject]:
        try:
            return require_rendered(self._loaded)
        except RenderedFileError:
            return []

    def services_owning(self, apps: Sequence[str]) -> list[str]:
        """Return the apps that are services of a rendered stack."""
        rendered = {name for project in self._projects() for name in project.service_names}
        return [app for app in apps if app in rendered]

    def running(self, services: Sequence[str]) -> list[str]:
        """Return which of ``services`` have a running container (asks compose)."""
        if not services:
            return []
        found: set[str] = set()
        try:
            for project in self._projects():
                if set(services) & set(project.service_names):
                    compose = Compose(ComposeProject.for_stack(self._loaded, project.stack),
                                      self._executor)
                    found |= {c.service for c in compose.ps() if c.state == "running"}
        except AdapterError as error:
            raise _failed("cannot tell which services run", error) from None
        return [service for service in services if service in found]

    def stop(self, services: Sequence[str]) -> None:
        """Take ``services`` down (compose ``down SERVICE...``, stack by stack)."""
        if not services:
            return
        try:
            operations.down(
                self._loaded, services, executor=self._executor, console=self._console
            )
        except (AdapterError, TargetError, RenderedFileError) as error:
            raise _failed(f"stopping {', '.join(services)} failed", error) from None

    def start(self, services: Sequence[str]) -> None:
        """Bring ``services`` up and wait until they are healthy."""
        if not services:
            return
        try:
            operations.up(
                self._loaded, services, executor=self._executor, console=self._console,
                engine=DockerEngine.connect(), wait=True,
            )
        except (AdapterError, TargetError, RenderedFileError) as error:
            raise _failed(f"{', '.join(services)} did not come back healthy", error) from None


def _failed(what: str, error: AdapterError | TargetError | RenderedFileError) -> BackupError:
    return BackupError(f"{what}: {error.message}", error.fix)
