"""Docker events, parsed where they enter: the dicts of ``DockerClient.events(decode=True)``.

Only container events matter to the supervisor. The engine puts a container's labels into
``Actor.Attributes`` next to a few attributes of its own (``name``, ``image``, ``exitCode``...);
those are split out. Health events carry the status in the action itself
(``"health_status: healthy"``). Anything unknown becomes :attr:`EventKind.OTHER`; anything
malformed, or not about a container, becomes ``None``: the intake never raises on engine input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
AUTOHEAL_LABEL = "autoheal"
HEALTH_PREFIX = "health_status:"

# Attributes the engine adds to Actor.Attributes that are not container labels.
ENGINE_ATTRIBUTES = frozenset({"name", "image", "exitCode", "signal", "execID", "oldName"})


class EventKind(StrEnum):
    """What happened to a container."""

    CREATE = "create"
    START = "start"
    RESTART = "restart"
    KILL = "kill"
    DIE = "die"
    STOP = "stop"
    DESTROY = "destroy"
    RENAME = "rename"
    OOM = "oom"
    HEALTH = "health_status"
    OTHER = "other"


class Health(StrEnum):
    """A container's health as reported by a health event."""

    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


_PLAIN_KINDS = {kind.value: kind for kind in EventKind if kind is not EventKind.HEALTH}


@dataclass(frozen=True)
class ContainerEvent:
    """One container event. ``health`` is set only for ``HEALTH`` events; ``action`` is verbatim."""

    kind: EventKind
    action: str
    container_id: str
    name: str
    project: str | None
    service: str | None
    labels: Mapping[str, str] = field(hash=False)
    at: datetime
    health: Health | None = None
    exit_code: int | None = None

    @property
    def autoheal(self) -> bool:
        """Return True when the container carries the label ``autoheal=true``."""
        return self.labels.get(AUTOHEAL_LABEL, "").lower() == "true"


def parse_container_event(raw: object) -> ContainerEvent | None:
    """Given one decoded event dict, return a ContainerEvent, or None for a malformed event or one
    that is not about a container. Never raises."""
    if not isinstance(raw, Mapping) or raw.get("Type") != "container":
        return None
    actor = raw.get("Actor")
    action = raw.get("Action")
    at = _event_time(raw)
    if not isinstance(actor, Mapping) or not isinstance(action, str) or at is None:
        return None
    container_id = actor.get("ID")
    attributes = _string_attributes(actor.get("Attributes"))
    if not isinstance(container_id, str) or not container_id or attributes is None:
        return None
    return _build_event(action, container_id, attributes, at)


def _build_event(
    action: str, container_id: str, attributes: Mapping[str, str], at: datetime
) -> ContainerEvent:
    kind, health = classify_action(action)
    labels = {key: value for key, value in attributes.items() if key not in ENGINE_ATTRIBUTES}
    return ContainerEvent(
        kind=kind,
        action=action,
        container_id=container_id,
        name=attributes.get("name", "").lstrip("/"),
        project=labels.get(PROJECT_LABEL),
        service=labels.get(SERVICE_LABEL),
        labels=MappingProxyType(labels),
        at=at,
        health=health,
        exit_code=_optional_int(attributes.get("exitCode")),
    )


def classify_action(action: str) -> tuple[EventKind, Health | None]:
    """Given an event's Action, return its kind and, for a health event, the health it reports.

    ``"health_status: unhealthy"`` gives ``(HEALTH, UNHEALTHY)``; ``"exec_die"`` or an unknown
    health word gives ``(OTHER, None)``.
    """
    if action.startswith(HEALTH_PREFIX):
        word = action.removeprefix(HEALTH_PREFIX).strip()
        health = next((value for value in Health if value.value == word), None)
        return (EventKind.HEALTH, health) if health is not None else (EventKind.OTHER, None)
    return _PLAIN_KINDS.get(action, EventKind.OTHER), None


def _event_time(raw: Mapping[object, object]) -> datetime | None:
    nanoseconds = _positive_int(raw.get("timeNano"))
    seconds = _positive_int(raw.get("time"))
    try:
        if nanoseconds is not None:
            return datetime.fromtimestamp(nanoseconds / 1e9, UTC)
        if seconds is not None:
            return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return None


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _string_attributes(raw: object) -> Mapping[str, str] | None:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        return None
    return {str(key): str(value) for key, value in raw.items()}


def _optional_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


class Relevance(StrEnum):
    """What an event means to the supervisor's intake."""

    GLUETUN_STARTED = "gluetun_started"  # inspect gluetun and its dependents: GluetunStarted
    GLUETUN_HEALTHY = "gluetun_healthy"  # inspect the dependents: GluetunHealthy
    HEALTH = "health"  # a health change for autoheal
    DESTROYED = "destroyed"  # a container is gone (autoheal forgets its health)
    IGNORED = "ignored"


def relevance(
    event: ContainerEvent, gluetun_service: str = "gluetun", gluetun_project: str | None = None
) -> Relevance:
    """Given a container event and gluetun's compose service (and project, when given), return
    what the event calls for.

    Gluetun is recognised by its compose labels, not its name (a recreated gluetun first
    appears under a temporary name); a ``restart`` event (which follows ``start``) is ignored.
    """
    in_project = gluetun_project is None or event.project == gluetun_project
    is_gluetun = in_project and event.service == gluetun_service
    if is_gluetun and event.kind is EventKind.START:
        return Relevance.GLUETUN_STARTED
    if is_gluetun and event.health is Health.HEALTHY:
        return Relevance.GLUETUN_HEALTHY
    if event.kind is EventKind.HEALTH and event.health is not None:
        return Relevance.HEALTH
    if event.kind is EventKind.DESTROY:
        return Relevance.DESTROYED
    return Relevance.IGNORED
