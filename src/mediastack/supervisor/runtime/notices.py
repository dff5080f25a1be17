"""The core's notices as push notifications: a title per stage, ntfy tags, and the notifier.

The notifier is the notification queue of :mod:`mediastack.notify` (Apprise, retried, never
blocking healing) when Apprise URLs are configured, else one that only logs. The URLs live in
the variable ``notifications.urls_variable`` names: from the process environment (the
supervisor's container), else from the .env file next to mediastack.yaml. Each send runs in a
short-lived child process (``mediastack.notify.child``), so Apprise never stays loaded in the
daemon.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Protocol

from mediastack.config import LoadedConfig
from mediastack.notify import Delivery, Notification, NotificationQueue, parse_url_list
from mediastack.notify.child import ChildSender
from mediastack.notify.queue import QueueStatistics
from mediastack.render.environment import is_placeholder, read_secrets
from mediastack.supervisor.actions import Notify, Stage

logger = logging.getLogger(__name__)

TITLES: dict[Stage, str] = {
    Stage.GLUETUN_RESTARTED: "gluetun restarted: healing its dependents",
    Stage.GLUETUN_TIMEOUT: "gluetun is not healthy",
    Stage.HEALED: "dependents healed",
    Stage.CASCADE_INCOMPLETE: "dependents partly healed",
    Stage.DEPENDENT_FAILED: "a dependent could not be healed",
    Stage.RATE_LIMITED: "restart loop: cascades paused",
    Stage.PAUSED: "cascades are paused",
    Stage.RESUMED: "cascades resumed",
    Stage.AUTOHEAL_RESTART: "autoheal",
    Stage.AUTOHEAL_GAVE_UP: "autoheal gave up",
    Stage.AUTOHEAL_FAILED: "autoheal restart failed",
}
TAGS: dict[Stage, tuple[str, ...]] = {
    Stage.GLUETUN_RESTARTED: ("arrows_counterclockwise",),
    Stage.GLUETUN_TIMEOUT: ("warning",),
    Stage.HEALED: ("white_check_mark",),
    Stage.CASCADE_INCOMPLETE: ("warning",),
    Stage.DEPENDENT_FAILED: ("x",),
    Stage.RATE_LIMITED: ("rotating_light",),
    Stage.PAUSED: ("pause_button",),
    Stage.RESUMED: ("arrow_forward",),
    Stage.AUTOHEAL_RESTART: ("hospital",),
    Stage.AUTOHEAL_GAVE_UP: ("rotating_light",),
    Stage.AUTOHEAL_FAILED: ("x",),
}


class Notifier(Protocol):
    """Takes notifications without blocking (the notification queue's shape)."""

    def put(self, notification: Notification, delivery: Delivery | None = None) -> bool:
        """Queue ``notification``; return False when it was refused. Settle ``delivery``
        with the outcome once known. Never raises."""
        ...

    def close(self, timeout: float = 5.0) -> int:
        """Deliver what can be within ``timeout`` seconds; return how many were not."""
        ...


class LogOnlyNotifier:
    """The notifier when no URL is configured: every notice is already in the log."""

    def put(self, notification: Notification, delivery: Delivery | None = None) -> bool:
        if delivery is not None:
            delivery.settle(True)  # it is in the log
        return True

    def close(self, timeout: float = 5.0) -> int:
        return 0


def notification_for(notice: Notify, instance: str) -> Notification:
    """Given a notice and the instance name, return the push notification to send."""
    title = f"{instance}: {TITLES.get(notice.stage, notice.stage.value)}"
    return Notification(title, notice.message, int(notice.priority), TAGS.get(notice.stage, ()))


def notification_urls(loaded: LoadedConfig) -> tuple[str, ...]:
    """Return the configured Apprise URLs: the variable from the environment, else from the
    .env file; none when unset, empty or still init's placeholder."""
    variable = loaded.config.notifications.urls_variable
    value = os.environ.get(variable)
    if value is None:
        value = read_secrets(loaded.env_file).get(variable, "")
    if not value.strip() or is_placeholder(value.strip()):
        return ()
    return parse_url_list(value)


def build_notifier(
    loaded: LoadedConfig, on_count: Callable[[QueueStatistics], None] | None = None
) -> Notifier:
    """Return the notification queue for the configured URLs (telling ``on_count`` its counts
    as messages settle), or a log-only notifier."""
    urls = notification_urls(loaded)
    if not urls:
        variable = loaded.config.notifications.urls_variable
        logger.info("no notification URLs (%s is empty): notices are only logged", variable)
        return LogOnlyNotifier()
    settings = loaded.config.notifications
    return NotificationQueue(
        ChildSender(urls),
        capacity=settings.queue_size,
        max_attempts=settings.max_attempts,
        minimum_priority=settings.minimum_priority,
        on_count=on_count,
    )
