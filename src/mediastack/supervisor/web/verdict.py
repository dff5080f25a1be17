"""One verdict on the whole stack, for ``/health``, ``/metrics``, the page and the push pings.

Healthy when the supervisor is (its loop turns and its engine stream is connected: the
heartbeat), cascades are not paused, gluetun is running and reports healthy, and every other
service the daemon saw is running and not unhealthy. Spared: services stopped by their user
(in gluetun's namespace: the daemon's mark; anywhere: a container its engine reported
``stop``ped rather than dead), the dependents a cascade is recreating right now, and what an
update or a command holds (its stops and removals are its own). Pure: read from a
``StatusView``.
"""

from __future__ import annotations

from mediastack.supervisor.runtime.container_board import STOPPED
from mediastack.supervisor.runtime.heartbeat import Verdict
from mediastack.supervisor.web.status_view import StatusView

GLUETUN = "gluetun"


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
    spared = set(view.user_stopped) | set(view.cascading_dependents) | set(view.services_held)
    problems = []
    for name, state in sorted(view.services.items()):
        if name in spared or state.status == STOPPED:
            continue
        if state.status != "running":
            problems.append(f"{name} is {state.status}")
        elif name == GLUETUN and state.health != "healthy":
            # Its dependents wait for a healthy gluetun: "starting" is the VPN not up yet.
            problems.append(f"gluetun is {state.health or 'not healthy yet'}")
        elif state.health == "unhealthy":
            problems.append(f"{name} is unhealthy")
    return problems
