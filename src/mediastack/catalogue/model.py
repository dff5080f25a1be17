"""The shape of one service definition: small, frozen data that the renderer and linter read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Stack(StrEnum):
    """The three compose projects, in start order."""

    VPN = "vpn"
    MEDIA = "media"
    OPS = "ops"


class Zone(StrEnum):
    """Where a service's network traffic goes."""

    GLUETUN = "gluetun"  # the VPN container itself: joins the bridge, owns the namespace
    VPN = "vpn"  # inside gluetun's namespace (network_mode: service:gluetun)
    HOST = "host"  # host network (plex: discovery and direct play need it)
    BRIDGE = "bridge"  # the shared external bridge network


class DataMount(StrEnum):
    """Which part of the data folder a service sees."""

    NONE = "none"
    ALL = "all"  # data/ at /data: one filesystem view, so imports are hardlinks
    MEDIA = "media"  # data/media at /data/media: same paths as the *arr apps use


@dataclass(frozen=True)
class Port:
    """A port the service listens on inside its namespace."""

    name: str
    container: int
    protocol: str = "tcp"
    publish: bool = True  # publish on the host (web UIs); False: reached over the bridge only


@dataclass(frozen=True)
class Healthcheck:
    """A probe that runs inside the container; ``probe`` is one shell command line."""

    probe: str
    interval: str = "30s"
    timeout: str = "10s"
    retries: int = 3
    start_period: str = "60s"


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything mediastack knows about one service.

    ``secrets`` maps a container environment variable to the name of the ``.env`` variable that
    holds its value: secrets are rendered as ``${NAME}`` references, never inline.
    """

    name: str
    description: str
    image: str
    tag: str
    stack: Stack
    zone: Zone
    healthcheck: Healthcheck
    ports: tuple[Port, ...] = ()
    config_target: str | None = "/config"
    data_mount: DataMount = DataMount.NONE
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    optional_secrets: Mapping[str, str] = field(default_factory=dict)  # may be empty in .env
    linuxserver_identity: bool = True  # PUID/PGID/UMASK variables (linuxserver, hotio images)
    run_as_identity: bool = False  # ``user: PUID:PGID`` for images that support it
    enabled_by_default: bool = True
    download_capable: bool = False  # talks to trackers/indexers: must stay behind the VPN
    hardlink_set: bool = False  # must share the single /data mount with the download client
    command: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    extra_volumes: tuple[str, ...] = ()
    read_only: bool = False
    tmpfs: tuple[str, ...] = ()
    init: bool = False
    depends_on: tuple[str, ...] = ()
    # The socket proxy this service reaches the engine through: it joins that proxy's internal
    # network (and only that one: each proxy allows what its clients need, no more).
    engine_proxy: str | None = None
    # A socket proxy answers on this internal network of its stack only.
    engine_network: str | None = None
    # Enabled whenever this other service is, unless switched on or off explicitly.
    enabled_with: str | None = None
    # Mounts the homelab folder at its own absolute path: compose run inside the container must
    # see the same file paths and bind-mount sources as on the host.
    mounts_homelab: bool = False
    pid_host: bool = False  # reads /proc/<pid>/ns/net of other containers (namespace checks)
    pull_policy: str | None = None  # "never" for images built locally, not published
    stop_grace_period: str | None = None  # longer than Docker's 10 s for work worth finishing
    website: str = ""

    @property
    def image_reference(self) -> str:
        return f"{self.image}:{self.tag}"
