"""Leases: how a command changing containers tells the supervisor to keep its hands off.

Every command that creates, stops, recreates or restarts containers (``up``, ``down``,
``restart``, ``pull``, ``update``, ``restore``, run from the host or by the daemon's own jobs)
holds a lease on the services it touches while it works. The daemon honours leases wherever it
decides: gluetun's events, full engine re-reads (a stream reconnect, a pause ending, a resume)
and autoheal leave leased services alone, and when the last lease ends the daemon reads the
engine again and heals what the command left stale. Without it, ``up vpn`` after a gluetun
change is fought: compose creates the new dependents (waiting for gluetun to be healthy), the
supervisor sees "created, not running" and recreates them under compose's feet.

A lease is one small JSON file per holder in ``<homelab>/.mediastack/leases/``, which the
supervisor's container mounts at the same path. Its holder keeps an exclusive ``flock`` on it:
the kernel drops the lock when the holder dies (even by SIGKILL, and across the container's
pid namespace, where the host's pids cannot be checked), so a lease whose lock can be taken is
a leftover and is removed. The file is written under a temporary name, locked, then renamed,
so a reader never sees an unlocked lease that is still being made. A lease older than
``LEASE_MAXIMUM_SECONDS`` is ignored: a hung command must not stop healing for ever.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

LEASE_FOLDER = Path(".mediastack") / "leases"
LEASE_SUFFIX = ".lease.json"
LEASE_MAXIMUM_SECONDS = 3600.0
"""Longer than any command's own bounds (an update waits 300 s per service at most)."""


@dataclass(frozen=True)
class Lease:
    """A command at work on ``services``: what it is (``reason``), since when (epoch)."""

    services: frozenset[str]
    reason: str
    since: float


def lease_folder(homelab_root: Path) -> Path:
    """Return the folder the leases of the homelab at ``homelab_root`` live in."""
    return homelab_root / LEASE_FOLDER


class LeaseHolder:
    """Takes leases in one folder; ``hold`` is an ``updates.Maintenance``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def hold(self, services: Sequence[str], reason: str) -> Iterator[None]:
        """Hold a lease on ``services`` while the block runs (removed on any exit). When the
        folder cannot be written (a read-only homelab), the command runs without one."""
        try:
            descriptor, path = self._take(services, reason)
        except OSError:
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(descriptor)

    def _take(self, services: Sequence[str], reason: str) -> tuple[int, Path]:
        self.folder.mkdir(parents=True, exist_ok=True)
        # os.urandom, not secrets: secrets loads hashlib's OpenSSL (3.6 MB) into the daemon.
        name = f"{os.getpid()}-{os.urandom(4).hex()}"
        draft = self.folder / f".{name}.draft"
        descriptor = os.open(draft, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            record = {"services": sorted(services), "reason": reason, "since": time.time()}
            os.write(descriptor, json.dumps(record).encode())
            path = self.folder / f"{name}{LEASE_SUFFIX}"
            os.rename(draft, path)
        except OSError:
            os.close(descriptor)
            with contextlib.suppress(OSError):
                draft.unlink()
            raise
        return descriptor, path


def active_leases(folder: Path, now: float | None = None) -> list[Lease]:
    """Return the leases held now in ``folder`` (oldest first); remove leftovers of holders
    that died. A file read and a ``flock`` try per lease: no engine call."""
    moment = time.time() if now is None else now
    found: list[Lease] = []
    try:
        paths = sorted(folder.glob(f"*{LEASE_SUFFIX}"))
    except OSError:
        return []
    for path in paths:
        lease = _read_held(path)
        if lease is not None and moment - lease.since <= LEASE_MAXIMUM_SECONDS:
            found.append(lease)
    return sorted(found, key=lambda lease: lease.since)


def _read_held(path: Path) -> Lease | None:
    """Return the lease in ``path`` while its holder lives; remove it when the holder is gone."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # ended between the listing and now
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _parse(os.read(descriptor, 65536))
        with contextlib.suppress(OSError):
            path.unlink()  # nobody holds it: a killed command's leftover
        return None
    finally:
        os.close(descriptor)


def _parse(content: bytes) -> Lease | None:
    try:
        record = json.loads(content)
        return Lease(
            frozenset(str(service) for service in record["services"]),
            str(record["reason"]),
            float(record["since"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
