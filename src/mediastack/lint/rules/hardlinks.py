"""Rules that keep imports hardlinks: the download client and the apps importing from it must
see the data folder through ONE identical mount at /data. Two mounts, even of the same host
folder or filesystem, refuse ``link()`` between them (EXDEV), and the app silently copies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject, Mount, MountKind, Service
from mediastack.lint.roles import in_hardlink_set

DATA_TARGET = "/data"
# Mounts that hold no downloads or media: settings, time zone, init hooks, system paths.
HARMLESS_TARGETS = (
    "/config",
    "/etc/localtime",
    "/etc/timezone",
    "/custom-cont-init.d",
    "/custom-services.d",
    "/dev",
    "/sys",
    "/proc",
    "/run",
    "/var/run",
    "/tmp",
)
EXDEV_REASON = "a file moved between two mounts is copied, not hardlinked (EXDEV)"


def _members(project: ComposeProject) -> list[Service]:
    return [service for service in project.services if in_hardlink_set(service)]


def _within(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(f"{root}/") for root in roots)


def _describe_mounts(service: Service) -> str:
    return ", ".join(mount.describe() for mount in service.volumes) or "none"


def _shared_source(members: list[Service]) -> str | None:
    """Return the /data source most members use (the first one met on a tie), or None."""
    sources = Counter(mount.source for mount in map(_data_mount, members) if mount is not None)
    if not sources:
        return None
    return sources.most_common(1)[0][0]


def _data_mount(service: Service) -> Mount | None:
    return service.mount_at(DATA_TARGET)


def missing_data_mount(project: ComposeProject) -> Iterator[Violation]:
    """HLK001: a download client or *arr app without a /data mount cannot share files by
    hardlink with the others."""
    members = _members(project)
    shared = _shared_source(members)
    example = f"`{shared}:{DATA_TARGET}`" if shared else f"`/path/to/data:{DATA_TARGET}`"
    for service in members:
        if _data_mount(service) is None:
            yield Violation(
                service.name,
                f"{service.name} has no {DATA_TARGET} mount (its mounts: "
                f"{_describe_mounts(service)}); the download client and the *arr apps must "
                f"share one {DATA_TARGET}, or {EXDEV_REASON}",
                f"mount the one data folder (torrents/ and media/) at {DATA_TARGET}: {example}",
            )


def divergent_data_sources(project: ComposeProject) -> Iterator[Violation]:
    """HLK002: members mounting different host sources at /data are on different mounts."""
    members = _members(project)
    shared = _shared_source(members)
    for service in members:
        mount = _data_mount(service)
        if mount is None or mount.source == shared:
            continue
        peers = [
            peer.name
            for peer in members
            if (peer_mount := _data_mount(peer)) and peer_mount.source == shared
        ]
        yield Violation(
            service.name,
            f"{service.name} mounts {mount.describe()}, but {', '.join(peers)} mount "
            f"{shared}:{DATA_TARGET}: {EXDEV_REASON}, so imports become copies",
            f"mount exactly `{shared}:{DATA_TARGET}` in {service.name}",
        )


def extra_data_mounts(project: ComposeProject) -> Iterator[Violation]:
    """HLK003: a member with a directory mount besides /config and /data (``/downloads``, or a
    second mount nested inside /data) hands files across a mount boundary."""
    for service in _members(project):
        data = _data_mount(service)
        for mount in service.volumes:
            if _is_extra(mount):
                beside = f" besides {data.describe()}" if data else ""
                yield Violation(
                    service.name,
                    f"{service.name} mounts {mount.describe()}{beside}: {EXDEV_REASON}, so "
                    "imports through it become copies",
                    f"remove the {mount.target} mount and point {service.name} at a folder "
                    f"under {DATA_TARGET} (e.g. {DATA_TARGET}/torrents) in its settings",
                )


def _is_extra(mount: Mount) -> bool:
    if mount.kind not in (MountKind.BIND, MountKind.VOLUME) or mount.target == DATA_TARGET:
        return False
    return not _within(mount.target, HARMLESS_TARGETS)
