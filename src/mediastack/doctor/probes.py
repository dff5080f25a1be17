"""Small probes that observe the host and return facts; the only side effects of the doctor.

Every probe returns a fact even when it could not observe anything (the fact then says why):
a probe that could not run is not a probe that failed, and only the checks decide verdicts.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException

from mediastack.adapters.compose import DOCKER, compose_version
from mediastack.adapters.errors import AdapterError, ToolMissingError
from mediastack.adapters.executor import Executor, SubprocessExecutor
from mediastack.catalogue import CATALOGUE
from mediastack.doctor.facts import (
    ComposeFacts,
    DeviceFacts,
    DeviceKind,
    DiskFacts,
    EngineFacts,
    FolderFacts,
    HardlinkFacts,
    LinkOutcome,
    PortFacts,
    PortKey,
    PortState,
    PublishedPort,
    SecretsFileFacts,
)
from mediastack.render.environment import read_secrets

TUN_DEVICE = Path("/dev/net/tun")
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ENGINE_TIMEOUT_SECONDS = 10
PROBE_FILE_PREFIX = ".mediastack-doctor-"


def _reason(error: BaseException) -> str:
    """Return one line saying why an operation failed."""
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


# --- engine and compose --------------------------------------------------------------------
# The engine probes read raw SDK documents (``version()``, published ports), which the typed
# engine adapter does not model: they use the SDK directly, reporting instead of raising.


def probe_engine() -> EngineFacts:
    """Ask the Docker engine (DOCKER_HOST or the local socket) for its version; return
    unreachable facts with the reason when it does not answer."""
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)
        try:
            version: dict[str, Any] = client.version()
        finally:
            client.close()
    except (DockerException, OSError) as error:
        return EngineFacts(reachable=False, error=_reason(error))
    return EngineFacts(
        reachable=True, version=version.get("Version"), api_version=version.get("ApiVersion")
    )


def probe_compose(executor: Executor | None = None) -> ComposeFacts:
    """Ask ``docker compose version`` (through the one place that runs commands); return
    its version, or why it did not run (no docker CLI, no compose plugin, timeout)."""
    try:
        version = compose_version(executor or SubprocessExecutor())
    except ToolMissingError as error:
        missing = "no `docker` command on PATH" if error.tool == DOCKER else error.message
        return ComposeFacts(available=False, error=missing)
    except AdapterError as error:
        return ComposeFacts(available=False, error=error.message)
    return ComposeFacts(available=True, version=str(version))


def probe_stack_port_holders(project_names: Iterable[str]) -> dict[PortKey, str] | None:
    """Return the host ports held by running containers of the given compose projects, each
    with the container's name; None when the engine could not be asked."""
    projects = set(project_names)
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)
        try:
            containers = client.containers.list(filters={"label": PROJECT_LABEL})
        finally:
            client.close()
    except (DockerException, OSError):
        return None
    holders: dict[PortKey, str] = {}
    for container in containers:
        if container.labels.get(PROJECT_LABEL) in projects:
            holders |= ports_held_by(container.attrs)
    return holders


def ports_held_by(attributes: Mapping[str, Any]) -> dict[PortKey, str]:
    """Given a container's inspect document, return the host ports it holds with its name:
    its published mappings, or, on the host network, the catalogue ports of its service."""
    name = str(attributes.get("Name", "")).lstrip("/")
    held: dict[PortKey, str] = {}
    mappings = (attributes.get("NetworkSettings") or {}).get("Ports") or {}
    for container_port, bindings in mappings.items():
        protocol = container_port.partition("/")[2] or "tcp"
        for binding in bindings or []:
            if str(binding.get("HostPort", "")).isdigit():
                held[(int(binding["HostPort"]), protocol)] = name
    if (attributes.get("HostConfig") or {}).get("NetworkMode") == "host":
        service = ((attributes.get("Config") or {}).get("Labels") or {}).get(SERVICE_LABEL)
        definition = CATALOGUE.get(str(service))
        for port in definition.ports if definition else ():
            held[(port.container, port.protocol)] = name
    return held


# --- files and devices ---------------------------------------------------------------------


