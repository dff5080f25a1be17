"""A thin, typed wrapper around ``docker compose`` for one project.

Every command names the project, the compose file and the project directory explicitly, so it
does not matter where mediastack runs from; the per-stack ``.env`` next to the compose file is
the one compose interpolates. Operations that change things (up, down, restart, pull) and
``logs`` stream compose's own progress to the terminal; ``ps`` and ``version`` are captured
and parsed into frozen dataclasses.

Measured with Compose v2.40.3 on engine 20.10.24 (see tests/fixtures/engine/):
- ``ps --format json`` prints one JSON object per line (older v2 releases: one JSON array);
  nothing at all for a project without containers. ``Health`` is "" without a healthcheck and
  for stopped containers. ``--no-trunc`` gives full container ids.
- ``up --wait`` works on engine 20.10: it exits 1 with "container X is unhealthy", or
  "application not healthy after Ns" once ``--wait-timeout`` passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediastack.adapters.errors import (
    CommandError,
    CommandTimeoutError,
    EngineUnreachableError,
    ToolMissingError,
)
from mediastack.adapters.executor import COMPOSE_FIX, CommandResult, Executor
from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig

DOCKER = "docker"
# depends_on.restart (2.17), `down SERVICE...` and a stable `ps --format json` (2.20+).
MINIMUM_VERSION = (2, 20, 0)
_VERSION_PATTERN = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_PLUGIN_MISSING_MARKERS = ("unknown command: docker compose", "'compose' is not a docker command")
# Without the plugin the docker CLI rejects compose's flags first: "unknown flag: --short",
# exit 125 (compose itself exits 1 on an unknown flag). Measured with docker CLI 28.2.
_CLI_USAGE_EXIT_CODE = 125
_ENGINE_MISSING_MARKER = "Cannot connect to the Docker daemon"


@dataclass(frozen=True)
class ComposeProject:
    """Which compose project a command is about."""

    name: str
    compose_file: Path
    project_directory: Path

    @classmethod
    def for_stack(cls, loaded: LoadedConfig, stack: Stack) -> ComposeProject:
        """Return the rendered project of ``stack`` (it may not be rendered yet)."""
        compose_file = loaded.compose_file(stack)
        return cls(loaded.project_name(stack), compose_file, compose_file.parent)


@dataclass(frozen=True, order=True)
class ComposeVersion:
    """A Compose release, comparable: ``version >= (2, 20, 0)`` via ``as_tuple``."""

    major: int
    minor: int
    patch: int
    text: str = field(default="", compare=False)

    @property
    def as_tuple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class PublishedPort:
    """A port compose published on the host (``url`` is the host address)."""

    url: str
    target_port: int
    published_port: int
    protocol: str


@dataclass(frozen=True)
class ComposeContainer:
    """One row of ``docker compose ps``. ``health`` is None without a (current) health status."""

    id: str
    name: str
    service: str
    project: str
    state: str
    health: str | None
    exit_code: int
    status: str
    image: str
    publishers: tuple[PublishedPort, ...] = ()


def parse_version(text: str) -> ComposeVersion:
    """Given ``docker compose version --short`` output (``2.40.3``, ``v2.40.3``,
    ``2.29.1-desktop.1``), return the version; raise ValueError when there is none."""
    found = _VERSION_PATTERN.search(text)
    if found is None:
        raise ValueError(f"no version number in {text.strip()!r}")
    major, minor, patch = (int(part) for part in found.groups())
    return ComposeVersion(major, minor, patch, text.strip().removeprefix("v"))


def parse_ps(text: str) -> list[ComposeContainer]:
    """Given ``docker compose ps --format json`` output in either shape (one object per line,
    or one JSON array), return its containers; empty output is no containers. Raise
    ValueError when it is not that JSON."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        rows = json.loads(stripped)
    else:
        rows = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    return [_container_from(row) for row in rows]


def _container_from(row: dict[str, Any]) -> ComposeContainer:
    try:
        return ComposeContainer(
            id=row["ID"],
            name=row["Name"],
            service=row["Service"],
            project=row.get("Project", ""),
            state=row["State"],
            health=row.get("Health") or None,
            exit_code=int(row.get("ExitCode") or 0),
            status=row.get("Status", ""),
            image=row.get("Image", ""),
            publishers=tuple(_port_from(port) for port in row.get("Publishers") or ()),
        )
    except KeyError as error:
        raise ValueError(f"`docker compose ps` row without {error}: {row}") from None


def _port_from(port: dict[str, Any]) -> PublishedPort:
    return PublishedPort(
        url=port.get("URL", ""),
        target_port=int(port.get("TargetPort") or 0),
        published_port=int(port.get("PublishedPort") or 0),
        protocol=port.get("Protocol", "tcp"),
    )


def compose_version(executor: Executor) -> ComposeVersion:
    """Return the installed Compose v2 version; raise ToolMissingError (with the install fix)
    when docker or its compose plugin is missing."""
    arguments = [DOCKER, "compose", "version", "--short"]
    try:
        result = executor.run(arguments, timeout=30)
    except CommandError as error:
        raise translated(error) from None
    try:
        return parse_version(result.stdout)
    except ValueError:
        raise CommandError(arguments, 0, result.stdout, fix=COMPOSE_FIX) from None


