"""What a link is: something one app must hold (a root folder, a download client, an
application in Prowlarr...), inspected against the app's current state into a verdict and the
exact changes that would make it right.

``Link.inspect`` only reads (through the run's ``Context``); the reconciler decides whether
to send the changes, then inspects again to read them back. Links are matched by name, never
by id, so an app that was reinstalled (empty again) is simply wired again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from mediastack.links.api import AppApi, AppError
from mediastack.links.model import Request
from mediastack.links.secret_memory import SecretMemory


class LinkStatus(StrEnum):
    """A link's verdict. Before a run's writes: ok, missing, drifted, waiting, broken; after
    them: made (was missing) or repaired (had drifted)."""

    OK = "ok"
    MISSING = "missing"
    DRIFTED = "drifted"
    WAITING = "waiting"
    BROKEN = "broken"
    MADE = "made"
    REPAIRED = "repaired"


SATISFIED = frozenset({LinkStatus.OK, LinkStatus.MADE, LinkStatus.REPAIRED})
NEEDS_WRITES = frozenset({LinkStatus.MISSING, LinkStatus.DRIFTED})


@dataclass(frozen=True)
class Action:
    """A change that is not an API request: write a file, run a command, restart a service."""

    description: str
    run: Callable[[], None] = field(compare=False, repr=False)
    before_requests: bool = False  # e.g. a folder the app's POST checks for


@dataclass(frozen=True)
class Inspection:
    """A link's state: its verdict, why, and (missing or drifted) what makes it right."""

    status: LinkStatus
    detail: str = ""
    requests: tuple[Request, ...] = ()
    actions: tuple[Action, ...] = ()


def ok(detail: str = "") -> Inspection:
    return Inspection(LinkStatus.OK, detail)


def waiting(detail: str) -> Inspection:
    return Inspection(LinkStatus.WAITING, detail)


def broken(detail: str) -> Inspection:
    return Inspection(LinkStatus.BROKEN, detail)


class AppNotConfiguredError(AppError):
    """The run has no API for this app (switched off, or no address)."""


@dataclass
class Context:
    """What links read through in one run: each app's API (one client per app) and the host
    folders a run may touch; ``runner`` runs commands in the stack (recyclarr, restarts)."""

    apis: Mapping[str, AppApi]
    config_folder: Path | None = None  # the homelab's config/ (None: not reachable here)
    data_folder: Path | None = None
    owner: tuple[int, int] | None = None  # PUID, PGID for folders a run creates
    runner: ServiceRunner | None = None
    secrets: SecretMemory = field(default_factory=lambda: SecretMemory(None))

    def api(self, app: str) -> AppApi:
        if app not in self.apis:
            raise AppNotConfiguredError(app, f"{app} is not reachable from here")
        return self.apis[app]


class ServiceRunner(Protocol):
    """The stack's services as links act on them (``mediastack.adapters.compose`` underneath)."""

    def run_in(self, service: str, command: list[str], timeout_seconds: float) -> None:
        """Run ``command`` in the running ``service``; raise AdapterError when it fails."""
        ...

    def restart(self, service: str) -> None:
        """Restart ``service``; raise AdapterError when it fails."""
        ...


class Link(Protocol):
    """One link. ``key`` is unique in a run; ``needs`` are keys of links that must be
    satisfied first (else this one waits for them)."""

    @property
    def app(self) -> str: ...

    @property
    def key(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def needs(self) -> tuple[str, ...]: ...

    def inspect(self, context: Context) -> Inspection:
        """Read the app; return the verdict and the changes. Raise AppError on failure."""
        ...
