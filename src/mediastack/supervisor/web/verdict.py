"""One verdict on the whole stack, for ``/health``, Homepage's summary and the push pings.

Healthy when the supervisor is (its loop turns and its engine stream is connected: the
heartbeat), cascades are not paused, gluetun is running and healthy, and every other service
the daemon saw is running and not unhealthy, except those stopped by their user and the
dependents a cascade is recreating right now. Pure: read from a ``StatusView``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediastack.supervisor.web.status_view import StatusView

GLUETUN = "gluetun"


@dataclass(frozen=True)
class Verdict:
    """Healthy or not, and why (one sentence)."""

    healthy: bool
    reason: str


def stack_verdict(view: StatusView) -> Verdict:
    """Return the verdict of ``view`` (see the module docstring)."""
    if not view.health.healthy:
        return Verdict(False, f"the supervisor: {view.health.reason}")
    if view.paused:
        return Verdict(False, "cascades are paused after a restart loop")
    troubled = _troubled(view)
    if troubled:
        return Verdict(False, "; ".join(troubled))
    return Verdict(True, "the supervisor and every service are healthy")


def _troubled(view: StatusView) -> list[str]:
    spared = set(view.user_stopped) | set(view.cascading_dependents)
    problems = []
    for name, state in sorted(view.services.items()):
        if name in spared or state.status == "removed":
            continue
        if state.status != "running":
            problems.append(f"{name} is {state.status}")
        elif state.health == "unhealthy" or (name == GLUETUN and state.health == "starting"):
            problems.append(f"{name} is {state.health}")
    return problems
