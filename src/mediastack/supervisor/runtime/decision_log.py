"""One log line per decision, with its reason: what ``mediastack supervise`` prints.

Each action the decision core returns is described here before it is executed (notices at
WARNING from priority high on, give-ups and pauses at WARNING, the rest at INFO).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import assert_never

from mediastack.supervisor.actions import (
    Action,
    CascadeFinished,
    GiveUp,
    Notify,
    Pause,
    PrepareDependents,
    Priority,
    RecreateDependents,
    Reread,
    RestartContainer,
    RetryDependent,
    StartDependents,
    VerifyDependents,
    WaitForGluetun,
)
from mediastack.supervisor.runtime.discovery import Survey

logger = logging.getLogger("mediastack.supervisor")

Reasons = Callable[[Sequence[str]], str]
"""Given dependents, return why they are being acted on (from the cascade in flight)."""


def describe_stale(survey: Survey) -> str:
    """Return the stale dependents with their reasons, or ``none``."""
    stale = survey.stale
    if not stale:
        return "none"
    return ", ".join(f"{key} ({survey.staleness[key]})" for key in stale)


def log_decision(action: Action, reasons: Reasons) -> None:
    """Log one line for ``action``, with its reason."""
    match action:
        case Notify():
            level = logging.WARNING if action.priority >= Priority.HIGH else logging.INFO
            logger.log(level, "notify [%s] %s", action.stage.value, action.message)
        case WaitForGluetun():
            logger.info(
                "decision: wait for gluetun %s to be healthy, until %s",
                action.gluetun.short_id,
                clock_time(action.deadline),
            )
        case PrepareDependents():
            logger.info(
                "decision: prepare %s for gluetun %s while it starts (%s)",
                ", ".join(action.services),
                action.gluetun.short_id,
                reasons(action.services) or "stale",
            )
        case StartDependents():
            logger.info(
                "decision: start the prepared %s in gluetun %s",
                ", ".join(action.services),
                action.gluetun.short_id,
            )
        case RecreateDependents():
            logger.info(
                "decision: recreate %s into gluetun %s (%s)",
                ", ".join(action.services),
                action.gluetun.short_id,
                reasons(action.services) or "stale",
            )
        case VerifyDependents():
            logger.info(
                "decision: verify %s (running, healthy, in gluetun's namespace) until %s",
                ", ".join(action.services),
                clock_time(action.deadline),
            )
        case RetryDependent():
            logger.info(
                "decision: %s %s again at %s (attempt %d): %s",
                action.step,
                action.service,
                clock_time(action.at),
                action.attempt,
                action.reason,
            )
        case GiveUp():
            logger.warning("decision: give up on %s: %s", action.service, action.reason)
        case Pause():
            logger.warning(
                "decision: pause cascades until %s: %s", clock_time(action.until), action.reason
            )
        case Reread():
            logger.info("decision: re-read the engine: %s", action.reason)
        case RestartContainer():
            logger.info("decision: restart %s (autoheal: %s)", action.name, action.reason)
        case CascadeFinished():
            _log_finished(action)
        case _:
            assert_never(action)


def _log_finished(action: CascadeFinished) -> None:
    summary = action.summary
    logger.info(
        "cascade for gluetun %s ended: %s after %.1f s; healed: %s; not healed: %s",
        summary.gluetun.short_id,
        summary.outcome.value,
        summary.duration.total_seconds(),
        ", ".join(summary.healed) or "none",
        ", ".join(summary.failed) or "none",
    )


def clock_time(moment: datetime) -> str:
    """Return ``HH:MM:SS`` (UTC), enough for a log line that carries its own date."""
    return moment.strftime("%H:%M:%S")