def translated(error: CommandError) -> CommandError | EngineUnreachableError:
    """Return the clearer error for a failed compose command: a missing plugin or engine;
    any other error (a ToolMissingError for docker itself included) as it is."""
    usage_error = error.exit_code == _CLI_USAGE_EXIT_CODE and "unknown flag" in error.output
    if usage_error or any(marker in error.output for marker in _PLUGIN_MISSING_MARKERS):
        return ToolMissingError("docker compose", COMPOSE_FIX, error.command)
    if _ENGINE_MISSING_MARKER in error.output:
        return EngineUnreachableError(error.output.strip().splitlines()[0])
    return error


class Compose:
    """``docker compose`` for one project, run through an ``Executor``."""

    def __init__(self, project: ComposeProject, executor: Executor) -> None:
        self.project = project
        self._executor = executor

    def arguments(self, *subcommand: str) -> list[str]:
        """Return the full command line for ``docker compose SUBCOMMAND...`` on this project."""
        return [
            DOCKER,
            "compose",
            "--project-name",
            self.project.name,
            "--file",
            str(self.project.compose_file),
            "--project-directory",
            str(self.project.project_directory),
            *subcommand,
        ]

    def up(
        self,
        services: Sequence[str] = (),
        *,
        detach: bool = True,
        wait: bool = False,
        wait_timeout_seconds: int | None = None,
        force_recreate: bool = False,
        no_deps: bool = False,
        start: bool = True,
    ) -> None:
        """Create and start ``services`` (all when empty), removing containers of services no
        longer in the file. ``wait`` blocks until every started service is running and
        healthy (implies detach). ``start=False`` only creates (``--no-start``: a recreated
        service's old container is still stopped and removed, its new one left "created").
        Raise CommandError when compose fails."""
        options = ["--remove-orphans"]
        if not start:
            options.append("--no-start")
        elif detach or wait:
            options.append("--detach")
        if wait:
            options.append("--wait")
            if wait_timeout_seconds is not None:
                options += ["--wait-timeout", str(wait_timeout_seconds)]
        if force_recreate:
            options.append("--force-recreate")
        if no_deps:
            options.append("--no-deps")
        self._stream("up", *options, *services)

    def down(self, services: Sequence[str] = (), *, timeout_seconds: int | None = None) -> None:
        """Stop and remove ``services`` (the whole project when empty; the external network is
        never removed by compose). Raise CommandError when compose fails."""
        options = ["--remove-orphans"] if not services else []
        if timeout_seconds is not None:
            options += ["--timeout", str(timeout_seconds)]
        self._stream("down", *options, *services)

    def restart(self, services: Sequence[str] = ()) -> None:
        """Restart ``services`` in place (all when empty). Compose also restarts services that
        depend on them with ``restart: true``. Raise CommandError when compose fails."""
        self._stream("restart", *services)

    def pull(self, services: Sequence[str] = ()) -> None:
        """Pull the images of ``services`` (all when empty); services with ``pull_policy:
        never`` are skipped by compose. Raise CommandError when compose fails."""
        self._stream("pull", *services)

    def ps(self) -> list[ComposeContainer]:
        """Return every container of the project, stopped ones included."""
        arguments = self.arguments("ps", "--all", "--no-trunc", "--format", "json")
        try:
            result = self._executor.run(arguments)
        except CommandError as error:
            raise translated(error) from None
        try:
            return parse_ps(result.stdout)
        except ValueError as error:
            raise CommandError(arguments, 0, str(error)) from None

    def exec(
        self, service: str, command: Sequence[str], *, timeout_seconds: float
    ) -> CommandResult:
        """Run ``command`` in the running ``service`` (no TTY) and return its result, whatever
        its exit code. Raise CommandError when it outlives ``timeout_seconds``."""
        arguments = self.arguments("exec", "-T", service, *command)
        return self._executor.run(arguments, timeout=timeout_seconds, check=False)

    def logs(
        self, services: Sequence[str] = (), *, follow: bool = False, tail: int | None = None
    ) -> int:
        """Print the logs of ``services`` (all when empty) to the terminal; with ``follow``
        until Ctrl-C. Return compose's exit code."""
        options = ["--follow"] if follow else []
        if tail is not None:
            options += ["--tail", str(tail)]
        return self._executor.stream(self.arguments("logs", *options, *services))

    def _stream(self, *subcommand: str) -> None:
        arguments = self.arguments(*subcommand)
        try:
            exit_code = self._executor.stream(arguments)
        except CommandTimeoutError as error:
            # The executor's message names the whole command line; this one says which call
            # of which project (the supervisor's log and notices quote it).
            ended = f"did not finish in {error.seconds:g} s" if error.seconds else "was stopped"
            raise CommandTimeoutError(
                error.command,
                error.exit_code,
                error.output,
                seconds=error.seconds,
                message=f"`docker compose {subcommand[0]}` for {self.project.name} {ended}; "
                "its processes were killed",
            ) from None
        if exit_code != 0:
            raise CommandError(
                arguments,
                exit_code,
                "",
                message=f"`docker compose {subcommand[0]}` for "
                f"{self.project.name} exited {exit_code} (its output is above)",
            )
