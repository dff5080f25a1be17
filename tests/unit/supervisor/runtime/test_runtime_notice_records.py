"""Notifications by result, counted across daemon restarts, for /metrics and the status API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mediastack.config.schema import Supervisor
from mediastack.notify import Notification, NotificationQueue
from mediastack.notify.sender import DeliveryReport
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.notice_records import (
    NotificationsRecorder,
    notifications_record_path,
    read_notifications_record,
)
from mediastack.supervisor.web.metrics import render_metrics
from mediastack.supervisor.web.status_sources import StatusPaths, StatusReader

URL = "ntfy://127.0.0.1:9/alerts"


class OneFailure:
    """Delivers every message but the one titled "lost", which never gets through."""

    def send(self, notification: Notification, urls: Sequence[str] | None = None) -> DeliveryReport:
        if notification.title == "lost":
            return DeliveryReport(retryable=(URL,))
        return DeliveryReport(delivered=(URL,))


def send_all(state: Path, clock: FakeClock, *titles: str) -> None:
    recorder = NotificationsRecorder(notifications_record_path(state), clock)
    queue = NotificationQueue(
        OneFailure(), max_attempts=2, first_backoff_seconds=0, max_backoff_seconds=0,
        on_count=recorder,
    )  # fmt: skip
    for title in titles:
        queue.put(Notification(title, "body", 3))
    queue.close(timeout=10)


def test_each_result_is_counted_and_the_counts_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    state = tmp_path / "state.db"
    send_all(state, clock, "healed", "lost")
    send_all(state, clock, "updated")  # the next daemon's queue

    record = read_notifications_record(notifications_record_path(state)).record
    assert record is not None
    assert record.counts == {"delivered": 2, "failed": 1, "dropped": 0}


def test_the_counts_are_a_prometheus_counter_by_result(tmp_path: Path) -> None:
    clock = FakeClock()
    state = tmp_path / "state.db"
    send_all(state, clock, "healed", "lost")
    view = StatusReader(
        "home", StatusPaths(state, tmp_path / "backups", tmp_path / "rollbacks.json"),
        Supervisor(), clock, lambda path: {},
    )()  # fmt: skip
    text = render_metrics(view).decode()
    families = text_string_to_metric_families(text)
    (family,) = [found for found in families if found.name == "mediastack_notifications"]
    by_result = {sample.labels["result"]: sample.value for sample in family.samples
                 if sample.name == "mediastack_notifications_total"}  # fmt: skip
    assert by_result == {"delivered": 1, "failed": 1, "dropped": 0}
    assert view.to_json()["notifications"]["counts"]["failed"] == 1


def test_no_notification_yet_is_no_metric(tmp_path: Path) -> None:
    view = StatusReader(
        "home", StatusPaths(tmp_path / "s.db", tmp_path / "b", tmp_path / "r.json"),
        Supervisor(), FakeClock(), lambda path: {},
    )()  # fmt: skip
    assert "mediastack_notifications" not in render_metrics(view).decode()
