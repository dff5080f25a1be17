"""The jobs' records for the status pages: port sync's last outcome and running counts, the
wiring links; written atomically by the daemon's runners, read back without ever raising."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mediastack.links.link import LinkStatus
from mediastack.portsync import SyncStatus
from mediastack.portsync.outcome import Problem, SyncOutcome, failed
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.job_process import DaemonHandler, MessageHandler
from mediastack.supervisor.runtime.job_records import (
    LINK_STATES,
    SYNC_RESULTS,
    PortSyncRecorder,
    RestartCounter,
    WiringRecorder,
    portsync_record_path,
    read_portsync_record,
    read_restarts_record,
    read_wiring_record,
    restarts_record_path,
    wiring_record_path,
    write_record,
)
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import LogOnlyNotifier
from mediastack.supervisor.runtime.portsync_runner import PortSyncProcess, SyncTrigger
from mediastack.supervisor.runtime.wire_notices import LinkRecord
from mediastack.supervisor.runtime.wire_runner import WireRun, WireRunner, WireTrigger
from mediastack.supervisor.runtime.workers import InlineWorker

STATE = "supervisor.db"
BROKEN = LinkRecord("recyclarr", "recyclarr:profiles", "TRaSH profiles", "broken", "exit 1")
OK = LinkRecord("sonarr", "sonarr:client", "qBittorrent download client", "ok")


def test_the_records_sit_next_to_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / STATE
    assert portsync_record_path(state) == tmp_path / "supervisor.db.portsync.json"
    assert restarts_record_path(state) == tmp_path / "supervisor.db.restarts.json"
    assert wiring_record_path(state) == tmp_path / "supervisor.db.wiring.json"


def test_the_constants_follow_the_enums_the_daemon_does_not_import() -> None:
    assert set(LINK_STATES) == {status.value for status in LinkStatus}
    assert set(SYNC_RESULTS) == {status.value for status in SyncStatus} - {"would_change"}


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "record.json"
    assert write_record(path, {"a": 1})
    assert write_record(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [entry.name for entry in path.parent.iterdir()] == ["record.json"]


def test_a_failed_write_is_logged_and_keeps_the_previous_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "record.json"
    write_record(path, {"a": 1})
    with caplog.at_level(logging.WARNING):
        assert not write_record(path, {"a": object()})  # fails half-way through the write
    assert json.loads(path.read_text()) == {"a": 1}
    assert "could not write" in caplog.text
    assert [entry.name for entry in tmp_path.iterdir()] == ["record.json"]


def test_a_write_into_a_file_where_the_folder_should_be_is_logged_not_raised(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").write_text("a file")
    assert not write_record(tmp_path / "state" / "record.json", {"a": 1})


def outcome_json(outcome: SyncOutcome) -> dict[str, Any]:
    return outcome.as_json()


def test_port_sync_runs_are_counted_by_result_across_daemon_restarts(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = portsync_record_path(tmp_path / STATE)
    PortSyncRecorder(path, clock).record(outcome_json(SyncOutcome(SyncStatus.CHANGED, 51413)))
    clock.advance(60)
    restarted = PortSyncRecorder(path, clock)  # a new daemon reads the counts back
    restarted.record(outcome_json(failed(Problem.GLUETUN_UNREACHABLE, "no answer")))
    restarted.record(outcome_json(failed(Problem.STOPPED, "stopping")))  # not an attempt

    record = read_portsync_record(path).record

    assert record is not None
    assert record.runs == {"changed": 1, "unchanged": 0, "failed": 1}
    assert record.status == "failed" and record.problem == "gluetun_unreachable"
    assert record.forwarded_port is None
    assert record.finished_at == clock.now()


def test_an_outcome_not_understood_is_logged_and_writes_nothing(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    path = portsync_record_path(tmp_path / STATE)
    with caplog.at_level(logging.WARNING):
        PortSyncRecorder(path, clock).record({"forwarded_port": "many"})
    assert not path.exists()
    assert "not understood" in caplog.text


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{not json", "not JSON"), ("[1, 2]", "not a JSON object"), ('{"status": 1}', "not a")],
)
def test_an_unreadable_record_is_a_problem_never_an_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    for path in (portsync_record_path(tmp_path / STATE), wiring_record_path(tmp_path / STATE)):
        path.write_text(content)
        read = read_portsync_record(path) if "portsync" in path.name else read_wiring_record(path)
        assert read.record is None
        assert read.problem is not None and problem in read.problem


def test_a_missing_record_is_not_known_without_a_problem(tmp_path: Path) -> None:
    read = read_wiring_record(wiring_record_path(tmp_path / STATE))
    assert read.record is None and read.problem is None


# -- the runners write them -------------------------------------------------------------------


class AnsweringProcess:
    """A JobProcess answering one port sync child's result."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload

    def run(self, arguments: Mapping[str, Any], handler: MessageHandler) -> Mapping[str, Any]:
        return self.payload


