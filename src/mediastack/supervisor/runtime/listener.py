"""The supervisor's one listener, as the daemon's jobs see it: started with them, stopped first.

It serves the read-only status routes (``status.enabled``, on by default) and the update
webhook (``updates.webhook.enabled``) on one address and port (``updates.webhook``), from its
own threads (``mediastack.updates.webhook``). A listener that cannot bind is logged and
notified, and the daemon goes on without it: healing never waits on a web page.
"""

from __future__ import annotations

import logging
from typing import Protocol

from mediastack.notify.message import Notification
from mediastack.supervisor.runtime.job_notices import FAILURE_PRIORITY
from mediastack.supervisor.runtime.notices import Notifier

logger = logging.getLogger("mediastack.supervisor")


class Serving(Protocol):
    """A server with its own threads: ``start`` binds (OSError when it cannot), ``stop``
    closes (open streams end within a second)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ListenerRunner:
    """Starts and stops the listener; ``serves`` says what it serves, for the log."""

    def __init__(self, serving: Serving, notifier: Notifier, instance: str, serves: str) -> None:
        self._serving: Serving | None = serving
        self._notifier = notifier
        self._instance = instance
        self.serves = serves

    def start(self) -> None:
        """Bind and serve; a listener that cannot bind is logged and notified."""
        if self._serving is None:
            return
        try:
            self._serving.start()
        except OSError as error:
            logger.error("the supervisor's listener cannot listen: %s; going on without it", error)
            title = f"{self._instance}: the supervisor's listener cannot listen"
            body = f"{error} ({self.serves} are off until the supervisor restarts)"
            self._notifier.put(Notification(title, body, FAILURE_PRIORITY, ("warning",)))
            self._serving = None

    def interrupt(self) -> None:
        """Stop serving: no request is taken after this."""
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def stop(self, timeout: float) -> None:
        """The same as ``interrupt`` (a request in flight ends by its own deadline)."""
        del timeout
        self.interrupt()
