"""The shipped footprint benchmark's variants: the supervisor's listener off, on and idle, on
with a live page open, on and scraped; how one lab is switched between them; the comparison.

One lab serves every variant. Each variant's window is measured on a fresh daemon, the same
time after its start (the warm-up): between two variants with the listener on the supervisor
container is stopped and started (``docker stop`` / ``docker start``); when ``status.enabled``
changes, the config is edited and ``mediastack render`` + ``mediastack up ops --no-wire``
recreate the container (its published port comes and goes with the listener).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import yaml
from status_clients import Looker, Nobody, Scraper, StreamClient, get
from supervisor_lab import docker, wait_until
from supervisor_shipped import ShippedLab

from mediastack.render.environment import read_secrets

WATCHING = "engine read (the event stream"
SCRAPE_INTERVAL_SECONDS = 15.0


@dataclass(frozen=True)
class ListenerVariant:
    """One measured supervisor: ``status.enabled``, and who looks during the window."""

    status_enabled: bool
    looker: str  # "nobody", "stream" or "scrape"
    description: str


VARIANTS = {
    "off": ListenerVariant(
        False, "nobody", "status.enabled: false, updates.webhook.enabled: false (no listener)"
    ),
    "idle": ListenerVariant(True, "nobody", "the listener on (init's default), nobody connected"),
    "stream": ListenerVariant(
        True, "stream", "the listener on, one client on /api/v1/stream for the whole window"
    ),
    "scrape": ListenerVariant(
        True, "scrape", f"the listener on, GET /metrics every {SCRAPE_INTERVAL_SECONDS:g} s"
    ),
}
"""(a), (b), (c), (d) of issue 12's "footprint held"."""


def listener_port(lab: ShippedLab) -> int:
    return int(lab.homelab.loaded().config.updates.webhook.port)


def status_token(lab: ShippedLab) -> str:
    """The read-only token ``init`` put in the lab's .env."""
    loaded = lab.homelab.loaded()
    return read_secrets(loaded.env_file).get(loaded.config.status.token_variable, "")


def status_enabled(lab: ShippedLab) -> bool:
    return bool(lab.homelab.loaded().config.status.enabled)


def looker_for(lab: ShippedLab, variant: ListenerVariant) -> Looker:
    if variant.looker == "stream":
        return StreamClient(listener_port(lab), status_token(lab))
    if variant.looker == "scrape":
        return Scraper(listener_port(lab), status_token(lab), SCRAPE_INTERVAL_SECONDS)
    return Nobody()


def switch_to(lab: ShippedLab, variant: ListenerVariant) -> dict[str, Any]:
    """Give ``variant`` a freshly started daemon; return when it was watching (host clock)
    and how it was switched. Raise when the listener is not as the variant wants it."""
    begun = time.time()
    if status_enabled(lab) != variant.status_enabled:
        how = _reconfigure(lab, variant.status_enabled)
    else:
        lab.stop_supervisor()
        lab.start_supervisor()
        how = "docker stop + docker start of the supervisor container"
    wait_until(lambda: WATCHING in lab.supervisor_logs(begun - 1), 120, "the daemon watching")
    watching = time.time()
    _check_listener(lab, variant)
    startup = [
        line.split(" ", 1)[-1]
        for line in lab.supervisor_logs(begun - 1).splitlines()
        if "listener" in line or "status pages" in line
    ]
    return {
        "switched_by": how,
        "switch_seconds": round(watching - begun, 1),
        "watching_at": watching,
        "listener_log_lines": startup[:4],
    }


def _reconfigure(lab: ShippedLab, enabled: bool) -> str:
    config = yaml.safe_load(lab.homelab.config_path.read_text())
    config.setdefault("status", {})["enabled"] = enabled
    lab.homelab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    for arguments in (("render",), ("up", "ops", "--no-wire")):
        done = lab.run(*arguments, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"mediastack {' '.join(arguments)}: {done.stdout}{done.stderr}")
    return f"status.enabled: {str(enabled).lower()}; mediastack render + up ops --no-wire"


def _check_listener(lab: ShippedLab, variant: ListenerVariant) -> None:
    port = listener_port(lab)
    if not variant.status_enabled:
        status, _ = get(port, "/health", timeout=3)
        if status:
            raise RuntimeError(f"the listener is off but port {port} answered {status}")
        return
    wait_until(lambda: get(port, "/health", timeout=3)[0] in (200, 503), 60, "the listener")
    status, _ = get(port, "/api/v1/status", status_token(lab))
    if status != 200:
        raise RuntimeError(f"/api/v1/status with the status token answered {status}")


def engine_neighbours(prefix: str) -> dict[str, Any]:
    """What else runs on the shared engine (other projects' containers) and the load."""
    names = docker("ps", "--format", "{{.Names}}", check=False).stdout.split()
    return {
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "containers_running_not_this_lab": sum(not name.startswith(prefix) for name in names),
    }


# -- the comparison ----------------------------------------------------------------------------

