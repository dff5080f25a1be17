"""A job run in a child process, from the daemon's side: the request, the result, the
notifications and holds in between (a hold reaches the daemon before the child goes on, and
one left open by a dying child is ended), a crash and a stop. A scripted stand-in child for
the protocol; the real child for port sync (its memory carried between runs) and backups."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import mediastack
from mediastack.adapters.errors import AdapterError
from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.notify import Notification
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.backup_runner import BackupProcess, BackupStatus
from mediastack.supervisor.runtime.job_child import GLUETUN_URL_VARIABLE, QBITTORRENT_URL_VARIABLE
from mediastack.supervisor.runtime.job_process import (
    DaemonHandler,
    JobCrashed,
    JobProcess,
    JobStopped,
)
from mediastack.supervisor.runtime.job_protocol import JobName
from mediastack.supervisor.runtime.job_records import (
    PortSyncRecorder,
    portsync_record_path,
    read_portsync_record,
)
from mediastack.supervisor.runtime.messages import Inbox, MaintenanceEnded, MaintenanceStarted
from mediastack.supervisor.runtime.notices import LogOnlyNotifier
from mediastack.supervisor.runtime.portsync_runner import PortSyncProcess, SyncTrigger
from mediastack.supervisor.runtime.update_runner import UpdateProcess, UpdateSummary
from mediastack.updates import Source, UpdateRequest

SOURCE_ROOT = Path(mediastack.__file__).resolve().parents[1]

SCRIPTED_CHILD = """
import json, sys, time
request = json.loads(sys.stdin.readline())
steps = json.loads(sys.argv[1]) if len(sys.argv) > 1 else request["arguments"]["steps"]
for kind, value in steps:
    if kind == "send":
        print(json.dumps(value), flush=True)
    elif kind == "say":
        print(value, flush=True)
    elif kind == "ack":
        if sys.stdin.readline().strip() != "ack":
            sys.exit(5)
    elif kind == "sleep":
        time.sleep(value)
    elif kind == "exit":
        sys.exit(value)
    elif kind == "echo":
        result = {"name": request["config"]["name"], "verbose": request["verbose"]}
        print(json.dumps({"type": "result", "result": result}), flush=True)
