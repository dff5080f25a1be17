"""The notification queue: healing hands a message over and goes on; one worker delivers.

``put`` never blocks and never raises: the queue is bounded in memory and, when full, drops
its oldest message (counting it and saying so). One daemon thread delivers the messages in
the order they were put. A delivery that fails (Apprise cannot say why: a 429 from ntfy, a
server that is down and a refusal all look alike, see :mod:`mediastack.notify.sender`) is
retried for the URLs that failed only, after an exponential backoff, up to ``max_attempts``;
then it is logged and dropped. While a message is being retried the ones behind it wait:
order is kept, and the wait is bounded by the attempts and the backoff's cap.

Each message may carry a ``Delivery``, which the worker settles once the message is delivered
or given up (or dropped, refused, left at close): the daemon's throttle reads it, so that a
message never delivered does not count as "sent recently".

Time is injected: ``clock`` (seconds, monotonic) and ``sleep`` (wait that long) let unit tests
run the backoff without real sleeps. Deduplication and throttling are not done here but
upstream, by :mod:`mediastack.supervisor.notify_policy`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mediastack.notify.message import MAXIMUM_PRIORITY, MINIMUM_PRIORITY, Notification
from mediastack.notify.sender import DeliveryReport
from mediastack.notify.urls import mask_url

logger = logging.getLogger(__name__)

DEFAULT_CAPACITY = 100
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_FIRST_BACKOFF_SECONDS = 2.0
DEFAULT_MAX_BACKOFF_SECONDS = 60.0
DEFAULT_CLOSE_TIMEOUT_SECONDS = 5.0


class Sender(Protocol):
    """What the queue needs from a sender, such as
    :class:`~mediastack.notify.sender.NotificationSender`."""

    def send(self, notification: Notification, urls: Sequence[str] | None = None) -> DeliveryReport:
        """Deliver to ``urls`` (all of the sender's when None); never raise."""
        ...


@dataclass(frozen=True)
class QueueStatistics:
    """Counts since the queue was made: ``waiting`` now, and ``delivered``, ``dropped`` (pushed
    out by newer ones when full), ``failed`` (given up after the last attempt, or left over at
    close) since the start."""

    waiting: int
    delivered: int
    dropped: int
    failed: int


class Delivery:
    """The outcome of one queued message: pending until the queue settles it, once, as
    delivered or not. Settled by the queue's worker, read by another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delivered: bool | None = None

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._delivered is None

    @property
    def failed(self) -> bool:
        """True once the queue gave the message up (or dropped or refused it)."""
        with self._lock:
            return self._delivered is False

    def settle(self, delivered: bool) -> None:
        """Record the outcome; the first one counts."""
        with self._lock:
            if self._delivered is None:
                self._delivered = delivered


@dataclass
class _Pending:
    notification: Notification
    urls: tuple[str, ...] | None = None
    delivery: Delivery | None = None

    def settle(self, delivered: bool) -> None:
        if self.delivery is not None:
            self.delivery.settle(delivered)


def backoff_seconds(attempt: int, first_seconds: float, max_seconds: float) -> float:
    """Return the wait after failed attempt number ``attempt`` (1-based): ``first_seconds``
    doubled for each attempt after the first, never more than ``max_seconds``."""
    return float(min(max_seconds, first_seconds * 2 ** (attempt - 1)))


class NotificationQueue:
    """A bounded FIFO of notifications drained by one daemon worker thread.

    Raise ValueError at construction when a bound is out of range. After :meth:`close`, ``put``
    refuses new messages.
    """

    def __init__(
        self,
        sender: Sender,
        *,
        capacity: int = DEFAULT_CAPACITY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        first_backoff_seconds: float = DEFAULT_FIRST_BACKOFF_SECONDS,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
        minimum_priority: int = MINIMUM_PRIORITY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        on_count: Callable[[QueueStatistics], None] | None = None,
    ) -> None:
        """``on_count`` is told the counts each time a message is delivered, given up or
        dropped (on the thread that settled it; it must not raise): the status pages'
        record of notifications by result."""
        if capacity < 1 or max_attempts < 1:
            raise ValueError("capacity and max_attempts must be at least 1")
        if first_backoff_seconds < 0 or max_backoff_seconds < 0:
            raise ValueError("backoff seconds must not be negative")
        if not MINIMUM_PRIORITY <= minimum_priority <= MAXIMUM_PRIORITY:
            raise ValueError("minimum_priority must be 1 to 5")
        self._sender = sender
        self._capacity = capacity
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._minimum_priority = minimum_priority
        self._clock = clock
        self._sleep = sleep if sleep is not None else self._interruptible_sleep
        self._condition = threading.Condition()
        self._waiting: deque[_Pending] = deque()
        self._worker: threading.Thread | None = None
        self._in_flight = False
        self._closing = False
        self._deadline: float | None = None
        self._delivered = self._dropped = self._failed = 0
        self._on_count = on_count

    # -- the producer's side -------------------------------------------------------------

    def put(self, notification: Notification, delivery: Delivery | None = None) -> bool:
        """Queue ``notification`` for delivery and return at once: True when queued, False when
        refused (below the minimum priority, or the queue is closed). When the queue is full the
        oldest waiting message is dropped, counted and logged. ``delivery``, when given, is
        settled with the outcome (at once when refused). Never blocks on delivery, never
        raises."""
        pending = _Pending(notification, delivery=delivery)
        try:
            if notification.priority < self._minimum_priority:
                logger.debug("notification %r below minimum priority", notification.title)
                pending.settle(False)
                return False
            accepted, pushed_out, dropped_total = self._enqueue(pending)
        except Exception:  # a side task never fails the main job
            logger.exception("could not queue notification")
            pending.settle(False)
            return False
        if not accepted:
            pending.settle(False)
            logger.warning("notification %r refused: the queue is closed", notification.title)
        elif pushed_out is not None:
            logger.warning(
                "notification queue full (%d): dropped the oldest, %r (%d dropped so far)",
                self._capacity,
                pushed_out.title,
                dropped_total,
            )
            self._counted()
        return accepted

    def _enqueue(self, pending: _Pending) -> tuple[bool, Notification | None, int]:
        """Append under the lock; return (accepted, the message pushed out or None, dropped)."""
        with self._condition:
            if self._closing:
                return False, None, self._dropped
            pushed_out = None
            if len(self._waiting) >= self._capacity:
                oldest = self._waiting.popleft()
                oldest.settle(False)
                pushed_out = oldest.notification
                self._dropped += 1
            self._waiting.append(pending)
            self._start_worker()
            self._condition.notify_all()
            return True, pushed_out, self._dropped

    def _start_worker(self) -> None:
        """Start the worker on first use (the caller holds the lock)."""
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._work, name="notification-queue", daemon=True
            )
            self._worker.start()

    @property
    def closed(self) -> bool:
        """Return True once :meth:`close` was called (``put`` refuses from then on)."""
        with self._condition:
            return self._closing

    @property
    def statistics(self) -> QueueStatistics:
        """Return the queue's counts now."""
        with self._condition:
            return QueueStatistics(
                waiting=len(self._waiting) + int(self._in_flight),
                delivered=self._delivered,
                dropped=self._dropped,
                failed=self._failed,
            )

    def close(self, timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS) -> int:
        """Refuse new messages, let the worker deliver what it can within ``timeout`` seconds
        (no retry is started that would end past it), and return how many messages were left
        undelivered (they are logged and counted as failed)."""
        with self._condition:
            self._closing = True
            self._deadline = self._clock() + timeout
            self._condition.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)
        with self._condition:
            left = [pending.notification.title for pending in self._waiting]
            for pending in self._waiting:
                pending.settle(False)
            self._waiting.clear()
            in_flight = int(self._in_flight)
            self._failed += len(left)
        if left or in_flight:
            logger.warning(
                "notification queue closed with %d undelivered: %s",
                len(left) + in_flight,
                ", ".join(repr(title) for title in left) or "one in flight",
            )
        if left:
            self._counted()
        return len(left) + in_flight

    # -- the worker's side ---------------------------------------------------------------

    def _work(self) -> None:
        """Deliver messages in order until the queue is closed and done; never die."""
        while (pending := self._next()) is not None:
            try:
                self._deliver(pending)
            except Exception:
                logger.exception("notification %r: delivery crashed", pending.notification.title)
                self._finish(pending, delivered=False)

    def _next(self) -> _Pending | None:
        """Wait for the next message; return None when closing and nothing more may be sent."""
        with self._condition:
            while not self._waiting and not self._closing:
                self._condition.wait()
            if not self._waiting or self._past_deadline(self._clock()):
                return None
            self._in_flight = True
            return self._waiting.popleft()

    def _deliver(self, pending: _Pending) -> None:
        """Try ``pending`` up to the attempt limit, backing off between tries; log a give-up."""
        report = DeliveryReport()
        delivered_somewhere = False
        for attempt in range(1, self._max_attempts + 1):
            report = self._sender.send(pending.notification, pending.urls)
            delivered_somewhere = delivered_somewhere or bool(report.delivered)
            if report.finished:  # only rejected URLs (logged by the sender) may be left
                self._finish(pending, delivered=delivered_somewhere)
                return
            pending.urls = report.retryable
            if attempt == self._max_attempts or not self._wait(self._backoff(attempt)):
                break
        logger.warning(
            "notification %r dropped after %d attempt(s); not delivered to %s",
            pending.notification.title,
            attempt,
            ", ".join(mask_url(url) for url in report.retryable),
        )
        self._finish(pending, delivered=False)

    def _backoff(self, attempt: int) -> float:
        return backoff_seconds(attempt, self._first_backoff, self._max_backoff)

    def _finish(self, pending: _Pending, *, delivered: bool) -> None:
        pending.settle(delivered)
        with self._condition:
            self._in_flight = False
            if delivered:
                self._delivered += 1
            else:
                self._failed += 1
        self._counted()

    def _counted(self) -> None:
        if self._on_count is None:
            return
        try:
            self._on_count(self.statistics)
        except Exception:  # a record of counts never stops delivery
            logger.exception("could not record the notification counts")

    def _wait(self, seconds: float) -> bool:
        """Wait ``seconds`` before a retry; return False (at once) when a close's deadline
        would pass first."""
        wake_at = self._clock() + seconds
        while (now := self._clock()) < wake_at:
            with self._condition:
                if self._past_deadline(wake_at):
                    return False
            self._sleep(wake_at - now)
        return True

    def _past_deadline(self, moment: float) -> bool:
        """Return True when closing and ``moment`` is after the close's deadline."""
        return self._deadline is not None and moment > self._deadline

    def _interruptible_sleep(self, seconds: float) -> None:
        """The real sleep: a wait that :meth:`close` (or a new message) cuts short so that the
        deadline is checked again; it does not start when a close's deadline is before its end.
        The check and the wait share the lock, so a close cannot slip between them."""
        with self._condition:
            if not self._past_deadline(self._clock() + seconds):
                self._condition.wait(seconds)
