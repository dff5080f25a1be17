"""How the update pipeline reports each step: a listener Protocol the caller wires (the daemon to
its notification queue, the CLI to the terminal), and the push notification each step becomes.

A listener must not block or raise: it is called from the update's own thread, in the middle of
an update. ``safe_notify`` makes sure a listener that raises anyway never fails an update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mediastack.notify.message import Notification
from mediastack.updates.model import Stage, UpdateEvent

LOGGER = logging.getLogger(__name__)

_PRIORITIES = {
    Stage.AVAILABLE: 2,
    Stage.STARTED: 2,
    Stage.PULLED: 1,
    Stage.UPDATED: 3,
    Stage.UNCHANGED: 2,
    Stage.FAILED: 4,
    Stage.ROLLED_BACK: 4,
    Stage.ROLLBACK_FAILED: 5,
}
_TAGS = {
    Stage.AVAILABLE: ("package",),
    Stage.UPDATED: ("white_check_mark",),
    Stage.FAILED: ("warning",),
    Stage.ROLLED_BACK: ("rewind",),
    Stage.ROLLBACK_FAILED: ("rotating_light",),
}
_TITLES = {
    Stage.AVAILABLE: "Update available",
    Stage.STARTED: "Updating",
    Stage.PULLED: "Pulled",
    Stage.UPDATED: "Updated",
    Stage.UNCHANGED: "Nothing new pulled",
    Stage.FAILED: "Update failed",
    Stage.ROLLED_BACK: "Update rolled back",
    Stage.ROLLBACK_FAILED: "Rollback failed",
}


class UpdateListener(Protocol):
    """Receives every step of every update, in order."""

    def notify(self, event: UpdateEvent) -> None:
        """Take ``event``; return quickly and never raise."""
        ...


@dataclass
class CollectingListener:
    """Keeps every event (tests, and the CLI's JSON report)."""

    events: list[UpdateEvent] = field(default_factory=list)

    def notify(self, event: UpdateEvent) -> None:
        self.events.append(event)

    def stages(self, service: str | None = None) -> list[Stage]:
        return [e.stage for e in self.events if service is None or e.key.service == service]


@dataclass
class CallbackListener:
    """Calls ``callback`` with each event (e.g. ``lambda e: queue.put(notification_for(e))``)."""

    callback: Callable[[UpdateEvent], None]

    def notify(self, event: UpdateEvent) -> None:
        self.callback(event)


def safe_notify(listener: UpdateListener, event: UpdateEvent) -> None:
    """Give ``event`` to ``listener``; a listener that raises is logged, never propagated (a
    side task never fails the main job)."""
    try:
        listener.notify(event)
    except Exception:
        LOGGER.exception("update listener failed on %s of %s", event.stage, event.key)


def notification_for(event: UpdateEvent) -> Notification:
    """Return the push notification for ``event``: title, body, ntfy priority (rollbacks high,
    a failed rollback urgent, progress low) and tags."""
    return Notification(
        title=f"{_TITLES[event.stage]}: {event.key.service}",
        body="\n".join((event.message, *event.details)),
        priority=_PRIORITIES[event.stage],
        tags=_TAGS.get(event.stage, ()),
    )