def probe_device(path: Path = TUN_DEVICE) -> DeviceFacts:
    """Return what sits at ``path``: a character device, something else, nothing, or
    unreadable (with the reason)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return DeviceFacts(path, DeviceKind.MISSING)
    except OSError as error:
        return DeviceFacts(path, DeviceKind.UNREADABLE, error=_reason(error))
    kind = DeviceKind.CHARACTER_DEVICE if stat.S_ISCHR(mode) else DeviceKind.OTHER
    return DeviceFacts(path, kind)


def probe_folder(path: Path) -> FolderFacts:
    """Return whether ``path`` exists (following symlinks), is a directory, and its owner;
    or why it could not be inspected."""
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return FolderFacts(path, exists=False)
    except OSError as error:
        return FolderFacts(path, exists=False, error=_reason(error))
    return FolderFacts(
        path,
        exists=True,
        is_directory=stat.S_ISDIR(status.st_mode),
        owner_uid=status.st_uid,
        owner_gid=status.st_gid,
    )


def probe_disk(folder: Path) -> DiskFacts:
    """Return total and free space (free to unprivileged users) of the filesystem holding
    ``folder``, measured at its nearest existing parent when it does not exist yet."""
    measured_at = next((path for path in (folder, *folder.parents) if path.exists()), folder)
    try:
        usage = shutil.disk_usage(measured_at)
    except OSError as error:
        return DiskFacts(folder, measured_at, error=_reason(error))
    return DiskFacts(folder, measured_at, total_bytes=usage.total, free_bytes=usage.free)


def probe_secrets_file(path: Path) -> SecretsFileFacts:
    """Return whether the .env at ``path`` exists and its permission bits."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return SecretsFileFacts(path, exists=False)
    return SecretsFileFacts(path, exists=True, mode=mode)


def read_secret_values(path: Path) -> dict[str, str] | None:
    """Return the variables of the .env at ``path`` (empty when absent); None when it exists
    but cannot be read."""
    try:
        return read_secrets(path)
    except (OSError, ValueError):
        return None


# --- hardlinks -----------------------------------------------------------------------------


def probe_hardlink(source_folder: Path, target_folder: Path) -> HardlinkFacts:
    """Create a file in ``source_folder``, link() it into ``target_folder`` and compare the
    inodes; remove both names afterwards, whatever happened.

    Only a real link() proves imports will be hardlinks: two bind mounts of one filesystem
    show equal ``st_dev`` and still refuse with EXDEV.
    """
    for folder in (source_folder, target_folder):
        if not folder.is_dir():
            detail = f"{folder} does not exist"
            return HardlinkFacts(source_folder, target_folder, LinkOutcome.MISSING_FOLDER, detail)
    try:
        outcome = _link_and_compare(source_folder, target_folder)
    except PermissionError as error:
        detail = f"{error.strerror}: {error.filename}"
        return HardlinkFacts(source_folder, target_folder, LinkOutcome.NOT_PERMITTED, detail)
    except OSError as error:
        detail = f"{error.strerror or _reason(error)}: {error.filename}"
        return HardlinkFacts(source_folder, target_folder, LinkOutcome.OTHER_ERROR, detail)
    return HardlinkFacts(source_folder, target_folder, outcome)


def _link_and_compare(source_folder: Path, target_folder: Path) -> LinkOutcome:
    """Return LINKED, DIFFERENT_INODE or CROSS_DEVICE; raise OSError when the probe cannot
    run (the file cannot be created, link() refuses for another reason)."""
    descriptor, name = tempfile.mkstemp(prefix=PROBE_FILE_PREFIX, dir=source_folder)
    os.close(descriptor)
    original = Path(name)
    link = target_folder / original.name
    linked = False
    try:
        try:
            os.link(original, link)
        except OSError as error:
            if error.errno == errno.EXDEV:
                return LinkOutcome.CROSS_DEVICE
            raise
        linked = True
        same = _same_inode(os.stat(original), os.stat(link))
        return LinkOutcome.LINKED if same else LinkOutcome.DIFFERENT_INODE
    finally:
        _remove_quietly(link if linked else None, original)


def _same_inode(first: os.stat_result, second: os.stat_result) -> bool:
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _remove_quietly(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            with suppress(OSError):
                path.unlink()


# --- ports ---------------------------------------------------------------------------------


def probe_port(published: PublishedPort) -> PortFacts:
    """Try to bind ``published``'s address and port (TCP with SO_REUSEADDR, so a closing
    connection in TIME_WAIT is not mistaken for a listener; UDP without it) and release it."""
    address = ipaddress.ip_address(published.address)
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    udp = published.protocol == "udp"
    try:
        with socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as trial:
            if not udp:
                trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            trial.bind((str(address), published.port))
    except OSError as error:
        return PortFacts(published, _port_state(error), detail=error.strerror or _reason(error))
    return PortFacts(published, PortState.FREE)


def _port_state(error: OSError) -> PortState:
    if error.errno == errno.EADDRINUSE:
        return PortState.IN_USE
    if error.errno == errno.EADDRNOTAVAIL:
        return PortState.ADDRESS_UNAVAILABLE
    return PortState.UNTESTED
