"""``/metrics``: the status view in Prometheus' text exposition, through ``prometheus_client``.

One custom Collector over one ``StatusView`` per scrape, in a registry of its own: no global
mutable metrics, nothing counted in the daemon's hot path. Names carry the ``mediastack_``
prefix and base units (seconds, bytes); counters end in ``_total``; moments are Unix
timestamps (``_timestamp_seconds``), never ages, so a stale scrape does not lie. Labels are
few and bounded: a cascade's or a port sync's ``result`` (one of the outcomes), a link's
``state`` (one of the link statuses), a restart's ``service`` (one per watched container) and
``reason`` (a few words), a container's ``service`` (one per rendered service). A metric
whose value is not known (no heartbeat yet, no backup yet, not paused, no port sync, wire
run, restart or container seen yet) is left out rather than given a 0 that would read as
1970.

``prometheus_client`` is imported on the first scrape only: a supervisor nobody scrapes does
not carry it (issue 3's idle budget).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from mediastack.supervisor.web.status_view import StatusView
from mediastack.supervisor.web.verdict import stack_verdict

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def render_metrics(view: StatusView) -> bytes:
    """Return ``view`` as Prometheus text exposition."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(StatusCollector(view))
    return generate_latest(registry)


class StatusCollector:
    """A Collector that reports one StatusView (a new one each scrape)."""

    def __init__(self, view: StatusView) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family the view supports."""
        yield from _cascade_metrics(self._view)
        yield from _supervisor_metrics(self._view)
        yield from _health_metrics(self._view)
        yield from _backup_metrics(self._view)
        yield from _update_metrics(self._view)
        yield from _vpn_metrics(self._view)
        yield from _wiring_metrics(self._view)
        yield from _restart_metrics(self._view)
        yield from _service_metrics(self._view)
        yield from _notification_metrics(self._view)


def _cascade_metrics(view: StatusView) -> Iterator[Metric]:
    from prometheus_client.metrics_core import HistogramMetricFamily

    totals = view.totals
    yield _by_result("mediastack_cascades", "VPN cascades finished", totals.outcome_counts())
    buckets = [
        (_bound(bound), count)
        for bound, count in zip(totals.bounds, totals.cumulative_buckets, strict=True)
    ]
    yield HistogramMetricFamily(
        "mediastack_cascade_duration_seconds",
        "How long finished VPN cascades took, from detection to their end.",
        buckets=[*buckets, ("+Inf", totals.count)],
        sum_value=totals.duration_sum_seconds,
    )
    last = view.last_cascade
    if last is not None:
        yield _gauge(
            "mediastack_last_cascade_finished_timestamp_seconds",
            "When the last VPN cascade finished.",
            _timestamp(last.finished_at),
        )


def _supervisor_metrics(view: StatusView) -> Iterator[Metric]:
    yield _gauge(
        "mediastack_supervisor_state_readable",
        "1 when the supervisor's state file could be read (0: never ran or unreadable).",
        0.0 if view.state_problem is not None or view.mode == "never ran" else 1.0,
    )
    yield _gauge("mediastack_cascades_paused", "1 while cascades are paused.", float(view.paused))
    if view.paused_until is not None:
        yield _gauge(
            "mediastack_cascades_paused_until_timestamp_seconds",
            "When the pause of cascades ends.",
            _timestamp(view.paused_until),
        )
    yield _gauge(
        "mediastack_cascade_in_progress",
        "1 while a VPN cascade runs.",
        float(view.mode == "cascading"),
    )
    yield _gauge(
        "mediastack_dependents_stopped_by_user",
        "Dependents of gluetun their user stopped (the supervisor leaves them stopped).",
        float(len(view.user_stopped)),
    )


def _health_metrics(view: StatusView) -> Iterator[Metric]:
    health = view.health
    yield _gauge(
        "mediastack_supervisor_healthy", "1 when the heartbeat is fresh.", float(health.healthy)
    )
    if health.loop_turned_at is not None:
        yield _gauge(
            "mediastack_heartbeat_timestamp_seconds",
            "When the supervisor's loop last wrote its heartbeat.",
            _timestamp(health.loop_turned_at),
        )
    if health.stream_connected is not None:
        yield _gauge(
            "mediastack_event_stream_connected",
            "1 when the Docker event stream was connected at the last heartbeat.",
            float(health.stream_connected),
        )


def _backup_metrics(view: StatusView) -> Iterator[Metric]:
    backups = view.backups
    yield _gauge(
        "mediastack_backup_archives", "Archives in the backups folder.", float(backups.archives)
    )
    if backups.latest is not None:
        yield _gauge(
            "mediastack_backup_last_timestamp_seconds",
            "When the newest archive (verified or not) was made.",
            _timestamp(backups.latest.created),
        )
    verified = backups.latest_verified
    if verified is not None:
        yield _gauge(
            "mediastack_backup_last_success_timestamp_seconds",
            "When the newest verified archive was made.",
            _timestamp(verified.created),
        )
        yield _gauge(
            "mediastack_backup_last_success_size_bytes",
            "Size of the newest verified archive.",
            float(verified.size_bytes),
        )


def _update_metrics(view: StatusView) -> Iterator[Metric]:

    yield _gauge(
        "mediastack_updates_rolled_back_services",
        "Services whose last update was rolled back (their new image is refused).",
        float(len(view.rolled_back)),
    )
    run = view.update_runs
    if run is None:
        return
    yield _gauge(
        "mediastack_updates_pending",
        "Updates the last check found for notify-policy services (waiting for the user).",
        float(len(run.pending)),
    )
    yield _gauge(
        "mediastack_update_last_check_timestamp_seconds",
        "When the last update run ended.",
        _timestamp(run.finished_at),
    )
    yield _by_result("mediastack_updates", "Updates applied", run.totals)


def _vpn_metrics(view: StatusView) -> Iterator[Metric]:

    vpn = view.vpn
    if vpn.connected is not None:
        yield _gauge(
            "mediastack_vpn_up",
            "1 when the last port sync got a forwarded port from gluetun (the tunnel works).",
            float(vpn.connected),
        )
    if vpn.forwarded_port is not None:
        yield _gauge(
            "mediastack_forwarded_port",
            "The port the VPN forwards, as the last port sync got it from gluetun.",
            float(vpn.forwarded_port),
        )
    if vpn.last_sync_at is not None:
        yield _gauge(
            "mediastack_portsync_last_run_timestamp_seconds",
            "When the last port sync ended.",
            _timestamp(vpn.last_sync_at),
        )
        yield _by_result("mediastack_portsync_runs", "Port sync runs", vpn.runs)


def _wiring_metrics(view: StatusView) -> Iterator[Metric]:
    from prometheus_client.metrics_core import GaugeMetricFamily

    wiring = view.wiring
    if wiring.last_run_at is None:
        return
    links = GaugeMetricFamily(
        "mediastack_links", "Wiring links after the last wire run, by state.", labels=["state"]
    )
    for state, count in sorted(wiring.by_state.items()):
        links.add_metric([state], float(count))
    yield links
    yield _gauge(
        "mediastack_wire_last_run_timestamp_seconds",
        "When the last wire run ended.",
        _timestamp(wiring.last_run_at),
    )


def _restart_metrics(view: StatusView) -> Iterator[Metric]:
    from prometheus_client.metrics_core import CounterMetricFamily

    restarts = view.restarts
    if restarts.last_at is None:
        return
    family = CounterMetricFamily(
        "mediastack_restarts",
        "Containers autoheal restarted, by container and reason.",
        labels=["service", "reason"],
    )
    for (service, reason), count in sorted(restarts.counts.items()):
        family.add_metric([service, reason], count)
    yield family
    yield _gauge(
        "mediastack_last_restart_timestamp_seconds",
        "When autoheal last restarted a container.",
        _timestamp(restarts.last_at),
    )


def _service_metrics(view: StatusView) -> Iterator[Metric]:
    """Each service's container as the daemon saw it, and /health's verdict on the stack."""
    from prometheus_client.metrics_core import GaugeMetricFamily

    verdict = stack_verdict(view)
    yield _gauge(
        "mediastack_stack_healthy",
        "1 when /health answers 200 (the supervisor and every service healthy).",
        float(verdict.healthy),
    )
    if view.services_seen_at is None:
        return
    running = GaugeMetricFamily(
        "mediastack_service_running", "1 while the service's container runs.", labels=["service"]
    )
    healthy = GaugeMetricFamily(
        "mediastack_service_healthy",
        "1 while the service's container reports healthy (services with a healthcheck).",
        labels=["service"],
    )
    for name, state in sorted(view.services.items()):
        running.add_metric([name], float(state.status == "running"))
        if state.health is not None:
            healthy.add_metric([name], float(state.health == "healthy"))
    yield running
    yield healthy


def _notification_metrics(view: StatusView) -> Iterator[Metric]:

    record = view.notifications
    if record is None:
        return
    yield _by_result(
        "mediastack_notifications",
        "Notifications (failed: given up after the last attempt; dropped: pushed out of a "
        "full queue)",
        record.counts,
    )


def _by_result(name: str, what: str, counts: Mapping[str, int]) -> Metric:
    """A counter of ``what`` by its ``result`` label (``_total`` added by the exposition)."""
    from prometheus_client.metrics_core import CounterMetricFamily

    family = CounterMetricFamily(name, f"{what}, by result.", labels=["result"])
    for result, count in sorted(counts.items()):
        family.add_metric([result], count)
    return family


def _gauge(name: str, documentation: str, value: float) -> Metric:
    from prometheus_client.metrics_core import GaugeMetricFamily

    return GaugeMetricFamily(name, documentation, value=value)


def _timestamp(moment: datetime) -> float:
    return moment.timestamp()


def _bound(seconds: float) -> str:
    return str(seconds)
