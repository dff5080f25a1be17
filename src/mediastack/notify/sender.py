"""Deliver one notification to Apprise URLs, through the real ``apprise`` package.

Apprise is imported lazily, at the first send: importing it costs about 7 MB of resident
memory (on top of ``requests``, which the Docker SDK loads anyway), and letting it look up a
scheme costs about 17 MB more, because Apprise's plugin manager then imports every one of its
~140 plugins (with cryptography and oauthlib). The
supervisor's idle goal is at most 45 MB, so an ``ntfy://``/``ntfys://`` URL is handed straight
to Apprise's ntfy plugin class, which skips that scan; any other scheme goes through
``Apprise.instantiate`` and pays for it.

Each URL gets a fresh plugin instance per attempt: an instance that is reused throttles
itself with a blocking sleep of 5.5 s between two requests (``NotifyBase.request_rate_per_sec``).

What a failure means: Apprise's ``notify()`` answers only True or False. Its ntfy plugin logs
a refusal as a warning ("Failed to send ntfy notification to topic ...: <error>, error=<code>",
where ntfy's JSON error replaces the HTTP status by its own code, 42901 for a 429) and a
connection failure as another warning, and returns False for both. Neither the status code nor
a Retry-After reaches the caller (ntfy sends no Retry-After anyway). So a 429, a server that is
down and a permanent refusal (401, 403, 400) cannot be told apart: every failed delivery is
reported as retryable, and the queue's bounded attempts keep a permanent one from looping.
Only a URL that Apprise cannot use at all (unknown scheme, malformed) is rejected for good.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mediastack.notify.message import Notification
from mediastack.notify.urls import (
    is_ntfy_url,
    mask_url,
    protect_third_party_logs,
    with_ntfy_options,
)

logger = logging.getLogger(__name__)

_apprise_lock = threading.Lock()
_apprise_modules: dict[str, Any] = {}


class Outcome(StrEnum):
    """What became of a notification at one URL."""

    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    REJECTED = "rejected"


@dataclass(frozen=True)
class DeliveryReport:
    """What one send did, URL by URL: ``delivered``, ``retryable`` (failed; worth another try)
    and ``rejected`` (Apprise cannot use the URL; never worth another try)."""

    delivered: tuple[str, ...] = ()
    retryable: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        """Return True when nothing is left to retry."""
        return not self.retryable

    def __repr__(self) -> str:
        """Show the URLs masked, so that logging a report leaks no secret."""
        masked = {
            name: [mask_url(url) for url in getattr(self, name)]
            for name in ("delivered", "retryable", "rejected")
        }
        return f"DeliveryReport({', '.join(f'{k}={v}' for k, v in masked.items())})"


def _apprise_module(name: str) -> Any:
    """Return the module ``name`` (``apprise`` or one of its modules), imported on first use.
    Typed Any: Apprise is only partly typed, and this is its only door into mediastack."""
    with _apprise_lock:
        if name not in _apprise_modules:
            _apprise_modules[name] = importlib.import_module(name)
        return _apprise_modules[name]


def _ntfy_service(url: str) -> Any:
    """Return an Apprise ntfy plugin instance for ``url`` without loading Apprise's other
    plugins, or None when the URL does not parse."""
    try:
        plugin_class = _apprise_module("apprise.plugins.ntfy").NotifyNtfy
    except (ImportError, AttributeError):
        return _any_service(url)
    arguments = plugin_class.parse_url(url)
    if not arguments:
        return None
    arguments["asset"] = _apprise_module("apprise").AppriseAsset()
    try:
        return plugin_class(**arguments)
    except Exception:  # Apprise.instantiate also turns a constructor's refusal into None
        return None


def _any_service(url: str) -> Any:
    """Return Apprise's plugin instance for ``url`` (loading all of Apprise's plugins), or
    None when Apprise cannot use the URL."""
    return _apprise_module("apprise").Apprise.instantiate(url)


class NotificationSender:
    """Sends notifications to a fixed list of Apprise URLs, one URL at a time.

    ``send`` never raises and never logs a secret: URLs appear masked (see
    :func:`mediastack.notify.urls.mask_url`), and the URLs' secrets are redacted from Apprise's
    and urllib3's own log records from construction on.
    """

    def __init__(self, urls: Sequence[str]) -> None:
        self._urls = tuple(urls)
        protect_third_party_logs(self._urls)

    @property
    def urls(self) -> tuple[str, ...]:
        """Return the URLs this sender delivers to."""
        return self._urls

    def send(self, notification: Notification, urls: Sequence[str] | None = None) -> DeliveryReport:
        """Given a notification and optionally a subset of this sender's URLs (to retry only
        those that failed), deliver it to each URL in turn; return what happened to each."""
        by_outcome: dict[Outcome, list[str]] = {outcome: [] for outcome in Outcome}
        for url in self._urls if urls is None else urls:
            by_outcome[self._send_to(url, notification)].append(url)
        return DeliveryReport(
            delivered=tuple(by_outcome[Outcome.DELIVERED]),
            retryable=tuple(by_outcome[Outcome.RETRYABLE]),
            rejected=tuple(by_outcome[Outcome.REJECTED]),
        )

    def _send_to(self, url: str, notification: Notification) -> Outcome:
        """Deliver to one URL; return the outcome; log failures with the URL masked."""
        try:
            service = self._service(url, notification)
            if service is None:
                logger.error(
                    "notification URL %s rejected: Apprise cannot use it (unknown scheme or "
                    "malformed); fix it in the .env file",
                    mask_url(url),
                )
                return Outcome.REJECTED
            sent = service.notify(
                body=notification.body,
                title=notification.title,
                notify_type=notification.apprise_type,
            )
        except Exception as error:  # a side task never fails the main job
            logger.warning(
                "notification %r to %s raised %s",
                notification.title,
                mask_url(url),
                type(error).__name__,
            )
            return Outcome.RETRYABLE
        if not sent:
            logger.warning(
                "notification %r to %s failed (refused, rate-limited or unreachable)",
                notification.title,
                mask_url(url),
            )
            return Outcome.RETRYABLE
        logger.debug("notification %r delivered to %s", notification.title, mask_url(url))
        return Outcome.DELIVERED

    @staticmethod
    def _service(url: str, notification: Notification) -> Any:
        """Return a fresh Apprise plugin instance carrying this message's options, or None."""
        if is_ntfy_url(url):
            ntfy_url = with_ntfy_options(url, notification.ntfy_priority, notification.tags)
            return _ntfy_service(ntfy_url)
        return _any_service(url)
