"""Endpoints, credentials and applicability from a config; the supervisor's job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from portsync_support import FakeGluetun, FakeStore

from mediastack.adapters.gluetun import GluetunNotRunningError
from mediastack.adapters.qbittorrent import ListenPreferences
from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.portsync import PortSyncJob, Problem, SyncStatus, Trigger
from mediastack.portsync.wiring import (
    Endpoints,
    disabled_reason,
    host_endpoints,
    qbittorrent_webui_port,
    read_credentials,
    supervisor_endpoints,
)
from mediastack.supervisor.clock import FakeClock


def loaded(text: str = "name: home\n", folder: Path = Path("/srv/home")) -> LoadedConfig:
    return LoadedConfig(config=parse_config(text), path=folder / "mediastack.yaml")


def test_the_supervisor_reaches_both_by_service_name() -> None:
    assert supervisor_endpoints(loaded()) == Endpoints("http://gluetun:8000", "http://gluetun:8080")
    custom = loaded("vpn: {control_server_port: 9000}\n")
    assert supervisor_endpoints(custom).gluetun_url == "http://gluetun:9000"


def test_qbittorrent_is_reached_on_its_own_webui_port() -> None:
    # Not a published port mapped to another: qBittorrent answers 401 to a foreign Host port.
    assert qbittorrent_webui_port() == 8080


def test_the_host_asks_the_engine_for_gluetuns_address() -> None:
    asked: list[tuple[str, str]] = []

    def find(project: str, network: str) -> str:
        asked.append((project, network))
        return "172.18.0.2"

    endpoints = host_endpoints(loaded(), find_address=find)
    assert endpoints == Endpoints("http://172.18.0.2:8000", "http://172.18.0.2:8080")
    assert asked == [("home-vpn", "homelab_media_network")]


def test_given_urls_need_no_engine() -> None:
    def find(project: str, network: str) -> str:
        raise AssertionError("the engine must not be asked")

    endpoints = host_endpoints(loaded(), "http://127.0.0.1:1", "http://127.0.0.1:2", find)
    assert endpoints == Endpoints("http://127.0.0.1:1", "http://127.0.0.1:2")


def test_one_given_url_is_kept_and_the_other_found() -> None:
    endpoints = host_endpoints(loaded(), "http://127.0.0.1:1", None, lambda _p, _n: "fd00::5")
    assert endpoints == Endpoints("http://127.0.0.1:1", "http://[fd00::5]:8080")


def test_a_missing_gluetun_is_the_lookups_error() -> None:
    def find(project: str, network: str) -> str:
        raise GluetunNotRunningError("no running gluetun")

    with pytest.raises(GluetunNotRunningError):
        host_endpoints(loaded(), find_address=find)


def test_credentials_come_from_the_named_variables() -> None:
    config = loaded(
        "vpn: {api_key_variable: MY_KEY}\n"
        "portsync: {qbittorrent_username: me, qbittorrent_password_variable: MY_PASSWORD}\n"
    )
    credentials = read_credentials(config, {"MY_KEY": "k", "MY_PASSWORD": "p", "OTHER": "x"})
    assert (credentials.gluetun_api_key, credentials.qbittorrent_username) == ("k", "me")
    assert credentials.qbittorrent_password == "p"
    assert "p'" not in repr(credentials) and "'k'" not in repr(credentials)


def test_unset_secrets_read_as_empty() -> None:
    credentials = read_credentials(loaded(), {})
    assert (credentials.gluetun_api_key, credentials.qbittorrent_password) == ("", "")
    assert credentials.qbittorrent_username == "admin"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("portsync: {enabled: false}\n", "portsync.enabled: false"),
        ("vpn: {port_forwarding: false}\n", "vpn.port_forwarding: false"),
        ("services: {qbittorrent: {enabled: false}}\n", "services.qbittorrent.enabled: false"),
    ],
)
def test_when_port_sync_does_not_apply(text: str, reason: str) -> None:
    found = disabled_reason(loaded(text))
    assert found is not None and reason in found


def test_port_sync_applies_by_default() -> None:
    assert disabled_reason(loaded()) is None


def make_job(gluetun: FakeGluetun, store: FakeStore, clock: FakeClock) -> PortSyncJob:
    def wait(seconds: float) -> bool:
        clock.advance(seconds)
        return False  # never asked to stop

    return PortSyncJob(
        gluetun,
        store,
        interval=timedelta(seconds=300),
        port_wait_seconds=5,
        clock=clock,
        wait=wait,
    )


def test_the_job_syncs_notifies_and_schedules() -> None:
    clock, store = FakeClock(), FakeStore()
    job = make_job(FakeGluetun([(43210,)]), store, clock)
    assert job.is_due()
    result = job.run(Trigger.START)
    assert result.outcome.status == SyncStatus.CHANGED and result.trigger == Trigger.START
    assert result.notification is not None and result.notification.priority == 2
    assert store.current == ListenPreferences(43210, False, False)
    assert not job.is_due()
    clock.advance(300)
    assert job.is_due()
    assert job.run(Trigger.TIMER).notification is None  # unchanged: silent


def test_a_bug_in_a_client_is_a_failed_outcome_not_a_crash() -> None:
    class Broken(FakeStore):
        def read_preferences(self) -> ListenPreferences:
            raise KeyError("surprise")

    job = make_job(FakeGluetun([(43210,)]), Broken(), FakeClock())
    result = job.run(Trigger.GLUETUN_RESTARTED)
    assert result.outcome.problem == Problem.INTERNAL_ERROR
    assert "KeyError" in (result.outcome.reason or "")


def test_the_supervisors_job_is_built_from_the_config() -> None:
    job = PortSyncJob.for_supervisor(
        loaded("portsync: {interval_seconds: 600, port_wait_seconds: 30}\n"),
        {"GLUETUN_API_KEY": "k"},
        clock=FakeClock(),
        wait=lambda seconds: True,
    )
    try:
        assert job.monitor.interval.total_seconds() == 600
    finally:
        job.close()
