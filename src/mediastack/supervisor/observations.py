"""What the runtime tells the cascade: engine observations and the results of its actions.

``Staleness`` maps each known dependent of gluetun to the reason it is stale (its network mode
names another container, it started before gluetun's current start, its namespace differs, it
is not running) or to None when it is fine. It is computed from ``docker inspect`` outside the
decision core, freshly for every observation that carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mediastack.supervisor.actions import Gluetun

Staleness = Mapping[str, str | None]

PREPARED = "prepared: created for the current gluetun, never started"
"""The reason of a dependent whose new container joins the running gluetun by id and waits,
created, to be started: starting it heals it; recreating it would make it again."""
STOPPED_BY_USER = "stopped by its user"
"""The reason of a dependent its user stopped: left alone (not stale, never counted)."""
_NOT_STALE = (PREPARED, STOPPED_BY_USER)


def stale_services(staleness: Staleness) -> dict[str, str]:
    """Given a staleness mapping, return the services to recreate and their reasons, sorted
    by name (prepared and user-stopped ones are not among them)."""
    return {
        service: reason
        for service, reason in sorted(staleness.items())
        if reason is not None and reason not in _NOT_STALE
    }


def prepared_services(staleness: Staleness) -> tuple[str, ...]:
    """Given a staleness mapping, return the services prepared for the current gluetun."""
    return tuple(service for service, reason in sorted(staleness.items()) if reason == PREPARED)


@dataclass(frozen=True)
class GluetunStarted:
    """A gluetun container started: restarted in place (same id) or recreated (new id)."""

    gluetun: Gluetun
    staleness: Staleness


@dataclass(frozen=True)
class GluetunHealthy:
    """A gluetun container reported healthy."""

    gluetun: Gluetun
    staleness: Staleness


@dataclass(frozen=True)
class EngineState:
    """A full re-read of the engine: at start, after the event stream reconnects, on ``Reread``.

    ``gluetun`` is None when no gluetun container runs.
    """

    gluetun: Gluetun | None
    gluetun_healthy: bool
    staleness: Staleness


@dataclass(frozen=True)
class Tick:
    """Time passed: deadlines and retries are due. Send one at ``next_wakeup()`` at the latest."""


@dataclass(frozen=True)
class RecreateResult:
    """Whether recreating one dependent (for ``gluetun``) succeeded, with the error if not."""

    gluetun: Gluetun
    service: str
    succeeded: bool
    detail: str = ""


@dataclass(frozen=True)
class PrepareResult:
    """Whether one dependent's new container was created (not started) for ``gluetun``."""

    gluetun: Gluetun
    service: str
    succeeded: bool
    detail: str = ""


class Verification(StrEnum):
    """What checking a recreated dependent found."""

    HEALTHY = "healthy"  # running, healthy, in gluetun's namespace
    FAILED = "failed"  # checked, and one of those is not true by the deadline
    PROBE_UNAVAILABLE = "probe_unavailable"  # the check itself could not run: not a failure


@dataclass(frozen=True)
class VerificationResult:
    """The verification of one dependent (for ``gluetun``)."""

    gluetun: Gluetun
    service: str
    outcome: Verification
    detail: str = ""


Observation = (
    GluetunStarted
    | GluetunHealthy
    | EngineState
    | Tick
    | PrepareResult
    | RecreateResult
    | VerificationResult
)
