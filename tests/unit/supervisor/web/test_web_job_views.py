"""The VPN, port sync and wiring links in the status view, /metrics and the summary: read
from the records the daemon's runners keep beside the state file."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from web_support import Lab

from mediastack.supervisor.runtime.job_records import (
    PortSyncRecorder,
    RestartCounter,
    portsync_record_path,
    restarts_record_path,
    wiring_record_path,
)
from mediastack.supervisor.runtime.wire_notices import LinkRecord
from mediastack.supervisor.web.metrics import render_metrics
from mediastack.supervisor.web.page import render_page
from mediastack.supervisor.web.summary import summary_of
from mediastack.supervisor.web.topology import Topology

OK = LinkRecord("sonarr", "sonarr:client", "qBittorrent download client", "ok")
WAITING = LinkRecord("seerr", "seerr:plex", "Plex server", "waiting", "claim Plex first")
BROKEN = LinkRecord("recyclarr", "recyclarr:profiles", "TRaSH profiles", "broken", "exit 1")


def families(lab: Lab) -> dict[str, Metric]:
    text = render_metrics(lab.view()).decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Metric) -> dict[tuple[str, ...], float]:
    return {tuple(sample.labels.values()): sample.value for sample in family.samples
            if not sample.name.endswith("_created")}  # fmt: skip


def test_the_vpn_is_shown_as_the_last_port_sync_saw_it(lab: Lab) -> None:
    lab.sync("changed", 51413)

    vpn = lab.view().to_json()["vpn"]

    assert vpn["state"] == "connected"
    assert vpn["forwarded_port"] == 51413
    assert vpn["public_ip"] is None  # port sync does not ask for it: not known
    assert vpn["last_sync"] == {
        "finished_at": "2026-01-01T12:00:00+00:00", "result": "changed", "problem": None,
    }  # fmt: skip
    assert vpn["sync_runs"] == {"changed": 1, "unchanged": 0, "failed": 0}


def test_a_sync_that_could_not_reach_gluetun_shows_the_vpn_down(lab: Lab) -> None:
    lab.sync("changed", 51413)
    lab.clock.advance(300)
    lab.sync("failed", None, "gluetun_unreachable")

    view = lab.view()

    assert view.vpn.state == "down" and view.vpn.forwarded_port is None
    assert view.to_json()["vpn"]["last_sync"]["problem"] == "gluetun_unreachable"
    assert summary_of(view)["vpn"] == "down"


def test_qbittorrent_failing_does_not_make_the_vpn_down(lab: Lab) -> None:
    lab.sync("failed", 51413, "qbittorrent_unreachable")
    assert lab.view().vpn.state == "connected"


def test_without_port_sync_the_vpn_is_not_known_and_its_metrics_are_left_out(lab: Lab) -> None:
    view = lab.view()
    found = families(lab)

    assert view.vpn.state == "not known" and view.to_json()["vpn"]["problem"] is None
    for unknown in (
        "mediastack_vpn_up",
        "mediastack_forwarded_port",
        "mediastack_links",
        "mediastack_portsync_last_run_timestamp_seconds",
        "mediastack_portsync_runs",
    ):
        assert unknown not in found


def test_corrupt_records_are_problems_in_the_view_never_errors(lab: Lab) -> None:
    state = lab.paths.state_file
    state.parent.mkdir(parents=True)
    portsync_record_path(state).write_text("{half a fi")
    wiring_record_path(state).write_text('{"links": 3}')

    document = lab.view().to_json()
    found = families(lab)

    assert document["vpn"]["state"] == "not known"
    assert "not JSON" in document["vpn"]["problem"]
    assert "not a wiring record" in document["wiring"]["problem"]
    assert "mediastack_vpn_up" not in found


def test_port_sync_metrics_count_runs_by_result(lab: Lab) -> None:
    lab.sync("changed", 51413)
    lab.clock.advance(600)
    lab.sync("unchanged", 51413)
    lab.clock.advance(600)
    lab.sync("unchanged", 51413)

    found = families(lab)

    assert samples(found["mediastack_vpn_up"]) == {(): 1}
    assert samples(found["mediastack_forwarded_port"]) == {(): 51413}
    last = lab.clock.now().timestamp()
    assert samples(found["mediastack_portsync_last_run_timestamp_seconds"]) == {(): last}
    runs = found["mediastack_portsync_runs"]
    assert runs.type == "counter"
    assert samples(runs) == {("changed",): 1, ("failed",): 0, ("unchanged",): 2}


def test_wiring_links_are_shown_and_counted_by_state(lab: Lab) -> None:
    lab.wire(OK, WAITING, BROKEN, summary="1 ok, 1 waiting, 1 broken")

    wiring = lab.view().to_json()["wiring"]
    links = families(lab)["mediastack_links"]

    assert wiring["summary"] == "1 ok, 1 waiting, 1 broken"
    assert [link["state"] for link in wiring["links"]] == ["ok", "waiting", "broken"]
    assert wiring["links"][1]["detail"] == "claim Plex first"
    assert wiring["by_state"]["waiting"] == 1 and wiring["by_state"]["made"] == 0
    assert links.type == "gauge"
    counted = samples(links)
    assert counted[("ok",)] == 1 and counted[("broken",)] == 1 and counted[("repaired",)] == 0
    assert len(counted) == 7  # every state, zeros included: bounded labels


def test_the_summary_says_unhealthy_when_the_heartbeat_is_stale(lab: Lab) -> None:
    lab.stop_by_user("radarr")  # a state file: the supervisor ran; no fresh heartbeat

    assert summary_of(lab.view())["supervisor"] == "unhealthy"


def test_autoheal_restarts_are_shown_and_counted_by_container_and_reason(lab: Lab) -> None:
    path = restarts_record_path(lab.paths.state_file)
    counter = RestartCounter(path, lab.clock)
    counter.count("home-vpn-sonarr-1", "unhealthy 95s")
    counter.count("home-vpn-sonarr-1", "unhealthy 40s")

    autoheal = lab.view().to_json()["autoheal"]
    found = families(lab)

    assert autoheal["restarts"] == [
        {"service": "home-vpn-sonarr-1", "reason": "unhealthy", "count": 2}
    ]
    assert autoheal["last_restart_at"] == "2026-01-01T12:00:00+00:00"
    restarts = found["mediastack_restarts"]
    assert restarts.type == "counter"
    sample = restarts.samples[0]
    assert sample.labels == {"service": "home-vpn-sonarr-1", "reason": "unhealthy"}
    assert sample.name == "mediastack_restarts_total" and sample.value == 2
    last = found["mediastack_last_restart_timestamp_seconds"]
    assert samples(last) == {(): lab.clock.now().timestamp()}


def test_no_restart_yet_leaves_the_restart_metrics_out(lab: Lab) -> None:
    restarts_record_path(lab.paths.state_file).parent.mkdir(parents=True)
    restarts_record_path(lab.paths.state_file).write_text("garbage")

    view = lab.view()

    assert view.to_json()["autoheal"]["problem"] is not None
    assert "mediastack_restarts" not in families(lab)


def test_the_vpns_public_ip_from_the_last_port_sync_is_on_the_page(lab: Lab) -> None:
    recorder = PortSyncRecorder(portsync_record_path(lab.paths.state_file), lab.clock)
    recorder.record({"status": "unchanged", "forwarded_port": 51413, "problem": None,
                     "public_ip": "203.0.113.7", "vpn_country": "Netherlands"})  # fmt: skip
    view = lab.view()
    assert view.vpn.public_ip == "203.0.113.7"
    assert view.to_json()["vpn"]["public_ip"] == "203.0.113.7"
    assert "Public IP: 203.0.113.7" in render_page(view, Topology())
