"""A stop asked of an update in progress (the supervisor stopping): finish the service it is
on, or roll it back, within a budget; start no other.

``UpdateStop.request`` is called from a SIGTERM handler. From then on ``deadline`` is the
moment every command must have ended by (the executor kills a command's process group past
it, so the step in progress fails and is rolled back): ``finish_seconds`` after the request,
plus ``rollback_seconds`` once the rollback has begun. Before a request there is no deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class UpdateStop:
    """Whether, and by when, the update in progress must end (see the module docstring)."""

    def __init__(
        self,
        finish_seconds: float,
        rollback_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._finish = finish_seconds
        self._rollback = rollback_seconds
        self._monotonic = monotonic
        self._requested_at: float | None = None
        self._rolling_back = False

    def request(self) -> None:
        """Ask the update to end (the first request counts; safe in a signal handler)."""
        if self._requested_at is None:
            self._requested_at = self._monotonic()

    @property
    def requested(self) -> bool:
        return self._requested_at is not None

    def rolling_back(self) -> None:
        """The step in progress is being rolled back: allow the rollback its time too."""
        self._rolling_back = True

    def deadline(self) -> float | None:
        """Return the monotonic moment every command must have ended by; None: no stop."""
        if self._requested_at is None:
            return None
        end = self._requested_at + self._finish
        return end + self._rollback if self._rolling_back else end


NEVER_STOPPED = UpdateStop(0.0, 0.0)
"""For an update nobody stops (the command line: Ctrl-C ends it)."""
