"""A per-client sliding-window rate limit (pure; time passed in).

At most ``limit`` requests per client in any ``window_seconds``. Memory is bounded: at most
``max_clients`` clients are remembered; beyond that the one idle longest is forgotten.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Admission:
    """Whether a request may proceed, and if not, in how many seconds it may."""

    allowed: bool
    retry_after_seconds: int = 0


class SlidingWindowLimiter:
    """Thread-safe; ``now`` is a monotonic time in seconds."""

    def __init__(self, limit: int, window_seconds: float = 60.0, max_clients: int = 1024) -> None:
        if limit < 1 or window_seconds <= 0 or max_clients < 1:
            raise ValueError("limit, window and max_clients must be positive")
        self._limit = limit
        self._window = window_seconds
        self._max_clients = max_clients
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, client: str, now: float) -> Admission:
        """Count a request of ``client`` at ``now`` when it is within the limit; return
        whether it is (a refused request is not counted)."""
        with self._lock:
            times = self._clients.pop(client, None) or deque()
            while times and times[0] <= now - self._window:
                times.popleft()
            self._clients[client] = times  # most recently seen last
            self._forget_idle()
            if len(times) >= self._limit:
                retry = times[0] + self._window - now
                return Admission(False, max(1, int(retry + 0.999)))
            times.append(now)
            return Admission(True)

    def _forget_idle(self) -> None:
        while len(self._clients) > self._max_clients:
            self._clients.popitem(last=False)
