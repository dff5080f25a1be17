"""The heartbeat: the healthcheck's verdict (pure, on an injected clock), the file the daemon's
loop writes on its turns and on the stream's changes, an idle loop that still turns, and
``supervise --check`` saying why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from runtime_support import Harness, build_harness
from test_runtime_report import invoke

from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.heartbeat import (
    HEARTBEAT_INTERVAL,
    Beat,
    HeartbeatFile,
    assess,
    format_beat,
    healthy_until,
    heartbeat_path,
    parse_beat,
    read_beat,
)
from mediastack.supervisor.runtime.instance import lock_state_file
from mediastack.supervisor.runtime.messages import StopRequested, StreamLost

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def seconds_ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


# -- the verdict ---------------------------------------------------------------------------


def test_a_fresh_beat_with_the_stream_connected_is_healthy() -> None:
    verdict = assess(Beat(seconds_ago(5), True, seconds_ago(600)), NOW, running=True)
    assert verdict.healthy
    assert "connected since 2026-01-01 11:50:00 UTC" in verdict.reason


def test_a_stale_beat_means_the_loop_is_not_turning() -> None:
    verdict = assess(Beat(seconds_ago(50), True, seconds_ago(600)), NOW, running=True)
    assert not verdict.healthy
    assert "the loop is not turning" in verdict.reason
    assert "11:59:10 UTC (50 s ago)" in verdict.reason


def test_a_stream_lost_for_200_s_is_unhealthy() -> None:
    verdict = assess(Beat(seconds_ago(5), False, seconds_ago(200)), NOW)
    assert not verdict.healthy
    assert verdict.reason.startswith("the event stream is not connected since")
    assert "(200 s ago)" in verdict.reason


def test_a_stream_lost_for_10_s_is_a_reconnect_and_still_healthy() -> None:
    assert assess(Beat(seconds_ago(5), False, seconds_ago(10)), NOW).healthy


def test_no_heartbeat_or_no_lock_holder_means_not_running() -> None:
    assert assess(None, NOW).reason == "no heartbeat: the supervisor is not running"
    stopped = assess(Beat(seconds_ago(5), True, seconds_ago(9)), NOW, running=False)
    assert not stopped.healthy
    assert stopped.reason.startswith("no supervisor is running (last heartbeat")


def test_the_files_first_line_is_the_end_of_health_the_verdict_uses() -> None:
    for beat in (Beat(NOW, True, seconds_ago(600)), Beat(NOW, False, seconds_ago(100))):
        text = format_beat(beat)
        assert parse_beat(text) == beat
        until = datetime.fromtimestamp(int(text.splitlines()[0]), UTC)
        assert until == healthy_until(beat)
        assert assess(beat, until - timedelta(seconds=1)).healthy
        assert not assess(beat, until).healthy
    assert healthy_until(Beat(NOW, False, seconds_ago(100))) == NOW + timedelta(seconds=20)


def test_a_garbled_heartbeat_is_none(tmp_path: Path) -> None:
    (tmp_path / "beat").write_text("123\nstream=maybe\n")
    assert read_beat(tmp_path / "beat") is None
    assert read_beat(tmp_path / "missing") is None


# -- the daemon writes it ------------------------------------------------------------------


@pytest.fixture
def beating(tmp_path: Path, clock: FakeClock) -> tuple[Harness, Path]:
    path = heartbeat_path(tmp_path / "state.db")
    return build_harness(tmp_path, clock, heartbeat=HeartbeatFile(path)), path


def beat_in(path: Path) -> Beat:
    beat = read_beat(path)
    assert beat is not None
    return beat


def test_the_stream_connecting_and_lost_are_written_at_once(
    beating: tuple[Harness, Path], clock: FakeClock
) -> None:
    harness, path = beating
    harness.connect()
    assert beat_in(path) == Beat(clock.now(), True, clock.now())
    lost_at = clock.advance(3)
    harness.feed(StreamLost("connection reset", 0.5))
    assert beat_in(path) == Beat(lost_at, False, lost_at)
    clock.advance(100)
    harness.feed(StreamLost("connection refused", 30.0))  # a failed retry: still lost since then
    assert beat_in(path).stream_since == lost_at
    assert not assess(beat_in(path), clock.advance(20)).healthy
    harness.connect()
    assert assess(beat_in(path), clock.now()).healthy


def test_each_loop_turn_writes_a_due_heartbeat(
    beating: tuple[Harness, Path], clock: FakeClock
) -> None:
    harness, path = beating
    harness.connect()
    connected_at = clock.now()
    turned_at = clock.advance(HEARTBEAT_INTERVAL)
    harness.inbox.put(StopRequested("test"))
    harness.daemon.run()  # one turn: the stop request, then the heartbeat, then the shutdown
    assert beat_in(path) == Beat(turned_at, True, connected_at)


def test_an_idle_daemon_wakes_up_within_a_heartbeat_interval(
    beating: tuple[Harness, Path], clock: FakeClock
) -> None:
    harness, _ = beating
    harness.connect()
    assert harness.daemon.settled  # nothing in flight: only the heartbeat wakes it
    wakeup = harness.daemon.next_wakeup()
    assert wakeup is not None
    assert wakeup <= clock.now() + HEARTBEAT_INTERVAL


def test_a_daemon_that_never_reaches_the_engine_turns_unhealthy(
    beating: tuple[Harness, Path], clock: FakeClock
) -> None:
    harness, path = beating
    harness.inbox.put(StreamLost("connection refused", 0.5))
    harness.inbox.put(StopRequested("test"))
    harness.daemon.run()
    started = beat_in(path).stream_since
    assert assess(beat_in(path), started + timedelta(seconds=10)).healthy
    assert not assess(beat_in(path), started + timedelta(seconds=130)).healthy


# -- supervise --check -----------------------------------------------------------------


def write_beat(state_file: Path, beat: Beat) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    heartbeat_path(state_file).write_text(format_beat(beat))


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "mediastack.yaml"
    path.write_text("name: home\n")
    return path


def check(config_path: Path) -> tuple[int, str]:
    return invoke(config_path, "supervise", "--check")


def test_check_fails_with_the_reason_when_the_running_loop_is_stale(config_path: Path) -> None:
    state_file = config_path.parent / ".mediastack" / "supervisor.db"
    now = datetime.now(UTC)  # the command reads the real clock
    write_beat(state_file, Beat(now - timedelta(minutes=5), True, now - timedelta(hours=1)))
    with lock_state_file(state_file):  # a supervisor holds the lock: the old check said healthy
        code, output = check(config_path)
    assert code == 1
    assert "the loop is not turning" in output


def test_check_passes_on_a_fresh_heartbeat_and_fails_without_one(config_path: Path) -> None:
    code, output = check(config_path)
    assert code == 1
    assert "no heartbeat" in output
    state_file = config_path.parent / ".mediastack" / "supervisor.db"
    now = datetime.now(UTC)
    write_beat(state_file, Beat(now, True, now - timedelta(minutes=1)))
    with lock_state_file(state_file):
        code, output = check(config_path)
    assert code == 0, output
    assert "healthy" in output
