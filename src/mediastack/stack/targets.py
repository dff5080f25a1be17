"""Turn the TARGETs of ``up``/``down``/``restart``/``pull``/``logs`` into stacks and services.

A TARGET is a stack (vpn, media, ops) or a service (as rendered, e.g. qbittorrent). No TARGET
means every enabled stack, in start order vpn, media, ops (reversed for ``down``). Only
enabled stacks take part: those whose compose file has been rendered.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from mediastack.catalogue import CATALOGUE, Stack
from mediastack.config import LoadedConfig
from mediastack.stack.rendered import RENDER_FIX, RenderedProject, require_rendered

STACK_NAMES = frozenset(stack.value for stack in Stack)


class TargetError(Exception):
    """A TARGET names nothing that is rendered; ``fix`` lists what would be valid."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class StackTarget:
    """One stack to operate on: all of it (``services`` empty) or only ``services``."""

    project: RenderedProject
    services: tuple[str, ...] = ()

    @property
    def stack(self) -> Stack:
        return self.project.stack

    @property
    def whole_stack(self) -> bool:
        return not self.services

    def describe(self) -> str:
        """Return e.g. ``vpn (mediastack-vpn): gluetun, qbittorrent`` for progress lines."""
        services = ", ".join(self.services) if self.services else "all services"
        return f"{self.stack.value} ({self.project.project_name}): {services}"


def resolve_targets(
    loaded: LoadedConfig, targets: Sequence[str], *, reverse: bool = False
) -> list[StackTarget]:
    """Given CLI TARGETs, return what to operate on, one entry per stack, in start order (or
    reversed). Raise RenderedFileError when no stack is rendered, TargetError for a TARGET
    that is unknown, switched off or not rendered."""
    projects = require_rendered(loaded)
    if not targets:
        plan = [StackTarget(project) for project in projects]
    else:
        plan = _plan(loaded, projects, targets)
    return plan[::-1] if reverse else plan


def _plan(
    loaded: LoadedConfig, projects: list[RenderedProject], targets: Sequence[str]
) -> list[StackTarget]:
    whole: set[Stack] = set()
    chosen: dict[Stack, list[str]] = {}
    for target in targets:
        if target in STACK_NAMES:
            whole.add(_project_of_stack(loaded, projects, Stack(target)).stack)
            continue
        project = _project_of_service(projects, target)
        services = chosen.setdefault(project.stack, [])
        if target not in services:
            services.append(target)
    plan = []
    for project in projects:
        if project.stack in whole:
            plan.append(StackTarget(project))
        elif project.stack in chosen:
            plan.append(StackTarget(project, tuple(chosen[project.stack])))
    return plan


def _project_of_stack(
    loaded: LoadedConfig, projects: list[RenderedProject], stack: Stack
) -> RenderedProject:
    for project in projects:
        if project.stack == stack:
            return project
    raise TargetError(
        f"stack {stack.value} is not rendered: {loaded.compose_file(stack)} does not exist",
        f"{RENDER_FIX}; a stack with no enabled service has no compose file",
    )


def _project_of_service(projects: list[RenderedProject], name: str) -> RenderedProject:
    for project in projects:
        if project.service(name) is not None:
            return project
    definition = CATALOGUE.get(name)
    if definition is not None:
        raise TargetError(
            f"{name} is not in the rendered {definition.stack.value} stack (switched off?)",
            f"set services.{name}.enabled: true in mediastack.yaml, then {RENDER_FIX}",
        )
    raise TargetError(_unknown_message(projects, name), _valid_targets(projects))


def valid_target_names(projects: Sequence[RenderedProject]) -> list[str]:
    """Return every TARGET that would resolve: the rendered stacks, then their services."""
    stacks = [project.stack.value for project in projects]
    services = [name for project in projects for name in project.service_names]
    return stacks + services


def _unknown_message(projects: Sequence[RenderedProject], name: str) -> str:
    close = difflib.get_close_matches(name, valid_target_names(projects), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown target '{name}'{hint}"


def _valid_targets(projects: Sequence[RenderedProject]) -> str:
    stacks = ", ".join(project.stack.value for project in projects)
    services = ", ".join(name for project in projects for name in project.service_names)
    return f"use a stack ({stacks}) or a service ({services})"
