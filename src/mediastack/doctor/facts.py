"""What the probes observe on the host: plain frozen data, no behaviour.

The checks (``checks.py``) turn these facts into verdicts; the probes (``probes.py``) gather
them. Keeping the two apart lets every verdict be tested without a host to observe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class EngineFacts:
    """The Docker engine as seen through the SDK. ``error`` says why it was not reachable."""

    reachable: bool
    version: str | None = None
    api_version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ComposeFacts:
    """``docker compose version``: the version it printed, or why it could not run."""

    available: bool
    version: str | None = None
    error: str | None = None


class DeviceKind(StrEnum):
    """What sits at a device path."""

    CHARACTER_DEVICE = "character device"
    MISSING = "missing"
    OTHER = "not a character device"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class DeviceFacts:
    """One device node (``/dev/net/tun``). ``error`` explains UNREADABLE."""

    path: Path
    kind: DeviceKind
    error: str | None = None


@dataclass(frozen=True)
class FolderFacts:
    """One folder: whether it exists as a directory, and who owns it (None when missing).
    ``error`` says why it could not be inspected (then ``exists`` is False)."""

    path: Path
    exists: bool
    is_directory: bool = False
    owner_uid: int | None = None
    owner_gid: int | None = None
    error: str | None = None


class LinkOutcome(StrEnum):
    """What happened when a real hardlink was attempted."""

    LINKED = "linked"  # link() worked and both names share one inode
    DIFFERENT_INODE = "different inode"  # link() claimed success but the inodes differ
    CROSS_DEVICE = "cross-device"  # EXDEV: two filesystems or two mounts
    NOT_PERMITTED = "not permitted"  # EPERM/EACCES: the probe could not run
    MISSING_FOLDER = "missing folder"  # a folder to link between does not exist
    OTHER_ERROR = "other error"  # any other OSError: the probe could not run


@dataclass(frozen=True)
class HardlinkFacts:
    """The result of linking a file in ``source_folder`` into ``target_folder``."""

    source_folder: Path
    target_folder: Path
    outcome: LinkOutcome
    detail: str = ""


@dataclass(frozen=True)
class DiskFacts:
    """Space on the filesystem holding ``folder``, measured at ``measured_at`` (the folder
    itself, or its nearest existing parent). Sizes are None when it could not be measured."""

    folder: Path
    measured_at: Path
    total_bytes: int | None = None
    free_bytes: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class PublishedPort:
    """A host port the stack will listen on, and the service and named port it belongs to.
    ``host_network`` ports (plex) are the app's own listeners, not published mappings."""

    service: str
    port_name: str
    address: str
    port: int
    protocol: str = "tcp"
    host_network: bool = False


class PortState(StrEnum):
    """What a trial bind() of a published port found."""

    FREE = "free"
    IN_USE = "in use"  # EADDRINUSE: something already listens there
    ADDRESS_UNAVAILABLE = "address unavailable"  # EADDRNOTAVAIL: not an address of this host
    UNTESTED = "untested"  # any other error (e.g. EACCES below 1024): the probe could not run


@dataclass(frozen=True)
class PortFacts:
    """One published port and what binding it found."""

    published: PublishedPort
    state: PortState
    detail: str = ""


@dataclass(frozen=True)
class SecretsFileFacts:
    """The .env file: whether it exists and its permission bits (None when missing)."""

    path: Path
    exists: bool
    mode: int | None = None


@dataclass(frozen=True)
class RequiredSecret:
    """A .env variable the rendered stacks need, and what it is for."""

    variable: str
    purpose: str


# A host port and its protocol ("tcp"/"udp"): how the engine's port mappings are matched.
PortKey = tuple[int, str]
