"""Docker engine access through the ``docker`` SDK: reachability, container inspection, the
shared network, and network namespaces read from /proc.

Raw engine JSON is parsed here, at the edge, into frozen dataclasses; nothing past this module
touches ``docker inspect`` dictionaries. Every SDK failure leaves as ``EngineUnreachableError``
(no engine, wrong DOCKER_HOST, socket permissions) or ``EngineError`` (the engine refused).

The SDK is imported by ``DockerEngine`` alone, when used: the models and parsers here are
shared with the supervisor's own engine client (``mediastack.adapters.engine_socket``), which
does without the SDK and its requests (issue 3: the idle supervisor in 45 MB).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mediastack.adapters.errors import EngineError, EngineUnreachableError

if TYPE_CHECKING:
    import docker

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_ONEOFF_LABEL = "com.docker.compose.oneoff"
CONTAINER_NETWORK_PREFIX = "container:"
DEFAULT_ENGINE_TIMEOUT_SECONDS = 30

Filters = Mapping[str, str | Sequence[str]]
Result = TypeVar("Result")


@dataclass(frozen=True)
class ContainerInfo:
    """One container as ``docker inspect`` describes it, reduced to what mediastack reads.

    ``health`` is None when the container has no healthcheck. The engine keeps the last
    health status of a stopped container, so read it together with ``status``.
    ``started_at`` is None for a container that never started; ``pid`` is 0 unless running.
    """

    id: str
    name: str
    image: str
    status: str
    health: str | None
    started_at: datetime | None
    pid: int
    network_mode: str
    sandbox_key: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    error: str = ""  # why its last start failed (e.g. "cannot join network of a non running ...")

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def compose_project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT_LABEL)

    @property
    def compose_service(self) -> str | None:
        return self.labels.get(COMPOSE_SERVICE_LABEL)

    @property
    def is_oneoff(self) -> bool:
        """True for ``docker compose run`` containers, which are not the service itself."""
        return self.labels.get(COMPOSE_ONEOFF_LABEL, "False") == "True"

    @property
    def network_container(self) -> str | None:
        """Return the container (id or name) whose namespace this one joins, if it joins one."""
        if self.network_mode.startswith(CONTAINER_NETWORK_PREFIX):
            return self.network_mode.removeprefix(CONTAINER_NETWORK_PREFIX)
        return None


@dataclass(frozen=True)
class NetworkInfo:
    """One engine network, reduced to what ``up``/``down`` decide on."""

    id: str
    name: str
    driver: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    container_count: int = 0


class ContainerReader(Protocol):
    """What ``mediastack status`` needs from the engine (a fake serves the unit tests)."""

    def inspect_containers(self, filters: Filters) -> list[ContainerInfo]: ...

    def network_namespace(self, pid: int) -> str | None: ...


class NetworkManager(Protocol):
    """What ``up``/``down`` need from the engine for the shared network."""

    def inspect_network(self, name: str) -> NetworkInfo | None: ...

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> bool: ...

    def remove_network(self, name: str) -> bool: ...


def parse_timestamp(text: str) -> datetime | None:
    """Given an engine timestamp (RFC 3339, nanoseconds), return an aware datetime; None for
    the engine's "never" (year 1) and for anything unreadable."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if moment.year <= 1 else moment


