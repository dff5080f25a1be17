"""The typed compose model the lint rules read: one shape per compose key, whatever syntax
(short or long, list or mapping) the file used. Built once by ``mediastack.lint.load``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

ALL_INTERFACES = frozenset({"", "0.0.0.0", "::"})


class MountKind(StrEnum):
    """What a volume entry mounts: a host path, a named volume, or memory."""

    BIND = "bind"
    VOLUME = "volume"
    TMPFS = "tmpfs"
    OTHER = "other"  # npipe, cluster, image: nothing lint reasons about


@dataclass(frozen=True)
class PortBinding:
    """One ``ports`` entry. ``host_port`` is None when Docker picks an ephemeral host port."""

    container_port: str
    host_port: str | None
    host_ip: str  # "" when the entry names no address: every interface
    protocol: str
    written: str  # the entry as the file wrote it (short form), for messages

    @property
    def on_all_interfaces(self) -> bool:
        """Return True when the port is reachable on every host interface."""
        return self.host_ip in ALL_INTERFACES


@dataclass(frozen=True)
class Mount:
    """One ``volumes`` entry. ``source`` is a normalised absolute path for binds, the volume
    name for named volumes, and None for anonymous volumes and tmpfs."""

    kind: MountKind
    source: str | None
    target: str
    read_only: bool

    def describe(self) -> str:
        """Return ``source:target`` (or just the target), the way a person would write it."""
        return f"{self.source}:{self.target}" if self.source else self.target


@dataclass(frozen=True)
class NamespaceReference:
    """``network_mode: service:NAME`` or ``container:NAME``: the service joins NAME's network."""

    kind: str  # "service" or "container"
    name: str


@dataclass(frozen=True)
class Dependency:
    """One ``depends_on`` entry; ``required`` is False for ``required: false`` (compose 2.20+)."""

    service: str
    condition: str
    required: bool


@dataclass(frozen=True)
class EnvironmentVariable:
    """One ``environment`` entry; ``value`` is None when it is passed through from the shell."""

    name: str
    value: str | None


@dataclass(frozen=True)
class Healthcheck:
    """The compose healthcheck: ``test`` as given (a string becomes ``CMD-SHELL``)."""

    test: tuple[str, ...]
    disabled: bool

    @property
    def probes(self) -> bool:
        """Return True when this healthcheck runs a command (not disabled, not ``NONE``)."""
        return not self.disabled and bool(self.test) and self.test[0] != "NONE"

    @property
    def command_text(self) -> str:
        """Return the probe's command line, without the CMD/CMD-SHELL marker."""
        return " ".join(self.test[1:] if self.test[:1] in (("CMD",), ("CMD-SHELL",)) else self.test)


@dataclass(frozen=True)
class Service:
    """One compose service, normalised. ``image_name`` is the last path component of the
    image repository, lower-cased (``lscr.io/linuxserver/sonarr:latest`` -> ``sonarr``)."""

    name: str
    image: str | None
    image_name: str
    container_name: str | None
    network_mode: str | None
    namespace: NamespaceReference | None
    ports: tuple[PortBinding, ...]
    volumes: tuple[Mount, ...]
    environment: tuple[EnvironmentVariable, ...]
    depends_on: tuple[Dependency, ...]
    healthcheck: Healthcheck | None
    cap_add: frozenset[str]  # upper case, without the CAP_ prefix
    devices: tuple[str, ...]  # host device paths
    privileged: bool

    def mount_at(self, target: str) -> Mount | None:
        """Return the mount whose container path is ``target``, or None."""
        return next((mount for mount in self.volumes if mount.target == target), None)


@dataclass(frozen=True)
class ComposeProject:
    """One compose file. ``stack`` is the name of the folder holding it (vpn, media, ops, or a
    hand-added one); ``name`` is the compose project name. ``override_paths`` lists override
    files next to it that compose would merge in (they are not linted)."""

    name: str
    stack: str
    path: Path
    services: tuple[Service, ...]
    override_paths: tuple[Path, ...] = ()

    def service(self, name: str) -> Service | None:
        """Return the service called ``name``, or None."""
        return next((service for service in self.services if service.name == name), None)

    @property
    def service_names(self) -> frozenset[str]:
        return frozenset(service.name for service in self.services)
