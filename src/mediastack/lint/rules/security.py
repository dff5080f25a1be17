"""Rules about what a container may do to the host and to the tunnel, and about secrets."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject, EnvironmentVariable, Mount, MountKind, Service
from mediastack.lint.roles import in_gluetun_namespace, is_gluetun, is_socket_proxy
from mediastack.render.environment import looks_secret

SOCKET_NAME = "docker.sock"
SOCKET_FOLDERS = frozenset({"/run", "/var/run"})  # mounting these mounts the socket too
_REFERENCE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def privileged_service(project: ComposeProject) -> Iterator[Violation]:
    """SEC001: a privileged container has every device and capability of the host."""
    for service in project.services:
        if service.privileged:
            yield Violation(
                service.name,
                f"{service.name} runs privileged: it gets every host device and capability, "
                "and can take over the host",
                "remove `privileged: true`; grant only what it needs (cap_add, devices)",
            )


def _is_socket_mount(mount: Mount) -> bool:
    if mount.kind != MountKind.BIND or mount.source is None:
        return False
    return posixpath.basename(mount.source) == SOCKET_NAME or mount.source in SOCKET_FOLDERS


def docker_socket_mounted(project: ComposeProject) -> Iterator[Violation]:
    """SEC002: the Docker socket is root on the host; only the socket proxy may hold it."""
    for service in project.services:
        if is_socket_proxy(service):
            continue
        for mount in filter(_is_socket_mount, service.volumes):
            yield Violation(
                service.name,
                f"{service.name} mounts the Docker socket ({mount.describe()}): whoever "
                f"controls {service.name} controls the host, read-only or not",
                "remove the mount and reach Docker through the socket proxy "
                "(DOCKER_HOST=tcp://socket-proxy:2375)",
            )


def net_admin_outside_gluetun(project: ComposeProject) -> Iterator[Violation]:
    """SEC003: NET_ADMIN lets a container rewrite routes and firewall rules; in gluetun's
    namespace that means switching off the kill switch."""
    for service in project.services:
        granted = service.cap_add & {"NET_ADMIN", "ALL"}
        if granted and not is_gluetun(service):
            reach = (
                "gluetun's routes and kill-switch firewall"
                if in_gluetun_namespace(project, service)
                else "its network's routes and firewall"
            )
            yield Violation(
                service.name,
                f"{service.name} is granted {', '.join(sorted(granted))}: it can rewrite {reach}",
                f"remove {', '.join(sorted(granted))} from {service.name}'s cap_add; only "
                "gluetun needs NET_ADMIN",
            )


def is_literal(value: str | None) -> bool:
    """Return True for a non-empty value with no ``${VAR}``/``$VAR`` reference (``$$`` is an
    escaped dollar, not a reference)."""
    if not value:
        return False
    return _REFERENCE.search(value.replace("$$", "")) is None


def _literal_secret_keys(variable: EnvironmentVariable) -> list[str]:
    """Return what in ``variable`` is a literal secret: its own name, or the secret-looking
    keys of a JSON object it holds (gluetun's ``…_AUTH_DEFAULT_ROLE`` embeds an API key)."""
    if looks_secret(variable.name):
        return [variable.name] if is_literal(variable.value) else []
    text = (variable.value or "").strip()
    if not text.startswith("{"):
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    return [
        f"{variable.name} ({key})"
        for key, inner in document.items()
        if isinstance(inner, str) and looks_secret(key) and is_literal(inner)
    ]


def literal_secret(project: ComposeProject) -> Iterator[Violation]:
    """SEC004: a secret written inline is in every copy, commit and ``docker inspect``."""
    for service in project.services:
        for variable in service.environment:
            for what in _literal_secret_keys(variable):
                yield _secret_violation(service, variable.name, what)


def _secret_violation(service: Service, name: str, what: str) -> Violation:
    return Violation(
        service.name,
        f"{service.name}'s environment holds {what} as a literal value: it ends up in every "
        "copy and commit of this file and in `docker inspect`",
        f"put the value in .env ({name}=...) and write `{name}: ${{{name}}}` here "
        "(mediastack render does this for the secrets it knows)",
    )