"""
NOTE = {"title": "t", "body": "b", "priority": 3, "tags": ["x"]}
HOLD = {"services": ["gluetun", "sonarr"], "reason": "update of home-vpn/gluetun"}


@dataclass
class Recorder:
    """A MessageHandler that records what it was asked, in order."""

    seen: list[tuple[str, Any]] = field(default_factory=list)

    def notify(self, notification: Notification) -> None:
        self.seen.append(("notify", notification.title))

    def hold_started(self, services: tuple[str, ...], reason: str) -> None:
        self.seen.append(("hold", services))

    def hold_ended(self, services: tuple[str, ...], reason: str) -> None:
        self.seen.append(("release", services))


def loaded(tmp_path: Path, text: str = "name: home\n") -> LoadedConfig:
    return LoadedConfig(config=parse_config(text), path=tmp_path / "mediastack.yaml")


def scripted(tmp_path: Path) -> JobProcess:
    command = [sys.executable, "-c", SCRIPTED_CHILD]
    return JobProcess(JobName.BACKUP, loaded(tmp_path), verbose=True, command=command)


def test_the_child_gets_the_config_and_returns_its_result(tmp_path: Path) -> None:
    result = scripted(tmp_path).run({"steps": [["echo", None]]}, Recorder())
    assert result == {"name": "home", "verbose": True}


def test_notifications_and_holds_reach_the_daemon_in_order(tmp_path: Path) -> None:
    recorder = Recorder()
    steps = [
        ["send", {"type": "hold", **HOLD}],
        ["ack", None],  # the child waits here until the daemon has the hold
        ["send", {"type": "notify", "notification": NOTE}],
        ["send", {"type": "release", **HOLD}],
        ["echo", None],
    ]
    scripted(tmp_path).run({"steps": steps}, recorder)
    services = ("gluetun", "sonarr")
    assert recorder.seen == [("hold", services), ("notify", "t"), ("release", services)]


def test_a_hold_left_open_by_a_dying_child_is_ended(tmp_path: Path) -> None:
    recorder = Recorder()
    steps = [["send", {"type": "hold", **HOLD}], ["ack", None], ["exit", 3]]
    with pytest.raises(JobCrashed, match="exit code 3 and no result"):
        scripted(tmp_path).run({"steps": steps}, recorder)
    assert recorder.seen == [("hold", ("gluetun", "sonarr")), ("release", ("gluetun", "sonarr"))]


def test_an_unreadable_line_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steps = [["say", "not json"], ["say", '{"type": "gossip"}'], ["echo", None]]
    assert scripted(tmp_path).run({"steps": steps}, Recorder())["name"] == "home"
    assert caplog.text.count("said something unreadable") == 2


def test_a_child_ended_by_the_daemon_is_stopped_not_crashed(tmp_path: Path) -> None:
    process = scripted(tmp_path)
    threading.Timer(0.5, process.terminate).start()
    with pytest.raises(JobStopped):  # a sleep run to its end would return normally
        process.run({"steps": [["sleep", 30]]}, Recorder())
    process.terminate()  # nothing runs: nothing happens


def update_answering(
    tmp_path: Path, result: dict[str, Any], handler: Recorder | DaemonHandler
) -> UpdateProcess:
    """An UpdateProcess whose child holds, notifies, releases and gives ``result``."""
    steps = [
        ["send", {"type": "hold", **HOLD}],
        ["ack", None],
        ["send", {"type": "notify", "notification": NOTE}],
        ["send", {"type": "release", **HOLD}],
        ["send", {"type": "result", "result": result}],
    ]
    command = [sys.executable, "-c", SCRIPTED_CHILD, json.dumps(steps)]
    return UpdateProcess(JobProcess(JobName.UPDATE, loaded(tmp_path), command=command), handler)


def test_an_update_reports_its_summary_holds_and_notifications(tmp_path: Path) -> None:
    recorder = Recorder()
    result = {"checked": 4, "registry_requests": 4, "applied": 1}
    process = update_answering(tmp_path, result, recorder)
    assert process.handle(UpdateRequest(Source.WEBHOOK, frozenset({"sonarr"}))) == (
        UpdateSummary(checked=4, registry_requests=4, applied=1)
    )
    assert [kind for kind, _ in recorder.seen] == ["hold", "notify", "release"]


def test_the_daemon_gets_an_updates_hold_as_from_its_own_update_thread(tmp_path: Path) -> None:
    """The hold messages the loop acts on (the daemon's tests cover what follows)."""
    inbox = Inbox()
    process = update_answering(tmp_path, {"checked": 0, "registry_requests": 0, "applied": 0},
                               DaemonHandler(LogOnlyNotifier(), inbox))  # fmt: skip
    process.handle(UpdateRequest(Source.SCHEDULE))
    services, reason = ("gluetun", "sonarr"), HOLD["reason"]
    assert list(inbox.drain()) == [
        MaintenanceStarted(services, reason),
        MaintenanceEnded(services, reason),
    ]


def test_an_update_failure_and_crash_come_back_as_the_runner_knows_them(tmp_path: Path) -> None:
    failed = {"failed": {"message": "no registry", "fix": "check the network"}}
    with pytest.raises(AdapterError, match="no registry") as raised:
        update_answering(tmp_path, failed, Recorder()).handle(UpdateRequest(Source.SCHEDULE))
    assert raised.value.fix == "check the network"
    crashed = {"crashed": "KeyError('source')"}
    with pytest.raises(JobCrashed) as crash:
        update_answering(tmp_path, crashed, Recorder()).handle(UpdateRequest(Source.SCHEDULE))
    assert repr(crash.value) == "KeyError('source')"  # what job_crashed() puts in the notice


# -- the real child --------------------------------------------------------------------------


@pytest.fixture
def child_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real child imports this checkout's mediastack, like its daemon."""
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SOURCE_ROOT), path])))


PORTSYNC_CONFIG = "name: home\nportsync:\n  port_wait_seconds: 5\n"


@pytest.mark.usefixtures("child_environment")
def test_port_sync_carries_its_memory_from_one_child_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """Nothing listens on the gluetun URL: one failure is only logged (it may be a restart),
    the second in a row is notified, as by one long-lived job."""
    monkeypatch.setenv(GLUETUN_URL_VARIABLE, "http://127.0.0.1:9")
    monkeypatch.setenv(QBITTORRENT_URL_VARIABLE, "http://127.0.0.1:9")
    process = JobProcess(JobName.PORTSYNC, loaded(tmp_path, PORTSYNC_CONFIG))
    record_file = portsync_record_path(tmp_path / "supervisor.db")
    recorder = PortSyncRecorder(record_file, clock)
    job = PortSyncProcess(process, Recorder(), {}, clock, timedelta(minutes=5), recorder)

    assert job.run(SyncTrigger.START) is None
    first_due = job.next_due()
    assert first_due is not None  # the first retry: 30 s after the attempt
    second = job.run(SyncTrigger.TIMER)
    assert second is not None and second.title == "Port sync failing"
    due = job.next_due()
    assert due is not None and first_due < due
    record = read_portsync_record(record_file).record  # kept for the status pages
    assert record is not None and record.problem == "gluetun_unreachable"
    assert record.runs["failed"] == 2 and record.forwarded_port is None


@pytest.mark.usefixtures("child_environment")
def test_a_stopped_port_sync_is_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setenv(GLUETUN_URL_VARIABLE, "http://127.0.0.1:9")
    config = "name: home\nportsync:\n  port_wait_seconds: 60\n"
    process = JobProcess(JobName.PORTSYNC, loaded(tmp_path, config))
    job = PortSyncProcess(process, Recorder(), {}, clock, timedelta(minutes=5))
    threading.Timer(3, job.interrupt).start()  # after its imports: the wait is ended
    assert job.run(SyncTrigger.START) is None
    # a stopped sync is no attempt (a wait run to its end would have left a retry due)
    assert job.next_due() is None


