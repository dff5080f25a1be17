"""``/metrics``: parsed back with prometheus_client's own parser."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from web_support import Lab

from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.web.metrics import render_metrics


def families(lab: Lab) -> dict[str, Metric]:
    text = render_metrics(lab.view()).decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family: Metric, name: str | None = None, **labels: str) -> float:
    for sample in family.samples:
        if (name is None or sample.name == name) and all(
            sample.labels.get(key) == wanted for key, wanted in labels.items()
        ):
            return float(sample.value)
    raise AssertionError(f"no sample {name} {labels} in {family.samples}")


def test_cascades_are_counted_by_result_and_their_durations_bucketed(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 8)
    lab.clock.advance(600)
    lab.finish_cascade(Outcome.HEALED, 25)
    lab.clock.advance(600)
    lab.finish_cascade(Outcome.GLUETUN_TIMEOUT, 301)

    found = families(lab)

    cascades = found["mediastack_cascades"]
    assert cascades.type == "counter"
    assert value(cascades, "mediastack_cascades_total", result="healed") == 2
    assert value(cascades, "mediastack_cascades_total", result="gluetun_timeout") == 1
    assert value(cascades, "mediastack_cascades_total", result="failed") == 0
    duration = found["mediastack_cascade_duration_seconds"]
    assert duration.type == "histogram"
    assert value(duration, "mediastack_cascade_duration_seconds_bucket", le="10.0") == 1
    assert value(duration, "mediastack_cascade_duration_seconds_bucket", le="30.0") == 2
    assert value(duration, "mediastack_cascade_duration_seconds_bucket", le="300.0") == 2
    assert value(duration, "mediastack_cascade_duration_seconds_bucket", le="+Inf") == 3
    assert value(duration, "mediastack_cascade_duration_seconds_count") == 3
    assert value(duration, "mediastack_cascade_duration_seconds_sum") == 334
    last = found["mediastack_last_cascade_finished_timestamp_seconds"]
    assert value(last) == lab.clock.now().timestamp()


def test_a_pause_is_a_flag_and_a_timestamp_not_an_age(lab: Lab) -> None:
    until = lab.clock.now() + timedelta(hours=1)
    lab.finish_cascade(Outcome.RATE_LIMITED, 1, pause_until=until)

    paused = families(lab)
    lab.clock.advance(timedelta(hours=2))
    resumed = families(lab)

    assert paused["mediastack_cascades_paused"].type == "gauge"
    assert value(paused["mediastack_cascades_paused"]) == 1
    assert value(paused["mediastack_cascades_paused_until_timestamp_seconds"]) == until.timestamp()
    assert value(resumed["mediastack_cascades_paused"]) == 0
    assert "mediastack_cascades_paused_until_timestamp_seconds" not in resumed


def test_heartbeat_user_stops_backups_and_rollbacks_are_reported(lab: Lab) -> None:
    beat_at = lab.beat()
    lab.stop_by_user("radarr", "bazarr")
    created = lab.clock.now() - timedelta(days=1)
    lab.archive(created, 4096, verified=True)
    lab.archive(lab.clock.now(), 10, verified=False)
    lab.roll_back("sonarr", "sha256:abc")

    found = families(lab)

    assert value(found["mediastack_heartbeat_timestamp_seconds"]) == beat_at.timestamp()
    assert value(found["mediastack_supervisor_healthy"]) == 1
    assert value(found["mediastack_event_stream_connected"]) == 1
    assert value(found["mediastack_dependents_stopped_by_user"]) == 2
    assert value(found["mediastack_backup_archives"]) == 2
    assert value(found["mediastack_backup_last_success_timestamp_seconds"]) == created.timestamp()
    assert value(found["mediastack_backup_last_success_size_bytes"]) == 4096
    assert value(found["mediastack_updates_rolled_back_services"]) == 1


def test_every_name_has_the_prefix_and_nothing_unknown_is_made_up(lab: Lab) -> None:
    found = families(lab)  # a supervisor that never ran: no heartbeat, no backup

    assert all(name.startswith("mediastack_") for name in found)
    assert value(found["mediastack_supervisor_state_readable"]) == 0
    assert value(found["mediastack_supervisor_healthy"]) == 0
    for unknown in (
        "mediastack_heartbeat_timestamp_seconds",
        "mediastack_backup_last_success_timestamp_seconds",
        "mediastack_last_cascade_finished_timestamp_seconds",
    ):
        assert unknown not in found
    assert "mediastack_service_running" not in found  # no container seen yet
    assert value(found["mediastack_stack_healthy"]) == 0


def test_each_service_is_running_and_healthy_as_the_daemon_saw_it(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    lab.beat()
    lab.see("gluetun")
    lab.see("sonarr", health="unhealthy")
    lab.see("unpackerr", health=None)
    lab.see("bazarr", status="exited")

    found = families(lab)

    running, healthy = found["mediastack_service_running"], found["mediastack_service_healthy"]
    assert value(running, service="sonarr") == 1 and value(healthy, service="sonarr") == 0
    assert value(running, service="bazarr") == 0
    assert value(running, service="unpackerr") == 1
    assert not [s for s in healthy.samples if s.labels["service"] == "unpackerr"]  # no check
    assert value(found["mediastack_stack_healthy"]) == 0
