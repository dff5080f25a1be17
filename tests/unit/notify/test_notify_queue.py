"""The notification queue with a scripted sender: order, backoff, bounds, overflow, close.

Time is injected (FakeTime): no test sleeps for real, and none asserts on wall-clock time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest
from notify_support import BOUNDED_WAIT_SECONDS, FakeTime

from mediastack.notify.message import Notification
from mediastack.notify.queue import NotificationQueue, QueueStatistics, backoff_seconds
from mediastack.notify.sender import DeliveryReport

URL_A = "ntfy://tk_token_a@127.0.0.1:1/alpha"
URL_B = "ntfy://tk_token_b@127.0.0.1:2/beta"


class ScriptedSender:
    """Fails each URL as often as told, then delivers; records every call; can be gated so
    a delivery waits until the test opens the gate."""

    def __init__(self, urls: Sequence[str] = (URL_A,), failures: dict[str, int] | None = None):
        self.urls = tuple(urls)
        self.failures = dict(failures or {})
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.delivered: list[str] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.done = threading.Condition()

    def send(self, notification: Notification, urls: Sequence[str] | None = None) -> DeliveryReport:
        self.entered.set()
        assert self.gate.wait(BOUNDED_WAIT_SECONDS), "the test never opened the gate"
        targets = self.urls if urls is None else tuple(urls)
        self.calls.append((notification.title, targets))
        failed = tuple(url for url in targets if self.failures.get(url, 0) > 0)
        for url in failed:
            self.failures[url] -= 1
        if not failed:
            with self.done:
                self.delivered.append(notification.title)
                self.done.notify_all()
        delivered = tuple(url for url in targets if url not in failed)
        return DeliveryReport(delivered=delivered, retryable=failed)

    def wait_delivered(self, count: int) -> list[str]:
        with self.done:
            assert self.done.wait_for(lambda: len(self.delivered) >= count, BOUNDED_WAIT_SECONDS)
            return list(self.delivered)


def notice(title: str, priority: int = 3) -> Notification:
    return Notification(title=title, body=f"body of {title}", priority=priority)


def make_queue(sender: ScriptedSender, fake_time: FakeTime, **options: int) -> NotificationQueue:
    settings = {"max_attempts": 4, "first_backoff_seconds": 1, "max_backoff_seconds": 3} | options
    return NotificationQueue(sender, clock=fake_time.clock, sleep=fake_time.sleep, **settings)


def test_backoff_doubles_from_the_first_wait_up_to_the_cap() -> None:
    waits = [backoff_seconds(attempt, 2.0, 10.0) for attempt in range(1, 6)]
    assert waits == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_messages_are_delivered_in_the_order_they_were_put(fake_time: FakeTime) -> None:
    sender = ScriptedSender()
    queue = make_queue(sender, fake_time)
    for title in ("first", "second", "third"):
        assert queue.put(notice(title))
    assert sender.wait_delivered(3) == ["first", "second", "third"]
    assert queue.close() == 0
    assert queue.statistics == QueueStatistics(waiting=0, delivered=3, dropped=0, failed=0)


def test_a_failure_is_retried_with_exponential_backoff(fake_time: FakeTime) -> None:
    sender = ScriptedSender(failures={URL_A: 2})
    queue = make_queue(sender, fake_time)
    queue.put(notice("retried"))
    assert sender.wait_delivered(1) == ["retried"]
    assert fake_time.sleeps == [1.0, 2.0]
    assert len(sender.calls) == 3
    queue.close()


def test_only_the_urls_that_failed_are_retried(fake_time: FakeTime) -> None:
    sender = ScriptedSender(urls=(URL_A, URL_B), failures={URL_B: 1})
    queue = make_queue(sender, fake_time)
    queue.put(notice("partial"))
    sender.wait_delivered(1)
    assert sender.calls == [("partial", (URL_A, URL_B)), ("partial", (URL_B,))]
    queue.close()


def test_after_the_last_attempt_the_message_is_logged_masked_and_dropped(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mediastack.notify")
    sender = ScriptedSender(failures={URL_A: 4})  # "lost" uses all four; "next" goes through
    queue = make_queue(sender, fake_time, max_attempts=4)
    queue.put(notice("lost"))
    queue.put(notice("next"))
    assert sender.wait_delivered(1) == ["next"]
    assert fake_time.sleeps == [1.0, 2.0, 3.0]  # capped at 3 s; no wait after the last try
    assert queue.close() == 0
    assert queue.statistics.failed == 1
    assert "'lost' dropped after 4 attempt(s); not delivered to ntfy://127.0.0.1:1" in caplog.text
    assert "tk_token_a" not in caplog.text and "alpha" not in caplog.text


def test_put_returns_before_the_delivery_happens(fake_time: FakeTime) -> None:
    sender = ScriptedSender()
    sender.gate.clear()
    queue = make_queue(sender, fake_time)
    assert queue.put(notice("waiting on the phone"))
    assert sender.entered.wait(BOUNDED_WAIT_SECONDS)
    assert sender.delivered == []
    sender.gate.set()
    assert sender.wait_delivered(1) == ["waiting on the phone"]
    queue.close()


def test_a_full_queue_drops_the_oldest_waiting_message_and_counts_it(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mediastack.notify")
    sender = ScriptedSender()
    sender.gate.clear()
    queue = make_queue(sender, fake_time, capacity=2)
    queue.put(notice("in flight"))
    assert sender.entered.wait(BOUNDED_WAIT_SECONDS)  # the worker holds it; two slots left
    for title in ("oldest", "middle", "newest"):
        assert queue.put(notice(title))
    assert queue.statistics == QueueStatistics(waiting=3, delivered=0, dropped=1, failed=0)
    assert "dropped the oldest, 'oldest' (1 dropped so far)" in caplog.text
    sender.gate.set()
    assert sender.wait_delivered(3) == ["in flight", "middle", "newest"]
    queue.close()


def test_a_message_below_the_minimum_priority_is_not_queued(fake_time: FakeTime) -> None:
    sender = ScriptedSender()
    queue = make_queue(sender, fake_time, minimum_priority=3)
    assert not queue.put(notice("chatter", priority=2))
    assert queue.put(notice("important", priority=4))
    assert sender.wait_delivered(1) == ["important"]
    queue.close()


def test_put_never_raises_and_the_worker_survives_a_crashing_sender(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    sender = ScriptedSender()
    crashing_once = {"crashed": False}
    original_send = sender.send

    def send(notification: Notification, urls: Sequence[str] | None = None) -> DeliveryReport:
        if not crashing_once["crashed"]:
            crashing_once["crashed"] = True
            raise RuntimeError("boom")
        return original_send(notification, urls)

    sender.send = send  # type: ignore[method-assign]
    queue = make_queue(sender, fake_time)
    assert not queue.put(None)  # type: ignore[arg-type]
    queue.put(notice("crashes"))
    queue.put(notice("survives"))
    assert sender.wait_delivered(1) == ["survives"]
    assert queue.close() == 0
    assert queue.statistics.failed == 1
    assert "delivery crashed" in caplog.text


def test_close_refuses_new_messages_and_reports_none_left_when_flushed(fake_time: FakeTime) -> None:
    sender = ScriptedSender()
    queue = make_queue(sender, fake_time)
    queue.put(notice("flushed"))
    assert queue.close(timeout=BOUNDED_WAIT_SECONDS) == 0
    assert sender.delivered == ["flushed"]
    assert not queue.put(notice("too late"))


def close_in_background(
    queue: NotificationQueue, timeout: float
) -> tuple[threading.Thread, list[int]]:
    """Start ``queue.close(timeout)`` in a thread; return it once the close has begun."""
    results: list[int] = []
    closer = threading.Thread(target=lambda: results.append(queue.close(timeout)))
    closer.start()
    for _ in range(int(BOUNDED_WAIT_SECONDS / 0.001)):
        if queue.closed:
            break
        threading.Event().wait(0.001)
    assert queue.closed
    return closer, results


def test_close_starts_no_retry_that_would_end_past_its_deadline(fake_time: FakeTime) -> None:
    sender = ScriptedSender(failures={URL_A: 99})
    sender.gate.clear()
    queue = make_queue(sender, fake_time, first_backoff_seconds=60, max_backoff_seconds=60)
    queue.put(notice("retrying"))
    queue.put(notice("behind it"))
    assert sender.entered.wait(BOUNDED_WAIT_SECONDS)
    closer, results = close_in_background(queue, timeout=5)
    sender.gate.set()
    closer.join(BOUNDED_WAIT_SECONDS)
    assert results == [0]  # each got its one attempt within the deadline; none is left
    assert [title for title, _ in sender.calls] == ["retrying", "behind it"]
    assert fake_time.sleeps == []  # a 60 s backoff past a 5 s deadline is not even started
    assert queue.statistics == QueueStatistics(waiting=0, delivered=0, dropped=0, failed=2)


def test_close_counts_what_it_could_not_deliver_in_time(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    sender = ScriptedSender()
    sender.gate.clear()  # the phone never answers while the queue closes
    queue = make_queue(sender, fake_time)
    queue.put(notice("stuck"))
    queue.put(notice("waiting"))
    assert sender.entered.wait(BOUNDED_WAIT_SECONDS)
    assert queue.close(timeout=0.05) == 2
    assert "closed with 2 undelivered: 'waiting'" in caplog.text
    sender.gate.set()


def test_impossible_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        NotificationQueue(ScriptedSender(), capacity=0)
    with pytest.raises(ValueError):
        NotificationQueue(ScriptedSender(), minimum_priority=6)
