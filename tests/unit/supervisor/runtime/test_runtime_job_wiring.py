"""Which background jobs the config switches on, their first scheduled times, and the
daemon's own answers where it does not import the jobs' modules (the same as theirs)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediastack.backup import next_backup_time
from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.config.schema import Supervisor
from mediastack.notify.message import Notification
from mediastack.portsync import Trigger
from mediastack.portsync.wiring import disabled_reason
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime import job_wiring
from mediastack.supervisor.runtime.heartbeat import Beat, format_beat, heartbeat_path
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import LogOnlyNotifier
from mediastack.supervisor.runtime.portsync_runner import SyncTrigger
from mediastack.supervisor.runtime.timers import cron_schedule
from mediastack.updates import UpdateSchedule
from mediastack.updates.webhook import WebhookServer
from support.push_monitors import HealthchecksStandIn


def loaded(text: str, tmp_path: Path) -> LoadedConfig:
    return LoadedConfig(config=parse_config(text), path=tmp_path / "mediastack.yaml")


def test_schedules_are_on_by_default(tmp_path: Path, clock: FakeClock) -> None:
    jobs = job_wiring.build_jobs(
        loaded("name: home\n", tmp_path), Inbox(), LogOnlyNotifier(), clock, {}
    )
    assert jobs.updates is not None and jobs.backups is not None
    assert jobs.backups.next_wakeup().isoformat() == "2026-01-02T04:30:00+00:00"
    assert jobs.next_wakeup() is not None
    update_at = jobs.updates.next_wakeup()
    assert update_at is not None and update_at.isoformat() == "2026-01-02T06:00:00+00:00"
    jobs.stop()


def test_switched_off_schedules_build_no_job(tmp_path: Path, clock: FakeClock) -> None:
    text = "name: home\nupdates:\n  scheduled: false\nbackups:\n  scheduled: false\n"
    jobs = job_wiring.build_jobs(loaded(text, tmp_path), Inbox(), LogOnlyNotifier(), clock, {})
    assert jobs.updates is None and jobs.backups is None


@pytest.mark.parametrize(
    "text",
    [
        "name: home\n",
        "name: home\nportsync:\n  enabled: false\n",
        "name: home\nvpn:\n  port_forwarding: false\n",
        "name: home\nservices:\n  qbittorrent:\n    enabled: false\n",
    ],
)
def test_port_sync_is_off_for_the_same_reasons_as_in_its_own_module(
    text: str, tmp_path: Path
) -> None:
    config = loaded(text, tmp_path)
    assert job_wiring.portsync_disabled_reason(config) == disabled_reason(config)


def test_the_daemons_sync_triggers_are_port_syncs_own() -> None:
    assert {trigger.value for trigger in SyncTrigger} == {trigger.value for trigger in Trigger}


def test_port_sync_gets_only_its_two_secrets(tmp_path: Path) -> None:
    environment = {"GLUETUN_API_KEY": "k", "QBITTORRENT_PASSWORD": "p", "OTHER": "x"}
    secrets = job_wiring.portsync_secrets(loaded("name: home\n", tmp_path), environment)
    assert secrets == {"GLUETUN_API_KEY": "k", "QBITTORRENT_PASSWORD": "p"}
    assert job_wiring.portsync_secrets(loaded("name: home\n", tmp_path), {}) == {}


@pytest.mark.parametrize("expression", ["0 6 * * *", "30 4 * * *", "*/15 2-3 * * 1-5", "0 0 1 * *"])
@pytest.mark.parametrize("timezone", ["Etc/UTC", "Europe/Berlin", "America/New_York"])
def test_the_daemons_cron_times_are_the_jobs_own(expression: str, timezone: str) -> None:
    """Across a year, daylight-saving changes included."""
    next_after = cron_schedule(expression, timezone)
    update = UpdateSchedule(expression, timezone)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(60):
        expected = next_backup_time(expression, moment, timezone)
        assert next_after(moment) == expected == update.next_after(moment)
        moment = expected + timedelta(days=5, minutes=7)


def test_an_expression_croniter_refuses_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid cron expression"):
        cron_schedule("61 * * * *", "Etc/UTC")


def test_the_daemon_reads_its_secrets_from_the_homelab_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the ops stack's container the secrets are not in the environment: the daemon reads
    the homelab's .env it mounts (measured: port sync had no qBittorrent password there)."""
    from mediastack.supervisor.runtime.wiring import daemon_secrets

    (tmp_path / ".env").write_text("QBITTORRENT_PASSWORD=from-env-file\nGLUETUN_API_KEY=k\n")
    monkeypatch.delenv("QBITTORRENT_PASSWORD", raising=False)
    monkeypatch.setenv("GLUETUN_API_KEY", "from-environment")
    secrets = job_wiring.portsync_secrets(
        loaded("name: home\n", tmp_path), daemon_secrets(loaded("name: home\n", tmp_path))
    )
    assert secrets == {
        "QBITTORRENT_PASSWORD": "from-env-file",
        "GLUETUN_API_KEY": "from-environment",
    }