def parse_container(raw: Mapping[str, Any]) -> ContainerInfo:
    """Given one ``docker inspect`` object, return a ContainerInfo; raise EngineError when a
    field mediastack relies on is absent (an engine this code does not understand)."""
    try:
        state = raw["State"]
        configuration = raw["Config"]
        health = state.get("Health") or {}
        return ContainerInfo(
            id=raw["Id"],
            name=str(raw["Name"]).lstrip("/"),
            image=configuration["Image"],
            status=state["Status"],
            health=health.get("Status") or None,
            started_at=parse_timestamp(state.get("StartedAt", "")),
            pid=int(state.get("Pid") or 0),
            network_mode=raw["HostConfig"]["NetworkMode"],
            sandbox_key=(raw.get("NetworkSettings") or {}).get("SandboxKey") or "",
            labels=dict(configuration.get("Labels") or {}),
            error=str(state.get("Error") or ""),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise EngineError(f"unexpected `docker inspect` output: missing {error}") from None


def parse_network(raw: Mapping[str, Any]) -> NetworkInfo:
    """Given one ``docker network inspect`` object, return a NetworkInfo."""
    return NetworkInfo(
        id=raw["Id"],
        name=raw["Name"],
        driver=raw.get("Driver") or "",
        labels=dict(raw.get("Labels") or {}),
        container_count=len(raw.get("Containers") or {}),
    )


def network_namespace(pid: int) -> str | None:
    """Return the network namespace of process ``pid`` (e.g. ``net:[4026532185]``), or None
    when it cannot be read (no such process, not permitted, not Linux). A probe that could
    not run is not a probe that failed: callers treat None as "unknown", never as "differs"."""
    if pid <= 0:
        return None
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


class DockerEngine:
    """The real engine, through the ``docker`` SDK's low-level API client."""

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client

    @classmethod
    def connect(cls, timeout_seconds: int = DEFAULT_ENGINE_TIMEOUT_SECONDS) -> DockerEngine:
        """Connect as the docker CLI would (DOCKER_HOST, else the default socket) and agree on
        an API version; raise EngineUnreachableError when there is no engine to talk to."""
        import docker
        import docker.errors
        import requests.exceptions

        try:
            client = docker.from_env(timeout=timeout_seconds)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise unreachable(error) from None
        return cls(client)

    def server_version(self) -> str:
        """Return the engine's version, e.g. ``20.10.24+dfsg1``."""
        return str(self._call(self._client.version)["Version"])

    def inspect_containers(self, filters: Filters) -> list[ContainerInfo]:
        """Return every container (running or not) matching ``filters`` (engine filter syntax,
        e.g. ``{"label": ["com.docker.compose.project=x"]}``), fully inspected. A container
        removed between listing and inspecting is left out."""
        summaries = self._call(lambda: self._client.api.containers(all=True, filters=filters))
        containers = []
        for summary in summaries:
            raw = self._inspect_or_none(summary["Id"])
            if raw is not None:
                containers.append(parse_container(raw))
        return containers

    def network_namespace(self, pid: int) -> str | None:
        return network_namespace(pid)

    def inspect_network(self, name: str) -> NetworkInfo | None:
        """Return the network called exactly ``name``, or None when there is none."""
        import docker.errors

        try:
            raw = self._call(lambda: self._client.api.inspect_network(name))
        except EngineError as error:
            if isinstance(error.__cause__, docker.errors.NotFound):
                return None
            raise
        network = parse_network(raw)
        # The engine also resolves id prefixes; only an exact name is this network.
        return network if network.name == name else None

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> bool:
        """Create the bridge network ``name`` with ``labels`` unless it exists; return True when
        it was created. Raise EngineError when a network of that name is not a bridge."""
        existing = self.inspect_network(name)
        if existing is not None:
            _require_bridge(existing)
            return False
        try:
            self._call(
                lambda: self._client.api.create_network(
                    name, driver="bridge", labels=dict(labels), check_duplicate=True
                )
            )
        except EngineError as error:
            # Another process may have created it between our look and our create.
            if self.inspect_network(name) is None:
                raise error from error.__cause__
            return False
        return True

    def remove_network(self, name: str) -> bool:
        """Remove the network ``name``; return False when it did not exist. Raise EngineError
        (with a fix) while containers are still attached."""
        network = self.inspect_network(name)
        if network is None:
            return False
        try:
            self._call(lambda: self._client.api.remove_network(network.id))
        except EngineError as error:
            raise EngineError(
                f"cannot remove network {name}: {error.message}",
                f"stop what still uses it (`docker network inspect {name}`), then retry",
            ) from error.__cause__
        return True

    def build_image(
        self,
        context: Path,
        tag: str,
        build_arguments: Mapping[str, str],
        labels: Mapping[str, str],
        on_line: Callable[[str], None],
    ) -> None:
        """Build ``context`` (a folder with a Dockerfile) as ``tag``, passing each line of the
        builder's output to ``on_line``; raise EngineError with the builder's message when a
        step fails. The classic builder, as the SDK speaks it: no BuildKit needed."""

        def stream() -> None:
            for chunk in self._client.api.build(
                path=str(context), tag=tag, buildargs=dict(build_arguments),
                labels=dict(labels), rm=True, forcerm=True, decode=True,
            ):  # fmt: skip
                if "error" in chunk:
                    raise EngineError(
                        f"building {tag} failed: {str(chunk['error']).strip()}",
                        "read the build output above; a missing base image needs the "
                        "registry once, or set supervisor.image_base to a local image",
                    )
                line = str(chunk.get("stream", "")).rstrip()
                if line:
                    on_line(line)

        self._call(stream)

    def _inspect_or_none(self, container_id: str) -> Mapping[str, Any] | None:
        import docker.errors

        try:
            raw: Mapping[str, Any] = self._call(
                lambda: self._client.api.inspect_container(container_id)
            )
        except EngineError as error:
            if isinstance(error.__cause__, docker.errors.NotFound):
                return None
            raise
        return raw

    def _call(self, request: Callable[[], Result]) -> Result:
        """Run one SDK request; translate its failures into this package's errors."""
        import docker.errors
        import requests.exceptions

        try:
            return request()
        except docker.errors.APIError as error:
            raise EngineError(str(error.explanation or error)) from error
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise unreachable(error) from error


def _require_bridge(network: NetworkInfo) -> None:
    if network.driver != "bridge":
        raise EngineError(
            f"network {network.name} exists with driver {network.driver}, not bridge",
            f"remove it (`docker network rm {network.name}`) or set another network.name",
        )


def unreachable(error: BaseException) -> EngineUnreachableError:
    """Return the EngineUnreachableError that explains ``error``, with the fix that fits."""
    text = str(error)
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if "Permission denied" in text or "PermissionError" in text:
        return EngineUnreachableError(
            f"permission denied on {host}",
            "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in "
            "again), or run as root",
        )
    return EngineUnreachableError(
        _connection_problem(text, host),
        "start the engine (`sudo systemctl start docker`), and check DOCKER_HOST "
        f"(now {os.environ.get('DOCKER_HOST', 'unset')})",
    )


def _connection_problem(text: str, host: str) -> str:
    if "FileNotFoundError" in text or "No such file" in text:
        return f"no socket at {host}"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return f"connection refused at {host}"
    return f"cannot connect to {host}: {text}"
