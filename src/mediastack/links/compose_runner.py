"""``ServiceRunner`` over Compose (``mediastack.adapters.compose``): how links run a command
in a service (``recyclarr sync``) or restart one (cross-seed after its config.js changed).
The CLI and the supervisor's job both use it; the supervisor's image carries compose."""

from __future__ import annotations

from collections.abc import Sequence

from mediastack.adapters.compose import Compose, ComposeProject
from mediastack.adapters.errors import AdapterError, CommandError
from mediastack.adapters.executor import Executor, SubprocessExecutor
from mediastack.catalogue import CATALOGUE
from mediastack.config import LoadedConfig


class ComposeRunner:
    """Services of the homelab's stacks, through ``docker compose``."""

    def __init__(self, loaded: LoadedConfig, executor: Executor | None = None) -> None:
        self._loaded = loaded
        self._executor = executor or SubprocessExecutor()

    def _compose(self, service: str) -> Compose:
        stack = CATALOGUE[service].stack
        return Compose(ComposeProject.for_stack(self._loaded, stack), self._executor)

    def run_in(self, service: str, command: list[str], timeout_seconds: float) -> None:
        result = self._compose(service).exec(service, command, timeout_seconds=timeout_seconds)
        if result.exit_code != 0:
            last = _last_line(result.stderr or result.stdout)
            raise AdapterError(
                f"`{' '.join(command)}` in {service} exited {result.exit_code}: {last}",
                f"see `mediastack logs {service}`",
            )

    def restart(self, service: str) -> None:
        try:
            self._compose(service).restart([service])
        except CommandError as error:
            raise AdapterError(error.message, f"see `mediastack logs {service}`") from None


def _last_line(text: str) -> str:
    lines: Sequence[str] = text.strip().splitlines()
    return lines[-1] if lines else "no output"
