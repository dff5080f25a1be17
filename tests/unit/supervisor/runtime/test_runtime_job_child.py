"""A job run's process, from its own side (in this process): the protocol's lines, the port
sync monitor's memory handed across, the update's hold over the pipes, a crash reported, and
the backup's outcomes."""

from __future__ import annotations

import io
import signal
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mediastack.backup import BackupBusyError, BackupError
from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.notify import Notification
from mediastack.portsync import PortSyncMonitor, Problem
from mediastack.supervisor.runtime import job_child
from mediastack.supervisor.runtime.job_child import (
    Channel,
    ParentGone,
    PipeHold,
    monitor_state,
    restore_monitor,
    run_job,
)
from mediastack.supervisor.runtime.job_protocol import (
    HoldEnded,
    HoldStarted,
    JobRequest,
    Notify,
    ProtocolError,
    Result,
    decode_message,
    encode_message,
)

MOMENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_every_message_survives_its_line() -> None:
    messages = [
        Notify(Notification("title", "body", 4, ("warning", "x"))),
        HoldStarted(("gluetun", "sonarr"), "update of home-vpn/gluetun"),
        HoldEnded(("gluetun",), "update"),
        Result({"checked": 3, "nested": {"a": [1, None]}}),
    ]
    for message in messages:
        line = encode_message(message)
        assert "\n" not in line and decode_message(line) == message


@pytest.mark.parametrize(
    "line",
    ["", "[]", '{"type": "hold"}', '{"type": "hold", "services": "gluetun", "reason": "r"}'],
)
def test_a_line_that_is_no_message_is_refused(line: str) -> None:
    with pytest.raises(ProtocolError):
        decode_message(line)


def test_the_request_survives_its_line() -> None:
    request = JobRequest({"name": "home"}, "/h/mediastack.yaml", True, {"trigger": "start"})
    assert JobRequest.decode(request.encode()) == request
    with pytest.raises(ProtocolError):
        JobRequest.decode('{"config": {}}')


def test_the_monitors_memory_crosses_processes_unchanged() -> None:
    monitor = PortSyncMonitor(timedelta(minutes=5))
    monitor.failing = Problem.GLUETUN_UNREACHABLE
    monitor.consecutive_failures = 3
    monitor.notified_failure = True
    monitor.last_attempt = MOMENT
    fresh = PortSyncMonitor(timedelta(minutes=5))
    restore_monitor(fresh, monitor_state(monitor))
    assert vars(fresh) == vars(monitor)
    assert fresh.next_due() == monitor.next_due()
    untouched = PortSyncMonitor(timedelta(minutes=5))
    restore_monitor(untouched, None)  # the first sync: nothing to remember
    assert vars(untouched) == vars(PortSyncMonitor(timedelta(minutes=5)))


def test_a_hold_waits_for_the_daemon_and_always_ends() -> None:
    sent = io.StringIO()
    hold = PipeHold(Channel(sent, io.StringIO("ack\n")))
    with pytest.raises(RuntimeError), hold.hold(["gluetun"], "update of home-vpn/gluetun"):
        raise RuntimeError("the update failed")
    lines = [decode_message(line) for line in sent.getvalue().splitlines()]
    assert lines == [
        HoldStarted(("gluetun",), "update of home-vpn/gluetun"),
        HoldEnded(("gluetun",), "update of home-vpn/gluetun"),
    ]


def test_no_hold_without_a_daemon_to_hold_for() -> None:
    hold = PipeHold(Channel(io.StringIO(), io.StringIO("")))
    with pytest.raises(ParentGone), hold.hold(["gluetun"], "update"):
        pytest.fail("the update must not start")


def loaded(tmp_path: Path) -> LoadedConfig:
    return LoadedConfig(config=parse_config("name: home\n"), path=tmp_path / "mediastack.yaml")


def test_a_crash_is_reported_with_what_was_raised(tmp_path: Path) -> None:
    def crashing(
        loaded: LoadedConfig, arguments: Mapping[str, Any], channel: Channel
    ) -> Mapping[str, Any]:
        raise KeyError("trigger")

    channel = Channel(io.StringIO(), io.StringIO())
    assert run_job(crashing, loaded(tmp_path), {}, channel) == {"crashed": "KeyError('trigger')"}


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (None, {"status": "written", "message": "SUMMARY"}),
        (BackupBusyError("another one runs"), {"status": "skipped", "message": "another one runs"}),
        (
            BackupError("disk full", "free space"),
            {"status": "failed", "message": "disk full", "fix": "free space"},
        ),
    ],
)
def test_the_backups_outcomes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    raised: BackupError | None,
    expected: dict[str, str],
) -> None:
    class Written:
        def summary(self) -> str:
            return "SUMMARY"

    def run_backup(loaded: LoadedConfig) -> Written:
        if raised is not None:
            raise raised
        return Written()

    monkeypatch.setattr("mediastack.backup.run_backup", run_backup)
    channel = Channel(io.StringIO(), io.StringIO())
    assert job_child.backup(loaded(tmp_path), {}, channel) == expected


def test_an_update_step_is_in_the_log_a_rollback_as_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mediastack.catalogue import Stack
    from mediastack.updates import Stage, UpdateEvent
    from mediastack.updates.model import ServiceKey

    key = ServiceKey(Stack.VPN, "home-vpn", "sonarr")
    caplog.set_level("INFO", logger="mediastack.supervisor")
    job_child.log_update_event(UpdateEvent(Stage.UPDATED, key, "sonarr runs x and is healthy."))
    job_child.log_update_event(
        UpdateEvent(Stage.ROLLED_BACK, key, "sonarr was not healthy on x; rolled back.",
                    details=("sonarr: unhealthy", "timed out"))
    )  # fmt: skip
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("INFO", "update updated: sonarr runs x and is healthy."),
        ("WARNING", "update rolled_back: sonarr was not healthy on x; rolled back. "
                    "(sonarr: unhealthy; timed out)"),
    ]  # fmt: skip


def test_sigterm_in_an_update_child_asks_it_to_finish_not_to_die(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The update child's SIGTERM handler requests the stop its executor and applier honour
    (finish the service, skip the rest); the process goes on."""
    from mediastack.supervisor.runtime import job_child
    from mediastack.supervisor.runtime.job_protocol import JobName
    from mediastack.updates.stopping import UpdateStop

    fresh = UpdateStop(45.0, 30.0)
    monkeypatch.setattr(job_child, "_update_stop", fresh)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        job_child.install_stop_handler(JobName.UPDATE)
        signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert fresh.requested
    assert fresh.deadline() is not None
