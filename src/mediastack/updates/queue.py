"""The one queue every update request goes through: the daily schedule, the WUD webhook and the
daemon's own callers put requests in; one worker takes them out and runs them.

Bounded (a flood of webhook calls cannot grow memory) and merging: a request from the same
source while one is waiting widens the waiting one instead of queueing a second run; a request
for every service absorbs the narrower ones.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass

from mediastack.updates.model import Source

DEFAULT_CAPACITY = 32


@dataclass(frozen=True)
class UpdateRequest:
    """Run a check and the updates it finds for ``services`` (empty: every running service),
    on behalf of ``source``. Service names are rendered service names, never payload text."""

    source: Source
    services: frozenset[str] = frozenset()

    @property
    def every_service(self) -> bool:
        return not self.services

    def merged(self, other: UpdateRequest) -> UpdateRequest:
        """Return one request covering this one and ``other`` (same source)."""
        if self.every_service or other.every_service:
            return UpdateRequest(self.source)
        return UpdateRequest(self.source, self.services | other.services)


class UpdateQueue:
    """A bounded, merging, thread-safe queue of UpdateRequests (at most one per source)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._waiting: dict[Source, UpdateRequest] = {}
        self._condition = threading.Condition()
        self._closed = False

    def put(self, request: UpdateRequest) -> bool:
        """Queue ``request`` (merged into a waiting one of its source); return False when it
        would name more than ``capacity`` services (the caller answers "busy")."""
        with self._condition:
            waiting = self._waiting.get(request.source)
            combined = waiting.merged(request) if waiting is not None else request
            if len(combined.services) > self._capacity:
                return False
            self._waiting[request.source] = combined
            self._condition.notify_all()
            return True

    def take(self, timeout_seconds: float | None = None) -> list[UpdateRequest]:
        """Return every waiting request (command line first, then schedule, then webhook),
        waiting up to ``timeout_seconds`` for one (None: forever); empty on timeout, and at
        once after ``close()``."""
        with self._condition:
            self._condition.wait_for(
                lambda: bool(self._waiting) or self._closed, timeout=timeout_seconds
            )
            taken = [self._waiting.pop(source) for source in Source if source in self._waiting]
            return taken

    def close(self) -> None:
        """Wake every ``take()`` now and make later ones return at once: the worker stops
        without polling for its stop flag."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def pending(self) -> Collection[UpdateRequest]:
        with self._condition:
            return list(self._waiting.values())