def sync_payload(outcome: Mapping[str, Any] | None) -> dict[str, Any]:
    memory = {"failing": None, "consecutive_failures": 0, "notified_failure": False,
              "last_attempt": None}  # fmt: skip
    payload: dict[str, Any] = {"notification": None, "monitor": memory, "next_due": None}
    if outcome is not None:
        payload["outcome"] = outcome
    return payload


def port_sync_process(
    answer: Mapping[str, Any], recorder: PortSyncRecorder, clock: FakeClock
) -> PortSyncProcess:
    process: Any = AnsweringProcess(answer)  # stands in for the JobProcess and its child
    handler = DaemonHandler(LogOnlyNotifier(), Inbox())
    return PortSyncProcess(process, handler, {}, clock, timedelta(minutes=5), recorder)


def test_the_port_sync_process_records_each_outcome_its_child_answers(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = portsync_record_path(tmp_path / STATE)
    answer = sync_payload(outcome_json(SyncOutcome(SyncStatus.UNCHANGED, 6881)))
    job = port_sync_process(answer, PortSyncRecorder(path, clock), clock)

    job.run(SyncTrigger.START)

    record = read_portsync_record(path).record
    assert record is not None and record.forwarded_port == 6881 and record.status == "unchanged"


def test_an_older_child_without_an_outcome_records_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = portsync_record_path(tmp_path / STATE)
    job = port_sync_process(sync_payload(None), PortSyncRecorder(path, clock), clock)
    job.run(SyncTrigger.START)
    assert not path.exists()


class OneWire:
    def run(self, trigger: WireTrigger) -> WireRun | None:
        return WireRun((OK, BROKEN), "1 ok, 1 broken")

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_wire_runner_records_each_runs_links(tmp_path: Path, clock: FakeClock) -> None:
    path = wiring_record_path(tmp_path / STATE)
    runner = WireRunner(
        OneWire(), InlineWorker(), LogOnlyNotifier(), Inbox(), "home", clock,
        timedelta(minutes=5), recorder=WiringRecorder(path, clock),
    )  # fmt: skip

    runner.trigger(WireTrigger.TIMER)

    record = read_wiring_record(path).record
    assert record is not None
    assert record.links == (OK, BROKEN) and record.summary == "1 ok, 1 broken"
    assert record.by_state()["broken"] == 1 and record.by_state()["waiting"] == 0


def test_a_wiring_record_that_cannot_be_written_does_not_stop_the_run(
    tmp_path: Path, clock: FakeClock
) -> None:
    (tmp_path / "state").write_text("a file")
    sink = LogOnlyNotifier()
    runner = WireRunner(
        OneWire(), InlineWorker(), sink, Inbox(), "home", clock, timedelta(minutes=5),
        recorder=WiringRecorder(wiring_record_path(tmp_path / "state" / STATE), clock),
    )  # fmt: skip
    runner.trigger(WireTrigger.TIMER)  # does not raise
    assert runner.next_wakeup() == clock.now() + timedelta(minutes=5)


def test_restarts_are_counted_by_container_and_bounded_reason_across_daemon_restarts(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = restarts_record_path(tmp_path / STATE)
    RestartCounter(path, clock).count("home-vpn-sonarr-1", "unhealthy 95s")
    clock.advance(3600)
    again = RestartCounter(path, clock)  # a new daemon reads the counts back
    again.count("home-vpn-sonarr-1", "unhealthy 31s")
    again.count("home-media-plex-1", "something new")

    record = read_restarts_record(path).record

    assert record is not None and record.last_at == clock.now()
    assert record.counts == {
        ("home-vpn-sonarr-1", "unhealthy"): 2,
        ("home-media-plex-1", "other"): 1,
    }


def test_an_unreadable_restarts_record_is_a_problem(tmp_path: Path) -> None:
    path = restarts_record_path(tmp_path / STATE)
    path.write_text('{"restarts": [{"service": "x"}], "last_at": null}')
    read = read_restarts_record(path)
    assert read.record is None and read.problem is not None
