"""Rules about healthchecks: the first of the supervisor's healing layers, and for services in
gluetun's namespace the only thing that sees them stranded after gluetun restarts."""

from __future__ import annotations

from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject, Service
from mediastack.lint.roles import in_gluetun_namespace
from mediastack.render import NAMESPACE_GUARD

GUARD_FIX = (
    f"start the healthcheck's test with the namespace guard: "
    f'[CMD-SHELL, "{NAMESPACE_GUARD} && <the app\'s own probe>"] (mediastack render writes it)'
)


def _health_gap(service: Service) -> str | None:
    """Return why ``service`` runs no compose healthcheck, or None when it runs one."""
    check = service.healthcheck
    if check is None or (not check.test and not check.disabled):
        return "has no healthcheck"
    if not check.probes:
        return "disables its healthcheck"
    return None


def namespace_service_without_healthcheck(project: ComposeProject) -> Iterator[Violation]:
    """HLT001: in gluetun's namespace, the healthcheck (with its guard) is what notices a
    dependent left in a dead namespace after gluetun restarts."""
    for service in project.services:
        gap = _health_gap(service)
        if gap and in_gluetun_namespace(project, service):
            yield Violation(
                service.name,
                f"{service.name} runs in gluetun's namespace and {gap}: when gluetun restarts, "
                "nothing notices it is stranded in a dead namespace",
                GUARD_FIX,
            )


def service_without_healthcheck(project: ComposeProject) -> Iterator[Violation]:
    """HLT002: outside gluetun's namespace a missing healthcheck only blinds autoheal (the
    image may define one, but lint cannot see an image's HEALTHCHECK)."""
    for service in project.services:
        gap = _health_gap(service)
        if gap and not in_gluetun_namespace(project, service):
            yield Violation(
                service.name,
                f"{service.name} {gap} in the compose file; if its image defines none, "
                "autoheal never sees it fail",
                'add a healthcheck probing the app, e.g. test: [CMD-SHELL, "curl -fsS '
                'http://localhost:<port>/ || exit 1"]',
            )


def healthcheck_without_namespace_guard(project: ComposeProject) -> Iterator[Violation]:
    """HLT003: a namespace service's own probe asks its own localhost, which still answers
    inside a dead namespace; only the guard makes the healthcheck fail there."""
    for service in project.services:
        check = service.healthcheck
        if (
            check is not None
            and check.probes
            and in_gluetun_namespace(project, service)
            and NAMESPACE_GUARD not in check.command_text
        ):
            yield Violation(
                service.name,
                f"{service.name}'s healthcheck lacks the namespace guard: stranded in a dead "
                "namespace it still reports healthy (its localhost still answers)",
                GUARD_FIX,
            )
