"""What the cascade tells the user: the notices of its decisions, worded from its state.

Pure functions of the cascade's plain data (``progress``), so the wording is tested without a
machine. Durations are measured from the detection of the gluetun start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mediastack.supervisor.actions import Action, GiveUp, Gluetun, Notify, Outcome, Priority, Stage
from mediastack.supervisor.progress import DependentProgress, DependentStatus, InFlightCascade

CASCADE_SUBJECT = "cascades"
PREPARED_REASON = "prepared"
"""How the cascade names a dependent prepared for the current gluetun among the stale."""
NOT_HEALTHY_IN_NAMESPACE = "not healthy in gluetun's namespace"
"""How a failed verification starts its reason (the dependent runs inside, unhealthy)."""


def give_up(progress: DependentProgress, reason: str, step: str) -> list[Action]:
    """Return the decision and the notice of giving up on one dependent; the notice says
    where it is, as far as the last check knew: inside the namespace but unhealthy, or not
    known to be inside."""
    attempts = progress.attempts if step == "recreate" else progress.probe_attempts + 1
    if reason.startswith(NOT_HEALTHY_IN_NAMESPACE):
        where = (
            "It runs in gluetun's namespace but is not healthy: check `docker logs` of "
            f"{progress.service}"
        )
    else:
        where = (
            f"It may still be outside gluetun's namespace: check `docker logs` of "
            f"{progress.service}"
        )
    message = (
        f"{progress.service} could not be healed after {attempts} {step} attempts ({reason}). "
        f"{where} and `mediastack status`. The other dependents are healed independently of it."
    )
    return [
        GiveUp(progress.service, reason),
        Notify(Stage.DEPENDENT_FAILED, progress.service, message, Priority.HIGH),
    ]


def detected_notice(
    previous: Gluetun | None, gluetun: Gluetun, stale: dict[str, str], wait: timedelta | None
) -> Notify:
    if previous is None:
        what = f"gluetun {gluetun.short_id}: {len(stale)} dependents are stale"
    elif previous == gluetun and PREPARED_REASON in stale.values():
        what = f"gluetun {gluetun.short_id} is healthy; {len(stale)} dependents wait for it"
    elif previous == gluetun:
        what = f"found {len(stale)} dependents stranded outside gluetun {gluetun.short_id}"
    elif previous.container_id == gluetun.container_id:
        what = f"gluetun {gluetun.short_id} restarted in place; {len(stale)} dependents are stale"
    else:
        what = f"gluetun was recreated as {gluetun.short_id}; {len(stale)} dependents are stale"
    then = (
        _healing_now(stale)
        if wait is None
        else f"preparing their new containers while waiting up to {seconds(wait)} for it"
    )
    message = f"{what} ({', '.join(stale)}); {then}."
    return Notify(Stage.GLUETUN_RESTARTED, gluetun.short_id, message[0].upper() + message[1:])


def _healing_now(stale: dict[str, str]) -> str:
    prepared = sum(reason == PREPARED_REASON for reason in stale.values())
    if not prepared:
        return "recreating them now"
    if prepared == len(stale):
        return "starting their prepared containers now"
    return f"starting the {prepared} prepared, recreating the others now"


def paused_notice(gluetun: Gluetun, until: datetime, stale: dict[str, str]) -> Notify:
    message = (
        f"gluetun {gluetun.short_id} needs a cascade but cascades are paused until "
        f"{clock_time(until)}; {len(stale)} dependents stay stale ({', '.join(sorted(stale))}). "
        "`mediastack supervise --resume` lifts the pause."
    )
    return Notify(Stage.PAUSED, CASCADE_SUBJECT, message, Priority.HIGH)


def summary_notice(cascade: InFlightCascade, outcome: Outcome, now: datetime) -> Notify:
    """Return the cascade's closing notice. The healed ones are timed by the last of them
    (a dependent given up on later must not make the others look slow)."""
    healed = cascade.services_in(DependentStatus.DONE)
    failed = cascade.services_in(DependentStatus.GAVE_UP, DependentStatus.UNVERIFIED)
    healthy_at = cascade.healthy_at or now
    text = f"{len(healed)} dependents healed into gluetun {cascade.gluetun.short_id}"
    if healed:
        text += f" in {seconds(_last_done(cascade, now) - cascade.detected_at)}"
    if healthy_at > cascade.detected_at:
        text += f" (gluetun healthy after {seconds(healthy_at - cascade.detected_at)})"
    else:  # opened once gluetun was healthy (e.g. after its healthy wait timed out)
        text += " (from the moment gluetun was healthy)"
    if healed:
        text += f": {', '.join(healed)}"
    if outcome is Outcome.HEALED:
        return Notify(Stage.HEALED, cascade.gluetun.short_id, text + ".")
    took = seconds(now - cascade.detected_at)
    text += f". Not healed: {', '.join(failed)} (given up after {took}); "
    text += "see the messages about them."
    return Notify(Stage.CASCADE_INCOMPLETE, cascade.gluetun.short_id, text, Priority.HIGH)


def _last_done(cascade: InFlightCascade, now: datetime) -> datetime:
    """Return when the last healed dependent was verified (``due_at`` of a done one)."""
    done = [item.due_at for item in cascade.dependents if item.status is DependentStatus.DONE]
    return max((moment for moment in done if moment is not None), default=now)


def seconds(span: timedelta) -> str:
    return f"{span.total_seconds():.1f} s"


def clock_time(moment: datetime | None) -> str:
    return "?" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")