@pytest.mark.usefixtures("child_environment")
def test_a_backup_child_reports_a_failure_with_its_fix(tmp_path: Path) -> None:
    """The backups folder is a file: the backup fails, and says how to fix it."""
    (tmp_path / "backups").write_text("not a folder")
    process = JobProcess(JobName.BACKUP, loaded(tmp_path))
    outcome = BackupProcess(process, Recorder())()
    assert outcome.status is BackupStatus.FAILED, outcome
    assert outcome.message and outcome.fix


@pytest.mark.usefixtures("child_environment")
def test_an_update_child_reports_what_keeps_it_from_running(tmp_path: Path) -> None:
    """Nothing is rendered (or no engine answers): the update fails, with a fix; nothing is
    held."""
    recorder = Recorder()
    process = UpdateProcess(JobProcess(JobName.UPDATE, loaded(tmp_path)), recorder)
    with pytest.raises(AdapterError) as raised:
        process.handle(UpdateRequest(Source.SCHEDULE))
    assert raised.value.fix and recorder.seen == []


def test_the_request_is_json_the_child_can_read(tmp_path: Path) -> None:
    """The config crosses as ``model_dump(mode="json")`` and comes back equal."""
    from mediastack.config import Config

    config = loaded(tmp_path, "name: home\nportsync:\n  interval_seconds: 60\n").config
    assert Config.model_validate(json.loads(json.dumps(config.model_dump(mode="json")))) == config


# -- the whole process group ends ------------------------------------------------------------

GRANDPARENT_CHILD = """
import json, subprocess, sys, time
request = json.loads(sys.stdin.readline())
grandchild = subprocess.Popen(["sleep", "1000"], stdout=subprocess.DEVNULL)
with open(request["arguments"]["pids"], "w") as pids:
    pids.write(str(grandchild.pid))
if request["arguments"]["then"] == "wait":
    time.sleep(1000)
print(json.dumps({"type": "result", "result": {"done": True}}), flush=True)
"""


def grandparent(tmp_path: Path) -> JobProcess:
    command = [sys.executable, "-c", GRANDPARENT_CHILD]
    return JobProcess(JobName.UPDATE, loaded(tmp_path), command=command)


def ended(pid: int) -> bool:
    """Wait (a few seconds at most) for ``pid`` to end (a zombie counts as ended)."""
    for _ in range(100):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_reaches_what_the_child_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    process = grandparent(tmp_path)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            process.run({"pids": str(pids), "then": "wait"}, Recorder())
        except JobStopped as stopped:
            outcome.append(stopped)

    thread = threading.Thread(target=run)
    thread.start()
    while not pids.exists() or not pids.read_text():
        time.sleep(0.02)
    process.terminate()
    thread.join(10)
    assert not thread.is_alive() and outcome
    assert ended(int(pids.read_text()))


def test_what_a_finished_child_left_running_is_ended(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    assert grandparent(tmp_path).run({"pids": str(pids), "then": "exit"}, Recorder()) == {
        "done": True
    }
    assert ended(int(pids.read_text()))


def test_no_run_starts_once_the_job_was_terminated(tmp_path: Path) -> None:
    process = scripted(tmp_path)
    process.terminate()
    with pytest.raises(JobStopped):
        process.run({"steps": [["echo", None]]}, Recorder())


@pytest.mark.usefixtures("child_environment")
def test_a_backup_stopped_by_sigterm_leaves_no_partial_archive(tmp_path: Path) -> None:
    """The real backup child, on a small tree made slow to compress (random bytes, zstd's
    highest level): SIGTERM while its partial archive is being written; the child removes
    it, and its work folder, before it exits."""
    app = tmp_path / "config" / "sonarr"
    app.mkdir(parents=True)
    (app / "config.xml").write_text("<Config/>")
    (app / "large.bin").write_bytes(os.urandom(24 * 1024 * 1024))
    backups = tmp_path / "backups"
    backups.mkdir()
    config = "name: home\nbackups:\n  compression_level: 19\n"
    process = JobProcess(JobName.BACKUP, loaded(tmp_path, config))
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(BackupProcess(process, Recorder())())
        except JobStopped as stopped:
            outcome.append(stopped)

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(2000):  # until the partial archive is there
        if any(path.name.endswith(".partial") for path in backups.iterdir()):
            break
        time.sleep(0.005)
    seen_while_writing = sorted(path.name for path in backups.iterdir())
    process.terminate()
    thread.join(60)
    assert not thread.is_alive()
    assert any(name.endswith(".partial") for name in seen_while_writing), seen_while_writing
    assert [type(found) for found in outcome] == [JobStopped]
    left = sorted(path.name for path in backups.iterdir())
    assert left == [".mediastack-backup.lock"]  # no archive, partial file or work folder
