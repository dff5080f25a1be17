"""What the decision core asks the runtime to do. Every action is plain, frozen data.

The runtime executes ``PrepareDependents``, ``StartDependents``, ``RecreateDependents``,
``VerifyDependents``, ``RestartContainer``, ``Notify`` and ``Reread``; the others
(``WaitForGluetun``, ``RetryDependent``, ``GiveUp``, ``Pause``, ``CascadeFinished``) record a
decision: the runtime logs them (and persists ``CascadeFinished`` in the history); the
follow-up comes from a later ``Tick``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum


class Stage(StrEnum):
    """The stage a notification reports; (stage, subject) is the key of deduplication."""

    GLUETUN_RESTARTED = "gluetun_restarted"
    GLUETUN_TIMEOUT = "gluetun_timeout"
    HEALED = "healed"
    CASCADE_INCOMPLETE = "cascade_incomplete"
    DEPENDENT_FAILED = "dependent_failed"
    RATE_LIMITED = "rate_limited"
    PAUSED = "paused"
    RESUMED = "resumed"
    AUTOHEAL_RESTART = "autoheal_restart"
    AUTOHEAL_GAVE_UP = "autoheal_gave_up"
    AUTOHEAL_FAILED = "autoheal_failed"


class Priority(IntEnum):
    """ntfy's priorities (1 to 5); Apprise maps them for other services."""

    MIN = 1
    LOW = 2
    DEFAULT = 3
    HIGH = 4
    URGENT = 5


@dataclass(frozen=True)
class Gluetun:
    """One incarnation of gluetun: a restart in place keeps the id but changes ``started_at``."""

    container_id: str
    started_at: datetime

    @property
    def short_id(self) -> str:
        """Return the 12-character id Docker shows."""
        return self.container_id[:12]


@dataclass(frozen=True)
class Notify:
    """Send a push notification. ``repeats`` counts the like ones suppressed before it."""

    stage: Stage
    subject: str
    message: str
    priority: Priority = Priority.DEFAULT
    repeats: int = 0

    def with_repeats(self, repeats: int) -> Notify:
        """Return this notification carrying ``repeats`` suppressed look-alikes in its text."""
        if repeats <= 0:
            return self
        return replace(self, repeats=repeats, message=f"{self.message} (+{repeats} more like this)")


@dataclass(frozen=True)
class WaitForGluetun:
    """The cascade waits for this gluetun to turn healthy, until ``deadline``."""

    gluetun: Gluetun
    deadline: datetime


@dataclass(frozen=True)
class PrepareDependents:
    """While gluetun is still starting: create these services' new containers without
    starting them (``up --no-start --force-recreate --no-deps``; the old ones, stranded in a
    dead namespace and of no use, are removed), then report a ``PrepareResult`` for each."""

    gluetun: Gluetun
    services: tuple[str, ...]


@dataclass(frozen=True)
class StartDependents:
    """Start these services' prepared containers now, all at once, then report a
    ``RecreateResult`` for each (preparing and starting together are its recreate)."""

    gluetun: Gluetun
    services: tuple[str, ...]


@dataclass(frozen=True)
class RecreateDependents:
    """Recreate these services now, all at once (``up -d --force-recreate --no-deps``), then
    report a ``RecreateResult`` for each."""

    gluetun: Gluetun
    services: tuple[str, ...]


@dataclass(frozen=True)
class VerifyDependents:
    """Check each service is running, healthy and in gluetun's namespace, waiting for it at
    most until ``deadline``; then report a ``VerificationResult`` for each."""

    gluetun: Gluetun
    services: tuple[str, ...]
    deadline: datetime


@dataclass(frozen=True)
class RetryDependent:
    """A dependent's ``step`` ("recreate" or "verify") is tried again at ``at`` (attempt n)."""

    service: str
    step: str
    at: datetime
    attempt: int
    reason: str


@dataclass(frozen=True)
class GiveUp:
    """The cascade stops trying to heal ``service``."""

    service: str
    reason: str


@dataclass(frozen=True)
class Pause:
    """Cascades are paused until ``until`` (a restart loop)."""

    until: datetime
    reason: str


@dataclass(frozen=True)
class Reread:
    """Inspect the engine again and feed an ``EngineState`` (after a pause ends or a resume)."""

    reason: str


@dataclass(frozen=True)
class RestartContainer:
    """Restart one container in place (autoheal)."""

    container_id: str
    name: str
    reason: str


class Outcome(StrEnum):
    """How a cascade ended."""

    HEALED = "healed"
    PARTIAL = "partial"
    FAILED = "failed"
    GLUETUN_TIMEOUT = "gluetun_timeout"
    RATE_LIMITED = "rate_limited"
    SUPERSEDED = "superseded"
    NOTHING_STALE = "nothing_stale"


@dataclass(frozen=True)
class FinishedCascade:
    """One cascade in the history."""

    gluetun: Gluetun
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    healed: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def duration(self) -> timedelta:
        """Return how long the cascade took, from detection to its end."""
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class CascadeFinished:
    """A cascade ended; the runtime appends ``summary`` to the history."""

    summary: FinishedCascade


Action = (
    Notify
    | WaitForGluetun
    | PrepareDependents
    | StartDependents
    | RecreateDependents
    | VerifyDependents
    | RetryDependent
    | GiveUp
    | Pause
    | Reread
    | RestartContainer
    | CascadeFinished
)
