"""The update pipeline as one object: check, plan, apply. The API the CLI and the daemon call.

updater = build_updater(loaded, executor=..., engine=..., images=..., registry=..., listener=...)
checks = updater.check()                                  # HEADs only, nothing pulled
plan = updater.plan(checks, source=Source.SCHEDULE)       # pure decisions
results = [updater.apply(step) for step in plan.to_apply] # one service at a time
# or all of it, for a queued request:
run = updater.handle(UpdateRequest(Source.WEBHOOK, frozenset({"sonarr"})))
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from mediastack.adapters.compose import ComposeProject
from mediastack.adapters.engine import ContainerReader
from mediastack.adapters.executor import Executor
from mediastack.adapters.registry import RegistryClient
from mediastack.config import LoadedConfig
from mediastack.stack.lease import LeaseHolder, lease_folder
from mediastack.stack.rendered import require_rendered
from mediastack.updates.apply import Applier, ApplySettings, ProjectHandle
from mediastack.updates.check import CheckTarget, check_images, running_service_images
from mediastack.updates.coordination import (
    MEMORY_FILE_NAME,
    FileRollbacks,
    Maintenance,
    RollbackMemory,
    state_folder,
)
from mediastack.updates.local_images import LocalImages
from mediastack.updates.model import (
    ApplyResult,
    CheckResult,
    PlannedStep,
    Policy,
    Source,
    Stage,
    UpdateEvent,
    UpdatePlan,
)
from mediastack.updates.notices import UpdateListener, safe_notify
from mediastack.updates.planner import plan_updates
from mediastack.updates.queue import UpdateRequest
from mediastack.updates.stopping import NEVER_STOPPED, UpdateStop


@dataclass(frozen=True)
class UpdateRun:
    """One request's check, plan and results, and the registry requests the check made."""

    checks: tuple[CheckResult, ...]
    plan: UpdatePlan
    results: tuple[ApplyResult, ...]
    registry_requests: int


class Updater:
    """Check, plan and apply image updates over the rendered stacks. Not thread-safe: one
    worker runs it (the CLI, or the daemon's update worker)."""

    def __init__(
        self,
        *,
        targets: Sequence[CheckTarget],
        applier: Applier,
        engine: ContainerReader,
        images: LocalImages,
        registry: RegistryClient,
        listener: UpdateListener,
        memory: RollbackMemory,
    ) -> None:
        self._targets = list(targets)
        self._applier = applier
        self._images = images
        self._engine = engine
        self._registry = registry
        self._listener = listener
        self._memory = memory

    @property
    def service_names(self) -> list[str]:
        """Return every rendered service, in stack then file order."""
        return [name for target in self._targets for name in target.project.service_names]

    def check(self, services: Collection[str] = ()) -> list[CheckResult]:
        """Return the check of every running service (only ``services`` when given): one HEAD
        per distinct image pulled from a registry, nothing pulled. Raise AdapterError when the
        engine cannot be reached; a registry that fails is a result (status ``error``)."""
        images = running_service_images(
            self._targets, self._engine, self._images, frozenset(services)
        )
        return check_images(images, self._registry.manifest_digest)

    def plan(
        self, checks: Sequence[CheckResult], *, source: Source, named: Collection[str] = ()
    ) -> UpdatePlan:
        """Return the decisions for ``checks`` (see ``planner``), with the rolled-back digests
        remembered so far."""
        return plan_updates(
            checks, source=source, named=named, rolled_back=self._memory.rolled_back()
        )

    def report_available(self, plan: UpdatePlan) -> None:
        """Tell the listener about every outdated service the plan only reports."""
        for step in plan.to_notify:
            safe_notify(self._listener, _available(step))

    def apply(self, step: PlannedStep) -> ApplyResult:
        """Apply one planned step (see ``apply.Applier.apply``)."""
        return self._applier.apply(step)

    def print_commands(self, step: PlannedStep, write: Callable[[str], None]) -> ApplyResult:
        """Print what ``apply(step)`` would run; run nothing."""
        return self._applier.print_commands(step, write)

    def handle(
        self,
        request: UpdateRequest,
        *,
        dry_run: bool = False,
        write: Callable[[str], None] = print,
    ) -> UpdateRun:
        """Check, plan, report and apply for ``request``; a command-line request names its
        services (which lifts ``update: notify`` for them). With ``dry_run`` the commands are
        written, not run."""
        before = self._registry.requests.count()
        checks = self.check(request.services)
        named = request.services if request.source == Source.CLI else frozenset()
        plan = self.plan(checks, source=request.source, named=named)
        requests_made = self._registry.requests.count() - before
        if not dry_run:
            self.report_available(plan)
        act = (lambda step: self.print_commands(step, write)) if dry_run else self.apply
        results = tuple(act(step) for step in plan.to_apply)
        return UpdateRun(tuple(checks), plan, results, requests_made)


def _available(step: PlannedStep) -> UpdateEvent:
    check = step.check
    message = (
        f"{check.service} ({check.image.reference_text}) has a new image "
        f"{check.remote_digest}; not applied: {step.reason}."
    )
    return UpdateEvent(Stage.AVAILABLE, check.image.key, message, check.remote_digest)


def policies_of(loaded: LoadedConfig) -> dict[str, Policy]:
    """Return service -> update policy as configured (unlisted services: auto)."""
    return {name: Policy(settings.update) for name, settings in loaded.config.services.items()}


def build_updater(
    loaded: LoadedConfig,
    *,
    executor: Executor,
    engine: ContainerReader,
    images: LocalImages,
    registry: RegistryClient,
    listener: UpdateListener,
    maintenance: Maintenance | None = None,
    memory: RollbackMemory | None = None,
    stop: UpdateStop = NEVER_STOPPED,
) -> Updater:
    """Return an Updater over the rendered stacks of ``loaded``. ``maintenance`` defaults to a
    hold file and ``memory`` to a JSON file, both under ``.mediastack/`` next to
    mediastack.yaml; ``stop`` ends the update early (the one bounding ``executor``: see
    ``apply``). Raise RenderedFileError when nothing is rendered."""
    projects = require_rendered(loaded)
    policies = policies_of(loaded)
    folder = state_folder(loaded.root)
    memory = memory or FileRollbacks(folder / MEMORY_FILE_NAME)
    handles = [
        ProjectHandle(project, ComposeProject.for_stack(loaded, project.stack))
        for project in projects
    ]
    applier = Applier(
        projects=handles,
        executor=executor,
        engine=engine,
        images=images,
        listener=listener,
        maintenance=maintenance or LeaseHolder(lease_folder(loaded.root)),
        memory=memory,
        settings=ApplySettings(loaded.config.updates.healthy_timeout_seconds),
        stop=stop,
    )
    return Updater(
        targets=[CheckTarget(project, policies) for project in projects],
        applier=applier,
        engine=engine,
        images=images,
        registry=registry,
        listener=listener,
        memory=memory,
    )

