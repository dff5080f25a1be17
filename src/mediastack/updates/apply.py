"""Apply one planned update: pull, recreate through compose, verify, roll back when unhealthy.

Control flow for one service (namespace dependents, if any, travel with it):
1. keep the running image: tag it ``mediastack-rollback/<project>-<service>:previous``
   (``POST /images/<running id>/tag`` on the Engine API: ``local_images``)
2. ``docker compose pull SERVICE``; no new image (``pull_policy: never``, tag unmoved): stop here
3. ``docker compose up --detach --no-deps --force-recreate --pull never --wait --wait-timeout T
   SERVICE [DEPENDENT...]``: gluetun first, then every service in its namespace, which thereby
   joins the *new* namespace (compose orders them by ``depends_on`` and waits for gluetun healthy)
4. verify: each container running, healthy (or without a healthcheck), the service on the new
   image, and each dependent in the owner's namespace (``namespace_verdict``), until T runs out
5. on failure: point the tag back at the previous image, recreate the same way, verify, and
   say so; the digest is remembered so the schedule does not try it again.
Every step is reported to the listener. The whole window is held (``Maintenance``) so the VPN
cascade and autoheal leave these services alone meanwhile.

A stop (``UpdateStop``, the supervisor stopping) never leaves a service half-done: asked
during the pull, the service is not touched; during the recreate or the verification, those
end by the stop's deadline (the executor kills a command past it) and a service not yet
verified is rolled back, within the rollback's time. A service not started yet is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mediastack.adapters.compose import Compose, ComposeProject
from mediastack.adapters.engine import ContainerInfo, ContainerReader
from mediastack.adapters.executor import DryRunExecutor, Executor
from mediastack.stack.rendered import RenderedProject
from mediastack.stack.status import Verdict, namespace_verdict, project_containers
from mediastack.updates.coordination import Maintenance, RollbackMemory
from mediastack.updates.local_images import LocalImages, rollback_tag
from mediastack.updates.model import (
    ApplyResult,
    Outcome,
    PlannedStep,
    ServiceImage,
    ServiceKey,
    Stage,
    UpdateEvent,
)
from mediastack.updates.notices import UpdateListener, safe_notify
from mediastack.updates.stopping import NEVER_STOPPED, UpdateStop

PULL_TIMEOUT_SECONDS = 900.0
COMPOSE_GRACE_SECONDS = 60.0
VERIFY_POLL_SECONDS = 1.0
OUTPUT_LINES_KEPT = 5
STOPPED_BEFORE = "the supervisor stopped before it was recreated; it runs its previous image"


@dataclass(frozen=True)
class ApplySettings:
    """How long a recreated service may take to be running and healthy."""

    healthy_timeout_seconds: int = 300


@dataclass(frozen=True)
class ProjectHandle:
    """A rendered project and how to run compose on it."""

    project: RenderedProject
    compose: ComposeProject


class Applier:
    """Applies planned updates. One at a time: callers serialise (the daemon has one worker)."""

    def __init__(
        self,
        *,
        projects: Sequence[ProjectHandle],
        executor: Executor,
        engine: ContainerReader,
        images: LocalImages,
        listener: UpdateListener,
        maintenance: Maintenance,
        memory: RollbackMemory,
        settings: ApplySettings,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        stop: UpdateStop = NEVER_STOPPED,
    ) -> None:
        """``stop`` must be the one whose ``deadline`` bounds ``executor`` (see the module)."""
        self._stop = stop
        self._projects = {handle.project.project_name: handle for handle in projects}
        self._executor = executor
        self._images = images
        self._engine = engine
        self._listener = listener
        self._maintenance = maintenance
        self._memory = memory
        self._settings = settings
        self._sleep = sleep
        self._monotonic = monotonic

    def apply(self, step: PlannedStep) -> ApplyResult:
        """Update the service of ``step`` (and recreate its namespace dependents with it);
        return how it ended. Never raises for a failed pull, recreate or verification: those
        are outcomes. Raise AdapterError only when the engine itself cannot be reached."""
        image = step.check.image
        services = (image.key.service, *image.namespace_dependents)
        if self._stop.requested:
            return ApplyResult(
                image.key, Outcome.FAILED, image.image_id, None, step.check.remote_digest, (),
                STOPPED_BEFORE,
            )  # fmt: skip
        with self._maintenance.hold(services, f"update of {image.key}"):
            return self._apply_held(step, services)

    def print_commands(self, step: PlannedStep, write: Callable[[str], None]) -> ApplyResult:
        """Print the commands ``apply`` would run for ``step`` (as a script; the image store's
        changes as the Engine API requests they are, ``engine: POST /v1.41/images/...``);
        run nothing."""
        image = step.check.image
        key = image.key
        services = (key.service, *image.namespace_dependents)
        dry = DryRunExecutor(write)
        images = self._images.printing(write)
        compose = Compose(self._handle(key).compose, dry)
        backup = rollback_tag(key.project, key.service)
        write(f"# update {key} ({image.reference_text}) to {step.check.remote_digest}")
        images.tag(image.image_id, backup)
        dry.run(_pull_arguments(compose, key.service))
        dry.run(self._up_arguments(compose, services))
        write(f"# then verify {', '.join(services)}: running, healthy, on the new image")
        images.remove_tag(backup)
        return ApplyResult(
            key, Outcome.DRY_RUN, image.image_id, None, step.check.remote_digest, services
        )

    def _apply_held(self, step: PlannedStep, services: tuple[str, ...]) -> ApplyResult:
        image = step.check.image
        key = image.key
        digest = step.check.remote_digest
        compose = Compose(self._handle(key).compose, self._executor)
        self._event(Stage.STARTED, key, f"Updating {key.service} ({image.reference_text}).", digest)
        backup = rollback_tag(key.project, key.service)
        self._images.tag(image.image_id, backup)
        failure = self._pull(compose, key.service)
        if self._stop.requested and not failure:
            failure = STOPPED_BEFORE  # pulled, or cut short: the service is not touched
        new_id = None if failure else self._local_id(image.reference_text)
        if failure or new_id is None or new_id == image.image_id:
            self._images.remove_tag(backup)
            return self._not_pulled(image, digest, failure)
        self._event(Stage.PULLED, key, f"Pulled {image.reference_text} ({_short(new_id)}).", digest)
        problems = self._recreate_and_verify(compose, key, services, new_id)
        if problems:
            return self._roll_back(image, digest, services, problems, compose)
        self._images.remove_tag(backup)
        self._memory.forget(key.service)
        recreated = _describe_recreated(services)
        running = f"{image.reference_text} {_short(digest)}"
        self._event(
            Stage.UPDATED, key, f"{key.service} runs {running} and is healthy{recreated}.", digest
        )
        return ApplyResult(key, Outcome.UPDATED, image.image_id, new_id, digest, services)

    def _not_pulled(
        self, image: ServiceImage, digest: str | None, failure: str | None
    ) -> ApplyResult:
        key = image.key
        if failure:
            headline = (
                f"{key.service} was not updated: {failure}."
                if failure == STOPPED_BEFORE
                else f"Pulling {image.reference_text} failed; {key.service} was not touched."
            )
            self._event(
                Stage.FAILED,
                key,
                headline,
                digest,
                (failure,),
            )
            return ApplyResult(key, Outcome.FAILED, image.image_id, None, digest, (), failure)
        reason = "the pull brought no new image (pull_policy: never, or the tag did not move)"
        self._event(Stage.UNCHANGED, key, f"{key.service}: {reason}.", digest)
        return ApplyResult(key, Outcome.UNCHANGED, image.image_id, None, digest, (), reason)

    def _roll_back(
        self,
        image: ServiceImage,
        digest: str | None,
        services: tuple[str, ...],
        problems: list[str],
        compose: Compose,
    ) -> ApplyResult:
        key = image.key
        self._stop.rolling_back()  # a stop's deadline gives the rollback its own time
        self._images.tag(image.image_id, image.reference_text)
        remaining = self._recreate_and_verify(compose, key, services, image.image_id)
        reason = "; ".join(problems)
        if remaining:
            backup = rollback_tag(key.project, key.service)
            self._event(
                Stage.ROLLBACK_FAILED,
                key,
                f"{key.service} failed after the update and "
                f"did not recover on its previous image either. Previous image kept as "
                f"{backup}.",
                digest,
                (*problems, *remaining),
            )
            return ApplyResult(
                key,
                Outcome.ROLLBACK_FAILED,
                image.image_id,
                None,
                digest,
                services,
                "; ".join([*problems, *remaining]),
            )
        self._images.remove_tag(rollback_tag(key.project, key.service))
        if digest is not None:
            self._memory.remember(key.service, digest)
        self._event(
            Stage.ROLLED_BACK,
            key,
            f"{key.service} was not healthy on "
            f"{image.reference_text} {_short(digest)}; rolled back to "
            f"{_short(image.image_id)}, which runs healthy again.",
            digest,
            tuple(problems),
        )
        return ApplyResult(
            key, Outcome.ROLLED_BACK, image.image_id, image.image_id, digest, services, reason
        )

    def _pull(self, compose: Compose, service: str) -> str | None:
        """Pull ``service``'s image; return None, or what went wrong."""
        result = self._executor.run(
            _pull_arguments(compose, service),
            timeout=PULL_TIMEOUT_SECONDS,
            check=False,
        )
        if result.succeeded:
            return None
        return f"`docker compose pull` exited {result.exit_code}: {_tail(result.stderr)}"

    def _local_id(self, reference: str) -> str | None:
        found = self._images.inspect_images([reference]).get(reference)
        return found.id if found is not None else None

    def _recreate_and_verify(
        self, compose: Compose, key: ServiceKey, services: tuple[str, ...], image_id: str
    ) -> list[str]:
        """Recreate ``services`` and verify them; return the problems (empty: all fine)."""
        deadline = self._monotonic() + self._settings.healthy_timeout_seconds
        result = self._executor.run(
            self._up_arguments(compose, services),
            timeout=self._settings.healthy_timeout_seconds + COMPOSE_GRACE_SECONDS,
            check=False,
        )
        if result.succeeded:
            # compose saw every service healthy; allow the verification the rest of the time
            return self._verify_until(key, services, image_id, deadline)
        # compose gave up (unhealthy, or the time ran out): one look, then it counts as failed
        problems = self._verify(key, services, image_id)
        compose_said = f"`docker compose up` exited {result.exit_code}: {_tail(result.stderr)}"
        return [compose_said, *problems]

    def _up_arguments(self, compose: Compose, services: Sequence[str]) -> list[str]:
        timeout = str(self._settings.healthy_timeout_seconds)
        return compose.arguments(
            "up",
            "--detach",
            "--no-deps",
            "--force-recreate",
            "--pull",
            "never",
            "--wait",
            "--wait-timeout",
            timeout,
            *services,
        )

    def _verify_until(
        self, key: ServiceKey, services: tuple[str, ...], image_id: str, deadline: float
    ) -> list[str]:
        while True:
            problems = self._verify(key, services, image_id)
            stop_deadline = self._stop.deadline()
            if stop_deadline is not None:
                deadline = min(deadline, stop_deadline)
            if not problems or self._monotonic() >= deadline:
                return problems
            self._sleep(VERIFY_POLL_SECONDS)

    def _verify(self, key: ServiceKey, services: tuple[str, ...], image_id: str) -> list[str]:
        handle = self._handle(key)
        containers = project_containers(self._engine, handle.project)
        problems = [problem for name in services for problem in _health(name, containers)]
        main = containers.get(key.service)
        if main is not None and main.running:
            running_image = self._images.container_image_ids([main.id]).get(main.id)
            if running_image != image_id:
                problems.append(
                    f"{key.service} runs {_short(running_image)}, not {_short(image_id)}"
                )
        for name in services:
            problems += self._namespace_problems(handle.project, name, containers)
        return problems

    def _namespace_problems(
        self, project: RenderedProject, name: str, containers: dict[str, ContainerInfo]
    ) -> list[str]:
        rendered = project.service(name)
        owner_name = rendered.namespace_owner if rendered else None
        container = containers.get(name)
        if owner_name is None or container is None or not container.running:
            return []
        owner = containers.get(owner_name)
        check = namespace_verdict(
            container,
            owner,
            self._engine.network_namespace(container.pid),
            self._engine.network_namespace(owner.pid) if owner else None,
            owner_name,
        )
        if check.verdict == Verdict.OK:
            return []
        return [f"{name} is not in {owner_name}'s namespace: {check.reason}"]

    def _handle(self, key: ServiceKey) -> ProjectHandle:
        return self._projects[key.project]

    def _event(
        self,
        stage: Stage,
        key: ServiceKey,
        message: str,
        digest: str | None = None,
        details: tuple[str, ...] = (),
    ) -> None:
        safe_notify(self._listener, UpdateEvent(stage, key, message, digest, details))


def _pull_arguments(compose: Compose, service: str) -> list[str]:
    return compose.arguments("pull", "--quiet", service)


def _health(name: str, containers: dict[str, ContainerInfo]) -> list[str]:
    container = containers.get(name)
    if container is None:
        return [f"{name} has no container"]
    if not container.running:
        return [f"{name} is {container.status}"]
    if container.health not in (None, "healthy"):
        return [f"{name} is {container.health}"]
    return []


def _describe_recreated(services: tuple[str, ...]) -> str:
    dependents = services[1:]
    if not dependents:
        return ""
    return f"; {', '.join(dependents)} followed into its new namespace"


def _short(identifier: str | None) -> str:
    if not identifier:
        return "(unknown)"
    algorithm, _, value = identifier.partition(":")
    return f"{algorithm}:{value[:12]}" if value else identifier[:12]


def _tail(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return " / ".join(lines[-OUTPUT_LINES_KEPT:]) or "(no output)"
