"""Autoheal as a pure policy: which unhealthy containers to restart, and when.

A container labelled ``autoheal=true`` that reports unhealthy is restarted once it stayed
unhealthy past a grace period (gluetun: a longer one, since its healthcheck flaps while it
restarts its own VPN connection); restarts of one container are spaced by exponential backoff
and limited per rolling window; past the limit the container is crash-looping: it is left
alone, with one alert, until it reports healthy again. A service the cascade is about to
recreate or is recreating is never restarted. Containers are tracked by name, which survives
a recreate; the id is refreshed from each event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import Action, Notify, Priority, RestartContainer, Stage
from mediastack.supervisor.backoff import Backoff
from mediastack.supervisor.clock import require_aware
from mediastack.supervisor.events import ContainerEvent, EventKind, Health

HOUR = timedelta(hours=1)
RESTART_SPACING = Backoff(timedelta(seconds=60), timedelta(minutes=15), max_attempts=3)


@dataclass(frozen=True)
class AutohealSettings:
    """Grace periods, spacing and the per-container limit (``spacing.max_attempts`` restarts
    per ``window``)."""

    grace: timedelta = timedelta(seconds=30)
    gluetun_grace: timedelta = timedelta(seconds=180)
    spacing: Backoff = RESTART_SPACING
    window: timedelta = HOUR
    gluetun_service: str = "gluetun"

    @classmethod
    def from_config(cls, settings: Supervisor) -> AutohealSettings:
        """Given the config's supervisor section, return its grace periods and its per-container
        restart limit (spaced as ``RESTART_SPACING``)."""
        spacing = Backoff(
            RESTART_SPACING.first, RESTART_SPACING.cap, settings.autoheal_max_restarts_per_hour
        )
        return cls(
            grace=timedelta(seconds=settings.autoheal_grace_seconds),
            gluetun_grace=timedelta(seconds=settings.autoheal_gluetun_grace_seconds),
            spacing=spacing,
        )


@dataclass(frozen=True)
class HealthReport:
    """A container's health, from a health event or from a full re-read of the engine."""

    container_id: str
    name: str
    service: str | None
    health: Health
    autoheal: bool


@dataclass(frozen=True)
class WatchedContainer:
    """What autoheal remembers about one container (keyed by name)."""

    name: str
    container_id: str
    service: str | None
    unhealthy_since: datetime | None = None
    restarts: tuple[datetime, ...] = ()
    left_alone: bool = False