CPU_GOAL_SECONDS_PER_HOUR = 18.0
""""About zero CPU", as ``supervisor_footprint.CPU_GOAL_PERCENT`` makes it a number: under
0.5 % of one core, 18 s of CPU an hour."""


def figures(measured: dict[str, Any]) -> dict[str, Any]:
    """The numbers compared across variants, from one variant's measurement."""
    supervisor = measured["supervisor"]
    daemon, container = supervisor["daemon_pid_1"], supervisor["container"]
    stream = supervisor["event_stream"]
    return {
        "daemon_rss_mb_median": daemon["rss_mb_median"],
        "daemon_rss_mb_max": daemon["rss_mb_max"],
        "daemon_vm_hwm_mb_at_end": daemon["vm_hwm_mb_at_end"],
        "daemon_threads_at_end": daemon["threads"],
        "daemon_cpu_seconds_per_hour_own": daemon.get("cpu_seconds_per_hour_own"),
        "daemon_cpu_seconds_per_hour_with_children": daemon.get(
            "cpu_seconds_per_hour_with_children"
        ),
        "daemon_context_switches_per_hour": daemon.get("context_switches_per_hour"),
        "container_processes_vmrss_mb_median": container.get("all_processes_vmrss_mb_median"),
        "container_processes_vmrss_mb_max": container.get("all_processes_vmrss_mb_max"),
        "container_cgroup_anon_mb_median": container.get("cgroup_rss_anon_mb_median"),
        "container_docker_stats_mb_median": container.get("docker_stats_usage_mb_median"),
        "container_cgroup_cpu_seconds_per_hour": container.get("cgroup_cpu_seconds_per_hour"),
        "engine_requests_but_events_streams": supervisor["engine_requests"][
            "in_window_but_events_streams"
        ],
        "engine_requests_by_endpoint": supervisor["engine_requests"]["by_endpoint"],
        "events_streams_opened": stream["resumed_with_since"] + stream["reconnected_in_full"],
        "full_engine_rereads": stream["full_engine_rereads_in_window"],
    }


def ratios(table: dict[str, dict[str, Any]], reference: str = "off") -> dict[str, Any]:
    """Each variant's numeric figures over ``reference``'s (and the difference, for MB)."""
    if reference not in table:
        return {}
    base = table[reference]
    compared: dict[str, Any] = {}
    for name, row in table.items():
        if name == reference:
            continue
        compared[name] = {}
        for key, value in row.items():
            other = base.get(key)
            if not isinstance(value, int | float) or not isinstance(other, int | float):
                continue
            compared[name][key] = {
                "ratio": round(value / other, 3) if other else None,
                "difference": round(value - other, 3),
            }
    return compared


def goals(table: dict[str, dict[str, Any]], rss_goal_mb: float) -> dict[str, Any]:
    """The budget, per variant: at most ``rss_goal_mb`` RSS, about zero CPU."""
    judged: dict[str, Any] = {}
    for name, row in table.items():
        rss = row["daemon_rss_mb_max"]
        cpu = row["daemon_cpu_seconds_per_hour_own"]
        judged[name] = {
            "daemon_rss_mb_max_at_most_45": {"value": rss, "met": rss <= rss_goal_mb},
            "daemon_cpu_under_18_s_per_hour": {
                "value": cpu,
                "met": cpu is not None and cpu < CPU_GOAL_SECONDS_PER_HOUR,
            },
        }
    return judged


def median_of(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def print_comparison(table: dict[str, dict[str, Any]], judged: dict[str, Any]) -> None:
    rows = [
        ("daemon VmRSS median / max, MB", "daemon_rss_mb_median", "daemon_rss_mb_max"),
        ("daemon CPU s/h own / +children", "daemon_cpu_seconds_per_hour_own",
         "daemon_cpu_seconds_per_hour_with_children"),
        ("daemon wakeups/h, threads", "daemon_context_switches_per_hour", "daemon_threads_at_end"),
        ("container VmRSS sum median / max", "container_processes_vmrss_mb_median",
         "container_processes_vmrss_mb_max"),
        ("cgroup anon / docker stats, MB", "container_cgroup_anon_mb_median",
         "container_docker_stats_mb_median"),
        ("container cgroup CPU s/h", "container_cgroup_cpu_seconds_per_hour", None),
        ("engine requests (not /events), streams", "engine_requests_but_events_streams",
         "events_streams_opened"),
    ]  # fmt: skip
    names = list(table)
    print("\n" + f"{'':40}" + "".join(f"{name:>18}" for name in names))
    for label, first, second in rows:
        cells = []
        for name in names:
            row = table[name]
            cell = f"{row.get(first)}" + (f" / {row.get(second)}" if second else "")
            cells.append(f"{cell:>18}")
        print(f"{label:40}" + "".join(cells))
    for name, goal in judged.items():
        verdict = ", ".join(
            f"{key} {'met' if value['met'] else 'NOT met'} ({value['value']})"
            for key, value in goal.items()
        )
        print(f"goals {name}: {verdict}")
