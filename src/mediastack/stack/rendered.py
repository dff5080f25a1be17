"""The rendered compose files, read back: which stacks are enabled and what they contain.

``up``, ``status`` and friends operate on these files, never on a fresh render: what runs is
what the user can read (and may have committed). A stack is enabled when its compose file
exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.render import ZONE_LABEL

SERVICE_NETWORK_PREFIX = "service:"
RENDER_FIX = "run `mediastack render`"


class RenderedFileError(Exception):
    """A rendered compose file is missing or unreadable; ``fix`` says what to do."""

    def __init__(self, message: str, fix: str = RENDER_FIX) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class RenderedService:
    """One service as the compose file declares it."""

    name: str
    image: str | None
    zone: str | None
    network_mode: str | None

    @property
    def namespace_owner(self) -> str | None:
        """Return the service whose network namespace this one joins (``service:NAME``)."""
        if self.network_mode and self.network_mode.startswith(SERVICE_NETWORK_PREFIX):
            return self.network_mode.removeprefix(SERVICE_NETWORK_PREFIX)
        return None


@dataclass(frozen=True)
class RenderedProject:
    """One rendered stack: its compose project name, file and services in file order."""

    stack: Stack
    project_name: str
    compose_file: Path
    services: tuple[RenderedService, ...]

    @property
    def service_names(self) -> list[str]:
        return [service.name for service in self.services]

    def service(self, name: str) -> RenderedService | None:
        return next((service for service in self.services if service.name == name), None)

    def namespace_dependents(self, owner: str) -> list[str]:
        """Return the services that live in ``owner``'s network namespace."""
        return [s.name for s in self.services if s.namespace_owner == owner]


def read_project(loaded: LoadedConfig, stack: Stack) -> RenderedProject | None:
    """Return the rendered project of ``stack``, or None when its compose file does not exist;
    raise RenderedFileError when it exists but is not a compose file."""
    path = loaded.compose_file(stack)
    if not path.is_file():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RenderedFileError(f"cannot read {path}: {error}") from None
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        raise RenderedFileError(f"{path} has no `services:` mapping")
    return RenderedProject(
        stack=stack,
        project_name=loaded.project_name(stack),
        compose_file=path,
        services=tuple(_service(name, body) for name, body in services.items()),
    )


def rendered_projects(loaded: LoadedConfig) -> list[RenderedProject]:
    """Return every enabled (rendered) stack, in start order vpn, media, ops."""
    projects = (read_project(loaded, stack) for stack in Stack)
    return [project for project in projects if project is not None]


def require_rendered(loaded: LoadedConfig) -> list[RenderedProject]:
    """Return every enabled stack, in start order; raise RenderedFileError when none is
    rendered (nothing to run or report on)."""
    projects = rendered_projects(loaded)
    if not projects:
        raise RenderedFileError(
            f"no rendered stack under {loaded.stacks_folder}",
            f"{RENDER_FIX} first (it writes <stack>/compose.yaml)",
        )
    return projects


def _service(name: str, body: Any) -> RenderedService:
    body = body if isinstance(body, dict) else {}
    image = body.get("image")
    network_mode = body.get("network_mode")
    return RenderedService(
        name=str(name),
        image=str(image) if image is not None else None,
        zone=labels_of(body).get(ZONE_LABEL),
        network_mode=str(network_mode) if network_mode is not None else None,
    )


def labels_of(body: Mapping[str, Any]) -> dict[str, str]:
    """Return a compose service's labels; compose allows a mapping or a ``KEY=VALUE`` list."""
    labels = body.get("labels")
    if isinstance(labels, dict):
        return {str(key): str(value) for key, value in labels.items()}
    if isinstance(labels, list):
        pairs = (str(item).partition("=") for item in labels)
        return {key: value for key, _, value in pairs}
    return {}
