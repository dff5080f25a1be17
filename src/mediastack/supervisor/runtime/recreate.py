"""Recreating stale dependents: one ``docker compose up -d --force-recreate --no-deps`` per
compose project for all of its stale services at once (compose starts them in parallel), then
one result per service.

Measured with Compose v2.40.3 on engine 20.10: when one service of such a call fails to start
(e.g. "exec: /nonexistent: no such file"), compose exits 1 but the others are recreated and
started all the same; the failed one is left "created". So a failed call is not taken as a
failure of every service: each is inspected, and one that now runs in a new container counts
as recreated. Compose's own progress and errors go to the supervisor's output (its log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from mediastack.adapters.compose import Compose, ComposeProject
from mediastack.adapters.engine import ContainerInfo, ContainerReader
from mediastack.adapters.errors import AdapterError
from mediastack.adapters.executor import Executor
from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.observations import RecreateResult
from mediastack.supervisor.runtime.discovery import DependentTarget

logger = logging.getLogger(__name__)

NOT_COMPOSE = (
    "not created by compose, so it cannot be recreated from its definition: remove it and "
    "start it again the way it was made"
)

ComposeFactory = Callable[[ComposeProject, Executor], Compose]


class Recreator:
    """Recreates dependents through compose; never raises (failures become results)."""

    def __init__(
        self, engine: ContainerReader, executor: Executor, compose: ComposeFactory = Compose
    ) -> None:
        self._engine = engine
        self._executor = executor
        self._compose = compose

    def recreate(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]:
        """Given the gluetun the cascade targets and the dependents to recreate, recreate them
        (one compose call per project, in turn) and return one result per dependent."""
        results: list[RecreateResult] = []
        for project, group in _by_project(targets):
            if project is None:
                results += [RecreateResult(gluetun, t.key, False, NOT_COMPOSE) for t in group]
            else:
                results += self._recreate_project(gluetun, project, group)
        return tuple(results)

    def _recreate_project(
        self, gluetun: Gluetun, project: ComposeProject, group: Sequence[DependentTarget]
    ) -> list[RecreateResult]:
        before = {target.key: self._container_id(target) for target in group}
        compose = self._compose(project, self._executor)
        services = [target.service or target.key for target in group]
        logger.info(
            "compose up --force-recreate --no-deps %s (project %s)",
            " ".join(services),
            project.name,
        )
        try:
            compose.up(services, force_recreate=True, no_deps=True)
        except AdapterError as error:
            logger.warning("compose failed for %s: %s", ", ".join(services), error.message)
            return [self._judge(gluetun, target, before[target.key], error) for target in group]
        return [RecreateResult(gluetun, target.key, True) for target in group]

    def _judge(
        self, gluetun: Gluetun, target: DependentTarget, before: str | None, error: AdapterError
    ) -> RecreateResult:
        """After a failed compose call: recreated when a new container of it runs."""
        try:
            container = self._current(target)
        except AdapterError as inspect_error:
            detail = f"{error.message}; then it could not be inspected: {inspect_error.message}"
            return RecreateResult(gluetun, target.key, False, detail)
        if container is not None and container.id != before and container.running:
            return RecreateResult(gluetun, target.key, True)
        state = "gone" if container is None else container.status
        return RecreateResult(gluetun, target.key, False, f"{error.message}; it is {state}")

    def _container_id(self, target: DependentTarget) -> str | None:
        try:
            container = self._current(target)
        except AdapterError:
            return None  # judged after the call; an unknown "before" only makes it stricter
        return container.id if container is not None else None

    def _current(self, target: DependentTarget) -> ContainerInfo | None:
        found = [c for c in self._engine.inspect_containers(target.filters()) if target.matches(c)]
        running = [c for c in found if c.running]
        candidates = running or found
        return candidates[0] if candidates else None


def _by_project(
    targets: Sequence[DependentTarget],
) -> list[tuple[ComposeProject | None, list[DependentTarget]]]:
    """Group targets by compose project, keeping the order projects first appear in."""
    groups: dict[ComposeProject | None, list[DependentTarget]] = {}
    for target in targets:
        groups.setdefault(target.project, []).append(target)
    return list(groups.items())