class AutohealPolicy:
    """Decides autoheal restarts. Not thread-safe: feed it from one loop."""

    def __init__(self, settings: AutohealSettings | None = None) -> None:
        self._settings = settings or AutohealSettings()
        self._watched: dict[str, WatchedContainer] = {}

    def watched(self) -> tuple[WatchedContainer, ...]:
        """Return what is remembered about each container, by name."""
        return tuple(self._watched[name] for name in sorted(self._watched))

    def observe(self, event: ContainerEvent, now: datetime) -> list[Action]:
        """Given a container event, update what is known; return a notice when a container left
        alone recovers. A destroyed container stops counting as unhealthy."""
        if event.kind is EventKind.DESTROY:
            self._forget_health(event.name)
            return []
        if event.kind is not EventKind.HEALTH or event.health is None:
            return []
        report = HealthReport(
            event.container_id, event.name, event.service, event.health, event.autoheal
        )
        return self.report(report, now)

    def report(self, report: HealthReport, now: datetime) -> list[Action]:
        """Given a container's health (event or re-read), update it; see ``observe``."""
        now = require_aware(now)
        if not report.autoheal or report.health is Health.STARTING:
            return []
        known = self._watched.get(report.name) or WatchedContainer(
            report.name, report.container_id, report.service
        )
        known = replace(known, container_id=report.container_id, service=report.service)
        if report.health is Health.UNHEALTHY:
            self._watched[report.name] = replace(
                known, unhealthy_since=known.unhealthy_since or now
            )
            return []
        self._watched[report.name] = replace(known, unhealthy_since=None, left_alone=False)
        return [_recovered_notice(report.name)] if known.left_alone else []

    def tick(self, now: datetime, locked: frozenset[str]) -> list[Action]:
        """Given the time and the services the cascade holds, return the restarts due now
        (each with its notice) and the alerts for containers found crash-looping."""
        now = require_aware(now)
        actions: list[Action] = []
        for name in sorted(self._watched):
            actions += self._consider(self._watched[name], now, locked)
        return actions

    def restart_failed(self, name: str, detail: str) -> list[Action]:
        """Given a restart the runtime could not perform, return the notice to send."""
        message = f"Could not restart {name}: {detail}. Check the Docker engine and the container."
        return [Notify(Stage.AUTOHEAL_FAILED, name, message, Priority.HIGH)]

    def next_wakeup(self) -> datetime | None:
        """Return when a restart can next become due, or None when nothing is unhealthy."""
        moments = [self._earliest_restart(item) for item in self._watched.values()]
        present = [moment for moment in moments if moment is not None]
        return min(present) if present else None

    def _consider(
        self, container: WatchedContainer, now: datetime, locked: frozenset[str]
    ) -> list[Action]:
        if container.unhealthy_since is None or container.left_alone:
            return []
        if _is_locked(container, locked):
            return []
        recent = self._recent(container, now)
        if self._settings.spacing.next_delay(len(recent)) is None:
            self._watched[container.name] = replace(container, restarts=recent, left_alone=True)
            return [self._crash_loop_notice(container, len(recent))]
        earliest = self._earliest_restart(replace(container, restarts=recent))
        if earliest is None or now < earliest:
            return []
        return self._restart(container, recent, now)

    def _restart(
        self, container: WatchedContainer, recent: tuple[datetime, ...], now: datetime
    ) -> list[Action]:
        unhealthy_for = _seconds(now - (container.unhealthy_since or now))
        restarts = (*recent, now)
        self._watched[container.name] = replace(container, unhealthy_since=None, restarts=restarts)
        limit = self._settings.spacing.max_attempts
        message = (
            f"Restarted {container.name}: unhealthy for {unhealthy_for} "
            f"(restart {len(restarts)} of at most {limit} per hour)."
        )
        return [
            RestartContainer(container.container_id, container.name, f"unhealthy {unhealthy_for}"),
            Notify(Stage.AUTOHEAL_RESTART, container.name, message),
        ]

    def _earliest_restart(self, container: WatchedContainer) -> datetime | None:
        """Return when the container may be restarted: past its grace and its backoff."""
        if container.unhealthy_since is None or container.left_alone:
            return None
        after_grace = container.unhealthy_since + self._grace(container)
        delay = self._settings.spacing.next_delay(len(container.restarts))
        if not container.restarts or delay is None:
            return after_grace
        return max(after_grace, container.restarts[-1] + delay)

    def _grace(self, container: WatchedContainer) -> timedelta:
        if container.service == self._settings.gluetun_service:
            return self._settings.gluetun_grace
        return self._settings.grace

    def _recent(self, container: WatchedContainer, now: datetime) -> tuple[datetime, ...]:
        start = now - self._settings.window
        return tuple(moment for moment in container.restarts if moment > start)

    def _forget_health(self, name: str) -> None:
        known = self._watched.get(name)
        if known is not None:
            self._watched[name] = replace(known, unhealthy_since=None)

    def _crash_loop_notice(self, container: WatchedContainer, restarts: int) -> Notify:
        message = (
            f"{container.name} is crash-looping: restarted {restarts} times within the last "
            "hour and unhealthy again. It is left alone until it is healthy; check "
            f"`docker logs {container.name}`."
        )
        return Notify(Stage.AUTOHEAL_GAVE_UP, container.name, message, Priority.HIGH)


def _is_locked(container: WatchedContainer, locked: frozenset[str]) -> bool:
    return container.name in locked or (
        container.service is not None and container.service in locked
    )


def _recovered_notice(name: str) -> Notify:
    message = f"{name} is healthy again; autoheal watches it again."
    return Notify(Stage.AUTOHEAL_RESTART, name, message, Priority.LOW)


def _seconds(span: timedelta) -> str:
    return f"{span.total_seconds():.0f} s"