def write_beat(state_file: Path, moment: datetime) -> None:
    path = heartbeat_path(state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_beat(Beat(moment, True, moment)), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CollectingNotifier(LogOnlyNotifier):
    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []

    def put(self, notification: Notification) -> bool:
        self.titles.append(notification.title)
        return True


def test_the_listener_serves_the_status_pages_by_default_and_stops_with_the_jobs(
    tmp_path: Path, clock: FakeClock
) -> None:
    text = (
        f"name: home\nupdates: {{scheduled: false, webhook: {{port: {free_port()}}}}}\n"
        "backups: {scheduled: false}\n"
    )
    jobs = job_wiring.build_jobs(loaded(text, tmp_path), Inbox(), LogOnlyNotifier(), clock, {})
    assert jobs.updates is None  # no schedule, no webhook: the pages alone
    assert jobs.listener is not None and jobs.listener.serves == "the status pages"
    jobs.start()
    try:
        server = jobs.listener._serving
        assert isinstance(server, WebhookServer)
        host, port = server.address
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.sendall(b"GET /health HTTP/1.1\r\n\r\n")
            assert connection.recv(64).startswith(b"HTTP/1.0 503")  # no daemon state here
    finally:
        jobs.stop()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()


def test_no_listener_when_both_the_pages_and_the_webhook_are_off(
    tmp_path: Path, clock: FakeClock
) -> None:
    jobs = job_wiring.build_jobs(
        loaded("name: home\nstatus: {enabled: false}\n", tmp_path),
        Inbox(), LogOnlyNotifier(), clock, {},
    )  # fmt: skip
    assert jobs.listener is None


def test_a_webhook_without_its_token_is_off_and_said_while_the_pages_are_served(
    tmp_path: Path, clock: FakeClock
) -> None:
    notifier = CollectingNotifier()
    text = f"name: home\nupdates:\n  webhook: {{enabled: true, port: {free_port()}}}\n"
    jobs = job_wiring.build_jobs(loaded(text, tmp_path), Inbox(), notifier, clock, {})
    assert jobs.listener is not None and jobs.listener.serves == "the status pages"
    assert notifier.titles == ["home: the update webhook is off"]


def test_push_pings_carry_the_health_verdict_from_the_daemons_files(
    tmp_path: Path, clock: FakeClock
) -> None:
    check = "5f1c7a2e-9b1d-4c3e-8f6a-0d2b4e6a8c10"
    text = "name: home\nstatus: {enabled: false}\n"
    with HealthchecksStandIn(uuids=(check,)) as monitor:
        environment = {"MEDIASTACK_PUSH_URLS": monitor.url(check)}
        jobs = job_wiring.build_jobs(loaded(text, tmp_path), Inbox(), LogOnlyNotifier(), clock,
                                     environment)  # fmt: skip
        assert jobs.push is not None
        # A heartbeat older than this process (the previous supervisor's): nothing is said.
        state = loaded(text, tmp_path).folder(Supervisor().state_file)
        write_beat(state, clock.now() - timedelta(minutes=5))
        assert jobs.push.run_once() == 0 and monitor.pings == []
        write_beat(state, clock.now())  # this process's loop turned
        jobs.start()
        try:
            deadline = time.monotonic() + 10
            while not monitor.pings and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            jobs.stop()
    (ping,) = monitor.pings
    # The fresh heartbeat says the loop turns and the stream is connected; no service is
    # known to be in trouble: the verdict is healthy.
    assert ping.action == "success"
    assert ping.body == "the supervisor and every service are healthy"


def test_a_push_url_that_cannot_be_used_is_said_and_the_daemon_runs_without(
    tmp_path: Path, clock: FakeClock
) -> None:
    notifier = CollectingNotifier()
    environment = {"MEDIASTACK_PUSH_URLS": "ftp://hc-ping.com/x"}
    jobs = job_wiring.build_jobs(loaded("name: home\n", tmp_path), Inbox(), notifier, clock,
                                 environment)  # fmt: skip
    assert jobs.push is None
    assert notifier.titles == ["home: push pings are off"]
