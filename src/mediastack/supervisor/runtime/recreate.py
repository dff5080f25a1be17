"""Recreating stale dependents through compose, in one step or in two.

- One step (``recreate``): one ``docker compose up -d --force-recreate --no-deps`` per compose
  project for all of its stale services at once (compose starts them in parallel).
- Two steps, while gluetun is still starting: ``prepare`` runs the same call with
  ``--no-start`` (compose creates each new container, stops and removes the old one, renames
  the new one: the slow part, ~1.5 s for nine containers on two cores), and ``start``, once
  gluetun is healthy, starts the prepared containers through the engine API, in parallel
  (no compose start-up, no dependency walk: tens of milliseconds).

Measured with Compose v2.40.3 on engine 20.10: when one service of such a call fails to start
(e.g. "exec: /nonexistent: no such file"), compose exits 1 but the others are recreated and
started all the same; the failed one is left "created". So a failed call is not taken as a
failure of every service: each is inspected, and one that now runs (after ``prepare``: exists)
in a new container counts as done. Compose's own progress and errors go to the supervisor's
output (its log).

One service compose cannot create (e.g. its image is missing) fails the whole call at once
(measured, same versions): compose cancels the others, leaving each with its replacement
half-made: created under the temporary name ``<old id, 12 digits>_<name>`` (compose creates the
replacement so, then stops and removes the old one and renames it), the old one still running.
A later call for the same old container picks the same temporary name: "The container name
... is already in use". So after a failed call the half-made containers are removed and every
service that did not come out right gets a call of its own, at once, each once: the broken one
fails alone, the others heal in the same ``recreate``/``prepare``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from mediastack.adapters.compose import Compose, ComposeProject
from mediastack.adapters.engine import ContainerInfo, ContainerReader
from mediastack.adapters.errors import AdapterError
from mediastack.adapters.executor import Executor
from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.observations import PrepareResult, RecreateResult
from mediastack.supervisor.runtime.discovery import DependentTarget
from mediastack.supervisor.runtime.start_order import depends_on, start_waves

logger = logging.getLogger(__name__)

NOT_COMPOSE = (
    "not created by compose, so it cannot be recreated from its definition: remove it and "
    "start it again the way it was made"
)
CREATED = "created"
"""The status of a container made and never started: what ``up --no-start`` leaves."""
MAX_PARALLEL_STARTS = 16
# A dependent waits this long at most for one it depends on (then starts anyway, and the
# cascade's verification judges it).
DEPENDENCY_WAIT_SECONDS = 120.0
DEPENDENCY_POLL_SECONDS = 0.25
"""Prepared containers started at once (a thread each, only while starting)."""

HALF_MADE_NAME = re.compile(r"[0-9a-f]{12}_")
"""The start of the temporary name compose gives a replacement until it is renamed."""

ComposeFactory = Callable[[ComposeProject, Executor], Compose]
Outcome = tuple[str, bool, str]
"""A dependent's key, whether it came out right, and why not."""


class ContainerStarter(Protocol):
    """Starts one created container (called from several threads at once) and removes a
    half-made one; raises AdapterError when it cannot."""

    def start(self, container_id: str) -> None: ...

    def remove(self, container_id: str) -> None: ...


