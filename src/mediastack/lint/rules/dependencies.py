"""Rules about references to other services: compose refuses a project whose services name a
service that is not in it."""

from __future__ import annotations

from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject


def missing_dependency(project: ComposeProject) -> Iterator[Violation]:
    """DEP001: ``depends_on`` names a service that is not defined (or not enabled) here."""
    names = project.service_names
    for service in project.services:
        for dependency in service.depends_on:
            if dependency.required and dependency.service not in names:
                yield Violation(
                    service.name,
                    f"{service.name} depends on {dependency.service}, which is not defined in "
                    f"this project ({project.path.name}): compose refuses to start the project",
                    f"enable or define {dependency.service} in this stack, or remove it from "
                    f"{service.name}'s depends_on",
                )


def missing_namespace_owner(project: ComposeProject) -> Iterator[Violation]:
    """DEP002: ``network_mode: service:X`` with no service X in this project."""
    names = project.service_names
    for service in project.services:
        reference = service.namespace
        if reference is not None and reference.kind == "service" and reference.name not in names:
            yield Violation(
                service.name,
                f"{service.name} has network_mode `service:{reference.name}`, but this project "
                f"has no service {reference.name}: compose refuses to start the project",
                f"enable or define {reference.name} in this stack, or use "
                "`network_mode: container:<name>` for a container of another project",
            )
