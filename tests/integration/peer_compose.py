"""Small compose projects for the peer tests: write one compose file, bring it up, take it down.

Containers are reached only through ports published on 127.0.0.1 or ``docker exec``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from standins import compose, docker

FAST_HEALTHCHECK = {"interval": "1s", "timeout": "5s", "retries": 3, "start_period": "30s"}


def healthcheck(probe: str) -> dict[str, Any]:
    """Return a compose healthcheck running ``probe`` with a shell, on fast test timing."""
    return {"test": ["CMD-SHELL", probe], **FAST_HEALTHCHECK}


@dataclass(frozen=True)
class Project:
    """One running compose project."""

    name: str
    compose_file: Path

    def container(self, service: str) -> str:
        """Return the id of ``service``'s container; fail when it has none."""
        found = compose(self.name, self.compose_file, "ps", "-a", "-q", service).stdout.strip()
        assert found, f"no container for service {service}"
        return found

    def exec(self, service: str, *command: str, check: bool = True) -> str:
        """Run ``command`` in ``service``'s container; return its stdout."""
        return docker("exec", self.container(service), *command, check=check, timeout=60).stdout

    def logs(self, service: str) -> str:
        """Return ``service``'s container log, stdout and stderr together."""
        completed = docker("logs", self.container(service), check=False)
        return completed.stdout + completed.stderr

    def compose(self, *arguments: str, check: bool = True) -> str:
        """Run ``docker compose`` on this project; return its stdout."""
        return compose(self.name, self.compose_file, *arguments, check=check).stdout


@contextlib.contextmanager
def running_project(
    name: str,
    directory: Path,
    services: Mapping[str, Any],
    *,
    wait: bool = True,
    start: Sequence[str] = (),
) -> Iterator[Project]:
    """Write a compose file for ``services`` into ``directory``, ``up -d`` the ``start``
    services (default: all; with ``--wait`` when ``wait``), yield the project, and take it
    down (volumes included) afterwards."""
    compose_file = directory / "compose.yaml"
    compose_file.write_text(yaml.safe_dump({"services": dict(services)}, sort_keys=False))
    project = Project(name, compose_file)
    try:
        project.compose("up", "-d", *(["--wait"] if wait else []), *start)
        yield project
    finally:
        compose(name, compose_file, "down", "-v", "--remove-orphans", "-t", "3", check=False)