class Recreator:
    """Recreates dependents through compose; never raises (failures become results)."""

    def __init__(
        self,
        engine: ContainerReader,
        executor: Executor,
        starter: ContainerStarter,
        compose: ComposeFactory = Compose,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._executor = executor
        self._starter = starter
        self._compose = compose
        # dependent -> the container its last preparation made: started without a lookup
        # (the lookup would sit between gluetun's healthy event and the start)
        self._prepared: dict[str, str] = {}
        self._needs: dict[str, frozenset[str]] = {}  # dependent -> its compose depends_on
        self._sleep = sleep
        self._monotonic = monotonic

    def recreate(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]:
        """Given the gluetun the cascade targets and the dependents to recreate, recreate them
        (one compose call per project, in turn) and return one result per dependent."""
        outcomes = self._compose_up(targets, start=True)
        return tuple(RecreateResult(gluetun, key, ok, detail) for key, ok, detail in outcomes)

    def prepare(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[PrepareResult, ...]:
        """Given the gluetun and the dependents to prepare, create their new containers
        without starting them and return one result per dependent."""
        outcomes = self._compose_up(targets, start=False)
        prepared = {key for key, ok, _ in outcomes if ok}
        for target in targets:
            self._remember(target, target.key in prepared)
        return tuple(PrepareResult(gluetun, key, ok, detail) for key, ok, detail in outcomes)

    def _remember(self, target: DependentTarget, prepared: bool) -> None:
        """Note the container a preparation made (while gluetun still starts)."""
        self._prepared.pop(target.key, None)
        if not prepared:
            return
        try:
            container = self._current(target)
        except AdapterError:
            return  # looked up again at the start
        if container is not None and container.status == CREATED:
            self._prepared[target.key] = container.id
            self._needs[target.key] = depends_on(container.labels)

    def start(
        self, gluetun: Gluetun, targets: Sequence[DependentTarget]
    ) -> tuple[RecreateResult, ...]:
        """Given the gluetun and the prepared dependents, start each one's container (in
        parallel, in waves: one that depends on another started now waits until that one is
        healthy, at most DEPENDENCY_WAIT_SECONDS) and return one result per dependent, in the
        order of ``targets``. One found not prepared is recreated in the same wave."""
        if not targets:
            return ()
        by_key = {target.key: target for target in targets}
        for target in targets:
            if target.key not in self._needs:  # prepared by an earlier process: learn its needs
                self._remember(target, prepared=True)
        results: dict[str, RecreateResult] = {}
        for index, wave in enumerate(start_waves(list(by_key), self._needs)):
            if index:
                needed = set().union(*(self._needs.get(key, frozenset()) for key in wave))
                self._wait_healthy([by_key[key] for key in results if key in needed])
            results.update(self._start_wave(gluetun, [by_key[key] for key in wave]))
        return tuple(results[target.key] for target in targets)

    def _start_wave(
        self, gluetun: Gluetun, wave: Sequence[DependentTarget]
    ) -> dict[str, RecreateResult]:
        """Start one wave at once; recreate (one compose call) those found not prepared."""
        with ThreadPoolExecutor(min(len(wave), MAX_PARALLEL_STARTS), "start") as pool:
            started = list(pool.map(lambda target: self._start_one(gluetun, target), wave))
        results = {result.service: result for result in started if result is not None}
        unprepared = [target for target, result in zip(wave, started, strict=True) if not result]
        results.update((result.service, result) for result in self.recreate(gluetun, unprepared))
        return results

    def _wait_healthy(self, targets: Sequence[DependentTarget]) -> None:
        """Wait until each of ``targets`` is healthy (or has no healthcheck), bounded."""
        deadline = self._monotonic() + DEPENDENCY_WAIT_SECONDS
        waiting = list(targets)
        while waiting and self._monotonic() < deadline:
            waiting = [target for target in waiting if not self._healthy(target)]
            if waiting:
                self._sleep(DEPENDENCY_POLL_SECONDS)
        if waiting:
            names = ", ".join(target.key for target in waiting)
            logger.warning("starting the next wave: %s not healthy yet", names)

    def _healthy(self, target: DependentTarget) -> bool:
        try:
            container = self._current(target)
        except AdapterError:
            return False
        return container is not None and container.running and container.health in (None, "healthy")

    def _start_one(self, gluetun: Gluetun, target: DependentTarget) -> RecreateResult | None:
        """Start the dependent's prepared container: one never started ("created"). One
        already running since gluetun's start counts as started. None when it was not
        prepared: gone, or from before gluetun's start (a supervisor killed while compose
        prepared it, a container removed by hand): it is recreated at once, not failed and
        retried after a backoff."""
        prepared = self._prepared.pop(target.key, None)
        try:
            if prepared is not None:
                self._starter.start(prepared)
                return RecreateResult(gluetun, target.key, True)
            container = self._current(target)
            if container is None:
                logger.info("%s: its prepared container is gone; recreating it", target.key)
                return None
            if container.status == CREATED:
                self._starter.start(container.id)
            elif not _started_since(container, gluetun):
                logger.info("%s was not prepared (%s); recreating it", target.key, container.status)
                return None
        except AdapterError as error:
            return RecreateResult(gluetun, target.key, False, f"start: {error.message}")
        return RecreateResult(gluetun, target.key, True)

    def _compose_up(self, targets: Sequence[DependentTarget], start: bool) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for project, group in _by_project(targets):
            if project is None:
                outcomes += [(target.key, False, NOT_COMPOSE) for target in group]
            else:
                outcomes += self._up_project(project, group, start)
        return outcomes

    def _up_project(
        self, project: ComposeProject, group: Sequence[DependentTarget], start: bool
    ) -> list[Outcome]:
        """One call for the whole group; after a failure, one call for each service that did
        not come out right (with more than one in the group), its half-made containers
        removed before and after."""
        before = {target.key: self._container_id(target) for target in group}
        error = self._up(project, group, start)
        if error is None:
            return [(target.key, True, "") for target in group]
        outcomes = {
            target.key: self._judge(target, before[target.key], error, start) for target in group
        }
        failed = [target for target in group if not outcomes[target.key][1]]
        self._remove_half_made(failed)
        if len(group) > 1:
            for target in failed:
                alone = self._up(project, [target], start)
                if alone is None:
                    outcomes[target.key] = (target.key, True, "")
                else:
                    outcomes[target.key] = self._judge(target, before[target.key], alone, start)
                    self._remove_half_made([target])
        return [outcomes[target.key] for target in group]

    def _up(
        self, project: ComposeProject, group: Sequence[DependentTarget], start: bool
    ) -> AdapterError | None:
        """Run one compose call for ``group``; return its failure, or None."""
        compose = self._compose(project, self._executor)
        services = [target.service or target.key for target in group]
        logger.info(
            "compose up --force-recreate --no-deps%s %s (project %s)",
            "" if start else " --no-start",
            " ".join(services),
            project.name,
        )
        try:
            compose.up(services, force_recreate=True, no_deps=True, start=start)
        except AdapterError as error:
            logger.warning("compose failed for %s: %s", ", ".join(services), error.message)
            return error
        return None

    def _judge(
        self, target: DependentTarget, before: str | None, error: AdapterError, started: bool
    ) -> Outcome:
        """After a failed compose call: done when a new container of it, under its own name,
        runs (``started``) or exists."""
        try:
            container = self._current(target)
        except AdapterError as inspect_error:
            detail = f"{error.message}; then it could not be inspected: {inspect_error.message}"
            return target.key, False, detail
        if (
            container is not None
            and container.id != before
            and not _half_made(container)
            and (container.running or not started)
        ):
            return target.key, True, ""
        state = "gone" if container is None else container.status
        return target.key, False, f"{error.message}; it is {state}"

    def _remove_half_made(self, targets: Sequence[DependentTarget]) -> None:
        """Remove the containers of ``targets`` that a failed call left under compose's
        temporary name (never a running one): the next call would collide with them."""
        for target in targets:
            try:
                found = self._engine.inspect_containers(target.filters())
                for container in found:
                    if target.matches(container) and _half_made(container):
                        logger.info("removing %s, left half-made by compose", container.name)
                        self._starter.remove(container.id)
            except AdapterError as error:
                left = f"could not remove what compose left of {target.key}: {error.message}"
                logger.warning(left)

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


def _half_made(container: ContainerInfo) -> bool:
    return not container.running and HALF_MADE_NAME.match(container.name) is not None


def _started_since(container: ContainerInfo, gluetun: Gluetun) -> bool:
    started = container.started_at
    return container.running and started is not None and started >= gluetun.started_at


def _by_project(
    targets: Sequence[DependentTarget],
) -> list[tuple[ComposeProject | None, list[DependentTarget]]]:
    """Group targets by compose project, keeping the order projects first appear in."""
    groups: dict[ComposeProject | None, list[DependentTarget]] = {}
    for target in targets:
        groups.setdefault(target.project, []).append(target)
    return list(groups.items())
