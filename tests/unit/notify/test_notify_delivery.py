"""Notifications through Apprise's real ntfy plugin to a local ntfy receiver.

No ntfy server can be installed here: the receiver (tests/support/ntfy_receiver.py) follows
ntfy's publish contract as the ntfy server's source implements it. ``ntfy://`` is Apprise's
plain-http ntfy scheme. Backoff time is injected (FakeTime), so no test sleeps for real.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from notify_support import BOUNDED_WAIT_SECONDS, FakeTime

from mediastack.notify import Delivery, Notification, NotificationQueue, NotificationSender
from mediastack.supervisor.actions import Notify, Stage
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.notify_policy import NotificationThrottle
from mediastack.supervisor.runtime.notices import notification_for
from support.ntfy_receiver import NtfyReceiver

TOKEN = "tk_0123456789abcdefghijklmnopqr"
TOPIC = "mediastack-alerts"


def make_queue(receiver_urls: list[str], fake_time: FakeTime, **options: int) -> NotificationQueue:
    settings = {"max_attempts": 4, "first_backoff_seconds": 2, "max_backoff_seconds": 60} | options
    sender = NotificationSender(receiver_urls)
    return NotificationQueue(sender, clock=fake_time.clock, sleep=fake_time.sleep, **settings)


def gluetun_restarted(priority: int = 4) -> Notification:
    return Notification(
        title="Gluetun restarted",
        body="Recreating 9 dependents.",
        priority=priority,
        tags=("warning", "vpn"),
    )


def test_a_message_arrives_with_title_body_priority_tags_and_token(
    receiver: NtfyReceiver, fake_time: FakeTime
) -> None:
    queue = make_queue([receiver.url(TOPIC, token=TOKEN)], fake_time)
    assert queue.put(gluetun_restarted())
    [message] = receiver.wait_for(1, BOUNDED_WAIT_SECONDS)
    assert (message.topic, message.title, message.message) == (
        TOPIC,
        "Gluetun restarted",
        "Recreating 9 dependents.",
    )
    assert message.priority == 4
    assert sorted(message.tags) == ["vpn", "warning"]  # Apprise sorts the tags
    assert message.authorization == f"Bearer {TOKEN}"
    assert message.json_publish  # Apprise publishes JSON to "/"
    assert queue.close() == 0


@pytest.mark.parametrize("priority", [1, 2, 3, 4, 5])
def test_each_priority_reaches_ntfy_as_the_same_number(
    receiver: NtfyReceiver, priority: int
) -> None:
    report = NotificationSender([receiver.url(TOPIC)]).send(gluetun_restarted(priority))
    assert report.finished and not report.rejected
    assert receiver.messages[0].priority == priority


def test_rate_limited_twice_the_message_arrives_later_and_put_did_not_wait(
    receiver: NtfyReceiver, fake_time: FakeTime
) -> None:
    receiver.rate_limit_next(2)
    fake_time.hold()
    queue = make_queue([receiver.url(TOPIC, token=TOKEN)], fake_time)
    assert queue.put(gluetun_restarted())  # returned: healing goes on
    assert fake_time.first_sleep_started.wait(BOUNDED_WAIT_SECONDS)  # a 429 came back
    assert receiver.messages == [] and receiver.requests == 1
    fake_time.release()
    [message] = receiver.wait_for(1, BOUNDED_WAIT_SECONDS)
    assert message.title == "Gluetun restarted"
    assert receiver.requests == 3
    assert fake_time.sleeps == [2.0, 4.0]
    assert queue.close() == 0


def test_receiver_down_then_up_the_message_is_delivered_after_a_retry(
    receiver: NtfyReceiver, fake_time: FakeTime
) -> None:
    receiver.go_down()
    fake_time.hold()
    queue = make_queue([receiver.url(TOPIC)], fake_time)
    assert queue.put(gluetun_restarted())
    assert fake_time.first_sleep_started.wait(BOUNDED_WAIT_SECONDS)  # connection refused
    receiver.come_back()
    fake_time.release()
    [message] = receiver.wait_for(1, BOUNDED_WAIT_SECONDS)
    assert message.title == "Gluetun restarted"
    assert fake_time.sleeps == [2.0]
    assert queue.close() == 0


def test_receiver_down_for_good_bounded_attempts_then_logged_masked_and_dropped(
    receiver: NtfyReceiver, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # Apprise's own DEBUG lines too: they carry headers
    receiver.go_down()
    queue = make_queue([receiver.url(TOPIC, token=TOKEN)], fake_time, max_attempts=3)
    assert queue.put(gluetun_restarted())
    assert queue.close(timeout=BOUNDED_WAIT_SECONDS) == 0  # waits for the worker to give up
    assert fake_time.sleeps == [2.0, 4.0]
    assert queue.statistics.failed == 1 and queue.statistics.delivered == 0
    masked = f"ntfy://127.0.0.1:{receiver.port}"
    assert f"'Gluetun restarted' dropped after 3 attempt(s); not delivered to {masked}" in (
        caplog.text
    )
    assert TOKEN not in caplog.text
    assert TOPIC not in caplog.text


def test_a_full_queue_drops_the_oldest_and_counts_it(
    receiver: NtfyReceiver, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mediastack.notify")
    receiver.go_down()
    fake_time.hold()
    queue = make_queue([receiver.url(TOPIC)], fake_time, capacity=2)
    titles = ["in flight", "oldest", "middle", "newest"]
    queue.put(Notification(titles[0], "body"))
    assert fake_time.first_sleep_started.wait(BOUNDED_WAIT_SECONDS)  # held in its backoff
    for title in titles[1:]:
        assert queue.put(Notification(title, "body"))
    assert queue.statistics.dropped == 1
    assert "dropped the oldest, 'oldest' (1 dropped so far)" in caplog.text
    receiver.come_back()
    fake_time.release()
    received = receiver.wait_for(3, BOUNDED_WAIT_SECONDS)
    assert [message.title for message in received] == ["in flight", "middle", "newest"]
    assert queue.close() == 0


def test_a_retry_goes_only_to_the_url_that_failed(fake_time: FakeTime) -> None:
    with NtfyReceiver() as healthy, NtfyReceiver() as flaky:
        flaky.rate_limit_next(1)
        queue = make_queue([healthy.url(TOPIC), flaky.url(TOPIC)], fake_time)
        queue.put(gluetun_restarted())
        flaky.wait_for(1, BOUNDED_WAIT_SECONDS)
        assert queue.close() == 0
        assert len(healthy.messages) == 1  # not sent twice by the retry
        assert flaky.requests == 2


@pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")
def test_an_unusable_url_is_rejected_once_and_logged_masked(
    receiver: NtfyReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    unusable = "nosuchservice://secret-token-value@example.org/path"
    sender = NotificationSender([unusable, receiver.url(TOPIC)])
    report = sender.send(gluetun_restarted())
    assert report.rejected == (unusable,) and report.finished
    assert "nosuchservice://example.org rejected" in caplog.text
    assert "secret-token-value" not in caplog.text + repr(report)
    assert len(receiver.messages) == 1


@pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")
def test_a_message_only_for_unusable_urls_counts_as_failed(fake_time: FakeTime) -> None:
    queue = make_queue(["nosuchservice://example.org/token"], fake_time)
    queue.put(gluetun_restarted())
    assert queue.close() == 0
    assert (queue.statistics.delivered, queue.statistics.failed) == (0, 1)
    assert fake_time.sleeps == []  # a rejected URL is not retried


def test_with_the_real_clock_a_429_is_retried_after_a_real_backoff(receiver: NtfyReceiver) -> None:
    receiver.rate_limit_next(1)
    sender = NotificationSender([receiver.url(TOPIC)])
    queue = NotificationQueue(sender, first_backoff_seconds=0.01, max_backoff_seconds=0.01)
    queue.put(gluetun_restarted())
    receiver.wait_for(1, BOUNDED_WAIT_SECONDS)
    assert receiver.requests == 2
    assert queue.close() == 0


def test_close_cuts_a_long_real_backoff_short(receiver: NtfyReceiver) -> None:
    receiver.go_down()
    sender = NotificationSender([receiver.url(TOPIC)])
    queue = NotificationQueue(sender, first_backoff_seconds=600, max_backoff_seconds=600)
    queue.put(gluetun_restarted())
    # Had the worker slept through the close, the join would time out with it in flight (1).
    assert queue.close(timeout=BOUNDED_WAIT_SECONDS) == 0
    assert queue.statistics.failed == 1


def settled(delivery: Delivery) -> bool:
    deadline = time.monotonic() + BOUNDED_WAIT_SECONDS
    while delivery.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    return not delivery.pending


def test_a_notice_ntfy_refused_does_not_hold_back_the_next_look_alike(
    receiver: NtfyReceiver, fake_time: FakeTime
) -> None:
    receiver.fail_next(1)  # ntfy answers 500, then accepts again
    queue = make_queue([receiver.url(TOPIC)], fake_time, max_attempts=1)
    throttle, clock = NotificationThrottle(timedelta(minutes=10)), FakeClock()
    restarted = Notify(Stage.AUTOHEAL_RESTART, "vpn-sonarr-1", "Restarted vpn-sonarr-1.")

    def send(delivery: Delivery) -> bool:
        admitted = throttle.admit(restarted, clock.now(), delivery)
        return admitted is not None and queue.put(notification_for(admitted, "home"), delivery)

    first = Delivery()
    assert send(first)
    assert settled(first) and first.failed
    clock.advance(60)
    second = Delivery()
    assert send(second)  # not held back by the one never delivered
    [message] = receiver.wait_for(1, BOUNDED_WAIT_SECONDS)
    assert message.message == "Restarted vpn-sonarr-1. (+1 more like this)"
    assert settled(second) and not second.failed
    clock.advance(60)
    assert not send(Delivery())  # held back after one that was delivered
    assert queue.close() == 0


SEPARATE_PROCESS_SCRIPT = """
import json, sys
import mediastack.notify
from mediastack.notify import Notification, NotificationSender
imported_early = "apprise" in sys.modules
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
before = rss_mb()
report = NotificationSender([sys.argv[1]]).send(Notification("lazy", "body"))
print(json.dumps({
    "imported_early": imported_early,
    "finished": report.finished,
    "other_plugins_loaded": "apprise.plugins.email" in sys.modules,
    "rss_growth_mb": rss_mb() - before,
}))
"""


def test_apprise_loads_at_the_first_send_and_ntfy_skips_its_other_plugins(
    receiver: NtfyReceiver,
) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SEPARATE_PROCESS_SCRIPT, receiver.url(TOPIC)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outcome = json.loads(completed.stdout)
    assert outcome["imported_early"] is False
    assert outcome["finished"] is True
    assert outcome["other_plugins_loaded"] is False
    assert receiver.messages[0].title == "lazy"
