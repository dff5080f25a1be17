"""Notifications sent from a child process: a real ``python -m mediastack.notify.child`` with
Apprise's real ntfy plugin, to the local ntfy receiver (tests/support/ntfy_receiver.py)."""

from __future__ import annotations

import logging

import pytest
from notify_support import BOUNDED_WAIT_SECONDS, FakeTime

from mediastack.adapters.fakes import RecordingExecutor
from mediastack.notify import DeliveryReport, Notification, NotificationQueue
from mediastack.notify.child import ChildSender, report_from_json, report_to_json
from support.ntfy_receiver import NtfyReceiver

TOKEN = "tk_0123456789abcdefghijklmnopqr"
MESSAGE = Notification("Gluetun restarted", "Recreating 9 dependents.", 4, ("warning",))


def test_a_child_delivers_the_message_and_reports_it(receiver: NtfyReceiver) -> None:
    url = receiver.url("alerts", token=TOKEN)
    report = ChildSender([url]).send(MESSAGE)
    assert report == DeliveryReport(delivered=(url,))
    [message] = receiver.wait_for(1, BOUNDED_WAIT_SECONDS)
    assert (message.title, message.message, message.priority) == (
        "Gluetun restarted",
        "Recreating 9 dependents.",
        4,
    )
    assert message.authorization == f"Bearer {TOKEN}"


def test_a_refusing_server_is_retryable_and_the_queue_tries_again(
    receiver: NtfyReceiver, fake_time: FakeTime
) -> None:
    receiver.rate_limit_next(1)
    url = receiver.url("alerts")
    queue = NotificationQueue(
        ChildSender([url]),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        max_attempts=3,
        first_backoff_seconds=2,
        max_backoff_seconds=60,
    )
    assert queue.put(MESSAGE)
    [message] = receiver.wait_for(1, BOUNDED_WAIT_SECONDS * 2)
    assert message.title == "Gluetun restarted"
    assert queue.close() == 0
    assert queue.statistics.delivered == 1


def test_a_child_that_says_nothing_leaves_every_url_retryable_and_no_token_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    executor = RecordingExecutor()
    url = f"ntfys://{TOKEN}@ntfy.example.org/alerts"
    executor.respond("mediastack.notify.child", stderr=f"Traceback ... {url}", exit_code=1)
    with caplog.at_level(logging.WARNING):
        report = ChildSender([url], executor).send(MESSAGE)
    assert report == DeliveryReport(retryable=(url,))
    assert "exit code 1 and no report" in caplog.text
    (call,) = executor.calls
    assert url not in " ".join(call.arguments)  # the URLs go on stdin, not in `ps`
    assert call.input is not None and url in call.input


@pytest.mark.parametrize("text", ["", "not json", '{"delivered": []}', "[1, 2]"])
def test_an_unreadable_report_is_no_report(text: str) -> None:
    assert report_from_json(text, ["ntfy://h/t"]) is None


def test_a_report_naming_a_url_not_sent_to_is_no_report() -> None:
    sent = DeliveryReport(delivered=("ntfy://h/other",))
    assert report_from_json(report_to_json(sent), ["ntfy://h/t"]) is None
    kept = DeliveryReport(delivered=("ntfy://h/t",), rejected=("x://y",))
    assert report_from_json(report_to_json(kept), ["ntfy://h/t", "x://y"]) == kept
