"""The monitor: one notification per failing streak, success clears it, retry timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediastack.adapters.qbittorrent import ListenPreferences
from mediastack.portsync import PortSyncMonitor, Problem, SyncOutcome, SyncStatus
from mediastack.portsync.outcome import failed

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=300)
BEFORE = ListenPreferences(6881, False, True)
AFTER = ListenPreferences(43210, False, False)


def unchanged() -> SyncOutcome:
    return SyncOutcome(SyncStatus.UNCHANGED, forwarded_port=43210, before=AFTER, after=AFTER)


def changed(before: ListenPreferences = BEFORE) -> SyncOutcome:
    return SyncOutcome(SyncStatus.CHANGED, forwarded_port=43210, before=before, after=AFTER)


def failure(problem: Problem) -> SyncOutcome:
    return failed(problem, f"{problem.value} happened", "do the fix")


@pytest.fixture
def monitor() -> PortSyncMonitor:
    return PortSyncMonitor(INTERVAL)


def test_a_healthy_sync_is_due_every_interval(monitor: PortSyncMonitor) -> None:
    assert monitor.is_due(START) and monitor.next_due() is None
    assert monitor.record(unchanged(), START) is None
    assert monitor.next_due() == START + INTERVAL
    assert not monitor.is_due(START + INTERVAL - timedelta(seconds=1))
    assert monitor.is_due(START + INTERVAL)


def test_a_written_change_is_a_low_priority_notice(monitor: PortSyncMonitor) -> None:
    notice = monitor.record(changed(), START)
    assert notice is not None
    assert notice.title == "Forwarded port changed" and notice.priority == 2
    assert "43210 (was port 6881)" in notice.body


def test_a_change_from_a_random_port_says_so(monitor: PortSyncMonitor) -> None:
    notice = monitor.record(changed(ListenPreferences(0, True, True)), START)
    assert notice is not None and "(was a random port)" in notice.body


def test_a_problem_needing_a_person_notifies_once_and_success_clears_it(
    monitor: PortSyncMonitor,
) -> None:
    first = monitor.record(failure(Problem.QBITTORRENT_LOGIN_FAILED), START)
    assert first is not None and first.title == "Port sync failing" and first.priority == 4
    assert "qbittorrent_login_failed happened" in first.body and "Fix: do the fix" in first.body
    for minutes in (5, 15, 35):
        later = START + timedelta(minutes=minutes)
        assert monitor.record(failure(Problem.QBITTORRENT_LOGIN_FAILED), later) is None
    recovered = monitor.record(unchanged(), START + timedelta(hours=1))
    assert recovered is not None and recovered.title == "Port sync works again"
    assert monitor.failing is None and monitor.consecutive_failures == 0
    assert monitor.record(unchanged(), START + timedelta(hours=2)) is None


def test_a_transient_problem_notifies_only_when_it_stays(monitor: PortSyncMonitor) -> None:
    assert monitor.record(failure(Problem.QBITTORRENT_UNREACHABLE), START) is None
    second = monitor.record(failure(Problem.QBITTORRENT_UNREACHABLE), START)
    assert second is not None and "qbittorrent_unreachable" in second.body
    assert monitor.record(failure(Problem.GLUETUN_UNREACHABLE), START) is None
    assert monitor.failing == Problem.GLUETUN_UNREACHABLE  # the latest reason is kept


def test_a_blip_makes_no_noise(monitor: PortSyncMonitor) -> None:
    assert monitor.record(failure(Problem.QBITTORRENT_UNREACHABLE), START) is None
    assert monitor.record(unchanged(), START + timedelta(seconds=30)) is None


def test_a_change_that_ends_a_reported_failure_says_both(monitor: PortSyncMonitor) -> None:
    monitor.record(failure(Problem.GLUETUN_UNAUTHORIZED), START)
    notice = monitor.record(changed(), START + timedelta(minutes=5))
    assert notice is not None and notice.title == "Forwarded port changed"
    assert "works again" in notice.body and notice.priority == 3


def test_transient_failures_are_retried_soon_then_every_interval(
    monitor: PortSyncMonitor,
) -> None:
    delays = []
    for _ in range(5):
        monitor.record(failure(Problem.QBITTORRENT_UNREACHABLE), START)
        delays.append(monitor.retry_delay().total_seconds())
    assert delays == [30, 60, 120, 240, 300]


def test_failures_needing_a_person_are_retried_slowly(monitor: PortSyncMonitor) -> None:
    delays = []
    for _ in range(8):
        monitor.record(failure(Problem.QBITTORRENT_LOGIN_FAILED), START)
        delays.append(monitor.retry_delay() / INTERVAL)
    assert delays == [1, 2, 4, 8, 16, 32, 64, 72]  # capped at 6 h
    assert monitor.next_due() == START + timedelta(hours=6)


def test_a_stop_is_not_a_failure(monitor: PortSyncMonitor) -> None:
    assert monitor.record(failed(Problem.STOPPED, "stopped"), START) is None
    assert monitor.failing is None and monitor.last_attempt is None


def test_naive_times_are_refused(monitor: PortSyncMonitor) -> None:
    with pytest.raises(ValueError, match="time zone"):
        monitor.record(unchanged(), datetime(2026, 1, 1))


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PortSyncMonitor(timedelta(0))
