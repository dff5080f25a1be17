"""Benchmark: the idle footprint of the supervisor AS SHIPPED, the ops stack's container behind
the socket proxy, with its listener (the status pages) off, on and idle, on with a live page
open, and on and scraped: one lab, the variants one after another, each on a fresh daemon.

Setup (``bench/supervisor_shipped.py``): the real ``mediastack init`` + ``render`` + ``up`` of
gluetun (stand-in, healthy after 1 s), its nine dependents (real qBittorrent, the cross-seed
and recyclarr peers, stand-ins for the other six; healthchecks every 1 s), the socket-proxy
peer and the supervisor container (image built by ``up``). Every supervisor setting is
``init``'s default (port sync on, reaching gluetun and qBittorrent by service name as users
get it; update and backup schedules on; wire on; the status pages on, on the listener's port
``updates.webhook.port`` published on 127.0.0.1; the update webhook off; no notification URL)
except autoheal held back for an hour (the engine is shared: it must not restart other
projects' containers).

Variants (``--variants``, in this order by default; ``bench/supervisor_footprint_variants.py``):

- ``off``: ``status.enabled: false`` (and the webhook off, its default): no listener at all;
- ``idle``: the listener on, nobody connected;
- ``stream``: the listener on, one client (``bench/status_clients.py``) reading
  ``/api/v1/stream`` with the status token (``Authorization: Bearer``, the token ``init``
  wrote to .env) for the whole window, reconnecting when the server ends the stream (its
  lifetime is 300 s);
- ``scrape``: the listener on, ``GET /metrics`` every 15 s (Prometheus' usual interval).

Before each variant's window the daemon is started afresh (``docker stop`` + ``docker start``
of its container; ``mediastack render`` + ``up ops --no-wire`` when ``status.enabled``
changes), and the window begins ``--warmup`` seconds after it has logged its first engine read
(port sync's and wire's first runs, at start, fall in the warm-up); the client starts with the
window.

**The proxy's idle timeout is shortened for this benchmark** (``--proxy-timeout``, default
60 s; the real template's ``timeout client 10m`` / ``timeout server 10m``): a bench-only image
derived from the peer with only those two lines changed, so that a window of a few minutes
holds idle cuts of the events stream. Per-hour figures are scaled to the real 600 s timeout:
reconnects and re-reads *per cut* are measured, and an idle hour has 3600 / 600 = 6 cuts at
most (haproxy cuts only after 600 s with nothing sent on the stream; any container event
matching the supervisor's filter, on a shared engine other projects' too, restarts that clock).

Measured over each window, per variant:

- the supervisor container: its daemon (the container's PID 1, seen from the host through
  ``docker inspect .State.Pid``): VmRSS every second; CPU, its own utime + stime and its
  waited-for children's (clock ticks of /proc/PID/stat over the window, also scaled to an
  hour); context switches of its threads (wakeups; threads alive at both ends); and the
  VmRSS of all processes in the container (its cgroup's ``cgroup.procs``: job children,
  the healthcheck); the container's memory cgroup (v1 here: ``memory.usage_in_bytes``,
  ``memory.stat`` total_rss / total_cache / total_inactive_file; ``docker stats`` shows usage
  - inactive_file) every second and one ``docker stats --no-stream`` at the end; the
  container's whole ``cpuacct.usage``;
- the socket-proxy container (haproxy), the same cgroup figures;
- engine API requests: counted at the proxy from haproxy's own request log (the template's
  ``option httplog`` to stdout, ``docker logs``), the lines from the supervisor container's
  address (the proxy's own healthcheck comes from 127.0.0.1 and is left out), by accept time;
  an events stream is logged when it ends (its cut). The status pages are read from the
  daemon's files: with the listener on, looked at or not, this must stay what ``off`` has;
- the event stream: idle cuts, resumes (``since=``) and full engine re-reads, from the
  daemon's own log lines (``event stream cut while idle``, ``event stream resumed after an
  idle cut; no engine re-read``, ``engine read (...)``);
- what the client got (connections, answers, events, keepalives, bytes; scrape answers);
- the machine: load average and the other containers running on the engine, per variant;
- ``--baseline``: ``bench/supervisor_baselines.py exec-monitor`` on the host (20 ``docker
  exec`` every 30 s, through the counting relay ``supervisor_footprint.CountingRelay``), side
  by side with the first variant only (it would add its CPU to every window).

Writes bench/results/supervisor_footprint_listener.json (``variants``: each one's measurement,
shaped as the earlier single run's ``idle`` in supervisor_footprint_shipped.json;
``comparison``, ``against_off``, ``goals``); prints a table and the command.

    python bench/supervisor_footprint_shipped.py [--window 120] [--warmup 30]
        [--proxy-timeout 60] [--variants off,idle,stream,scrape] [--baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from container_cgroup import (
    ContainerSampler,
    cgroup_cpu,
    cpu_nanoseconds,
    docker_stats,
    memory_summary,
    thread_switches,
    thread_wakeups,
)
from listener_breakdown import import_breakdown, print_breakdown
from status_clients import Looker
from supervisor_footprint import (
    SUPERVISOR_EVENT_FILTER,
    CountingRelay,
    MonitorProcess,
    Sampler,
    _by_endpoint,
    _cpu,
    _endpoint,
)
from supervisor_footprint_variants import (
    VARIANTS,
    engine_neighbours,
    figures,
    goals,
    looker_for,
    print_comparison,
    ratios,
    switch_to,
)
from supervisor_lab import (
    REPOSITORY_ROOT,
    EventRecorder,
    context_switches,
    cpu_ticks,
    docker,
    machine,
    new_prefix,
    status_field,
)
from supervisor_shipped import ShippedLab, inspect_one, log_lines_with_time, running_shipped_lab

RESULTS = REPOSITORY_ROOT / "bench" / "results" / "supervisor_footprint_listener.json"
DEFAULT_VARIANTS = ("off", "idle", "stream", "scrape")
REAL_PROXY_TIMEOUT = 600
RSS_GOAL_MB = 45.0
# haproxy httplog: "::ffff:172.26.0.3:46096 [02/Dec/2026:06:11:46.860] proxy docker/socket
# 0/0/0/1/1 200 1789 - - ---- 2/2/1/1/0 0/0 "GET /v1.41/containers/json?... HTTP/1.1""
HAPROXY_LINE = re.compile(
    r"^(?:::ffff:)?(?P<client>[\d.]+):\d+ \[(?P<accepted>[^\]]+)\] \S+ \S+ "
    r"(?P<timers>\S+) (?P<status>\d+) .*\"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]\"$"
)


def main() -> None:
    options = _options()
    command = _command(options)
    prefix = new_prefix()
    started = time.monotonic()
    measured_on = machine()
    measured: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="msbench-footprint-shipped-") as folder_name:
        folder = Path(folder_name)
        with running_shipped_lab(
            folder / "lab", prefix, 1.0, proxy_timeout_seconds=options.proxy_timeout
        ) as lab:
            print(f"lab {prefix} up ({time.monotonic() - started:.0f} s)", flush=True)
            measured_on["supervisor_image"] = lab.supervisor_image()
            for index, name in enumerate(options.variants):
                baseline = options.baseline and index == 0
                measured[name] = run_variant(lab, folder, options, name, baseline)
            breakdown = import_breakdown(lab.ops_container("supervisor"))
    result = summarize(measured, options, command, time.monotonic() - started, measured_on)
    result["rss_breakdown_in_the_image"] = breakdown
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print_breakdown(breakdown)
    print(f"\nwritten: {options.output}\nreproduce: {command}")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=120.0, help="each variant's window, s")
    parser.add_argument(
        "--warmup", type=float, default=30.0, help="seconds from a fresh daemon to its window"
    )
    parser.add_argument(
        "--proxy-timeout",
        type=int,
        default=60,
        help="haproxy timeout client/server, seconds, for this bench only (real: 600)",
    )
    parser.add_argument(
        "--variants",
        type=_variant_list,
        default=DEFAULT_VARIANTS,
        help=f"comma-separated, measured in this order (of {', '.join(VARIANTS)})",
    )
    parser.add_argument(
        "--baseline", action="store_true", help="the exec-polling monitor beside the first"
    )
    parser.add_argument("--interval", type=float, default=30.0, help="the baseline's rounds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def _variant_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"variants: distinct names of {', '.join(VARIANTS)}")
    return names


def _command(options: argparse.Namespace) -> str:
    arguments = [
        "python",
        "bench/supervisor_footprint_shipped.py",
        "--window",
        f"{options.window:g}",
        "--warmup",
        f"{options.warmup:g}",
        "--proxy-timeout",
        str(options.proxy_timeout),
        "--variants",
        ",".join(options.variants),
    ]
    if options.baseline:
        arguments += ["--baseline", "--interval", f"{options.interval:g}"]
    if options.output != RESULTS:
        arguments += ["--output", str(options.output)]
    return shlex.join(arguments)


def run_variant(
    lab: ShippedLab, folder: Path, options: argparse.Namespace, name: str, baseline: bool
) -> dict[str, Any]:
    """Switch the lab to variant ``name`` (a fresh daemon), wait out the warm-up, measure."""
    variant = VARIANTS[name]
    print(f"variant {name}: {variant.description}", flush=True)
    switched = switch_to(lab, variant)
    neighbours = engine_neighbours(lab.prefix)
    looker = looker_for(lab, variant)
    measured = measure(lab, folder, options, looker, baseline, switched.pop("watching_at"))
    return {
        "variant": variant.description,
        **switched,
        "engine_at_start": neighbours,
        "engine_at_end": engine_neighbours(lab.prefix),
        **measured,
        "client": looker.summary(),
    }


# -- the window --------------------------------------------------------------------------------


def measure(
    lab: ShippedLab,
    folder: Path,
    options: argparse.Namespace,
    looker: Looker,
    baseline: bool,
    watching_at: float,
) -> dict[str, Any]:
    """Measure one window: it begins ``options.warmup`` s after ``watching_at``, ``looker``
    looks during it, and the exec-polling monitor runs beside it when ``baseline``."""
    supervisor_id = lab.ops_container("supervisor")
    proxy_id = lab.ops_container("socket-proxy")
    daemon_pid = int(inspect_one(supervisor_id)["State"]["Pid"])
    supervisor_address = _address(supervisor_id)
    relay = CountingRelay(folder / "relay-baseline.sock") if baseline else None
    monitor = MonitorProcess(lab, relay.docker_host, options.interval) if relay else None
    pids = {"daemon": daemon_pid, **({"baseline": monitor.process.pid} if monitor else {})}
    try:
        print(
            f"  warm-up to {options.warmup:g} s after the daemon's start, then a window of "
            f"{options.window:g} s (proxy timeout {options.proxy_timeout} s)",
            flush=True,
        )
        time.sleep(max(0.0, watching_at + options.warmup - time.time()))
        samplers = {name: Sampler(pid) for name, pid in pids.items()}
        containers = {
            "supervisor": ContainerSampler(supervisor_id),
            "socket_proxy": ContainerSampler(proxy_id),
        }
        events = EventRecorder(SUPERVISOR_EVENT_FILTER)
        ticks = {name: cpu_ticks(pid) for name, pid in pids.items()}
        switches = context_switches(daemon_pid)
        per_thread = thread_switches(daemon_pid)
        container_cpu = {
            "supervisor": cpu_nanoseconds(supervisor_id),
            "socket_proxy": cpu_nanoseconds(proxy_id),
        }
        every: list[Sampler | ContainerSampler] = [*samplers.values(), *containers.values()]
        begin = time.time()
        for sampler in every:
            sampler.start()
        looker.start()
        time.sleep(options.window)
        end = time.time()
        ticks_after = {name: cpu_ticks(pid) for name, pid in pids.items()}
        switched = (context_switches(daemon_pid) or 0) - (switches or 0)
        per_thread_after = thread_switches(daemon_pid)
        cpu_after = {
            "supervisor": cpu_nanoseconds(supervisor_id),
            "socket_proxy": cpu_nanoseconds(proxy_id),
        }
        looker.stop()
        for sampler in every:
            sampler.stop()
        seen = events.stop(settle=0)
        stats = docker_stats([supervisor_id, proxy_id])
        finals = {field: status_field(daemon_pid, field) for field in ("VmHWM", "Threads")}
    finally:
        baseline_code = monitor.stop() if monitor else None
        if relay:
            relay.close()
    window = end - begin
    time.sleep(1.0)  # the proxy's log of the last requests
    proxy_log = log_lines_with_time(_logs(proxy_id))
    supervisor_log = log_lines_with_time(_logs(supervisor_id))
    measured: dict[str, Any] = {
        "window_seconds": round(window, 1),
        "warmup_seconds": options.warmup,
        "supervisor": {
            "daemon_pid_1": {
                **_rss(samplers["daemon"]),
                "vm_hwm_mb_at_end": round((finals["VmHWM"] or 0) / 1024, 1),
                "threads": finals["Threads"],
                "context_switches_all_threads": switched,
                "context_switches_per_hour": round(switched * 3600 / window),
                "threads_wakeups": thread_wakeups(
                    daemon_pid, per_thread, per_thread_after, end - begin
                ),
                **_hourly(_cpu(ticks["daemon"], ticks_after["daemon"], window), window),
            },
            "container": {
                **memory_summary(containers["supervisor"].samples),
                **cgroup_cpu(container_cpu["supervisor"], cpu_after["supervisor"], window),
                "docker_stats_no_stream_at_end": stats.get(supervisor_id[:12]),
            },
            "engine_requests": _proxy_requests(proxy_log, supervisor_address, begin, end),
            "event_stream": _stream(supervisor_log, begin, end, window, options.proxy_timeout),
            "log_lines_in_window": [
                line for moment, line in supervisor_log if begin <= moment < end
            ][:60],
        },
        "socket_proxy_container": {
            **memory_summary(containers["socket_proxy"].samples),
            **cgroup_cpu(container_cpu["socket_proxy"], cpu_after["socket_proxy"], window),
            "docker_stats_no_stream_at_end": stats.get(proxy_id[:12]),
        },
        "engine_events_matching_the_supervisors_filter_in_window": len(seen),
        "of_which_from_this_lab": sum(
            1
            for event in seen
            if str(
                event.get("Actor", {}).get("Attributes", {}).get("com.docker.compose.project", "")
            ).startswith(lab.prefix)
        ),
    }
    if monitor and relay:
        requests = relay.requests_between(begin, end)
        measured["baseline"] = {
            "rss_mb_median": _rss(samplers["baseline"])["rss_mb_median"],
            "children_rss_mb_max_sampled": round(samplers["baseline"].children_rss_max / 1024, 1),
            **_cpu(ticks["baseline"], ticks_after["baseline"], window),
            "engine_requests_in_window": len(requests),
            "engine_requests_by_endpoint": _by_endpoint(requests),
            "rounds_logged": sum("round:" in line for line in monitor.lines),
            "exit_code": baseline_code,
        }
    _not_the_daemon(measured["supervisor"])
    return measured


def _rss(sampler: Sampler) -> dict[str, Any]:
    rss = sampler.rss
    return {
        "rss_mb_median": round(statistics.median(rss) / 1024, 1),
        "rss_mb_max": round(max(rss) / 1024, 1),
        "rss_mb_min": round(min(rss) / 1024, 1),
        "rss_samples": len(rss),
        "children_rss_mb_max_sampled": round(sampler.children_rss_max / 1024, 1),
    }


def _hourly(cpu: dict[str, Any], window: float) -> dict[str, Any]:
    """``cpu`` and its seconds scaled to an hour (the window's rate)."""
    if "cpu_seconds_own" in cpu:
        own, children = cpu["cpu_seconds_own"], cpu["cpu_seconds_children"]
        cpu["cpu_seconds_per_hour_own"] = round(own * 3600 / window, 2)
        cpu["cpu_seconds_per_hour_with_children"] = round((own + children) * 3600 / window, 2)
    return cpu


def _not_the_daemon(supervisor: dict[str, Any]) -> None:
    """What ran in the container but neither the daemon nor a child of it (the healthcheck)."""
    daemon, container = supervisor["daemon_pid_1"], supervisor["container"]
    if "cgroup_cpu_seconds" in container and "cpu_seconds_own" in daemon:
        container["cgroup_cpu_seconds_not_the_daemon_or_its_children"] = round(
            container["cgroup_cpu_seconds"]
            - daemon["cpu_seconds_own"]
            - daemon["cpu_seconds_children"],
            3,
        )


def _address(container_id: str) -> str:
    networks = inspect_one(container_id)["NetworkSettings"]["Networks"]
    return str(next(iter(networks.values()))["IPAddress"])


def _logs(container_id: str) -> str:
    done = docker("logs", "--timestamps", container_id, check=False)
    return done.stdout + done.stderr


def _proxy_requests(
    lines: list[tuple[float, str]], address: str, begin: float, end: float
) -> dict[str, Any]:
    """Count the supervisor's requests in haproxy's log: accepted in the window; and the
    events streams that ended (were cut) in it, by log time."""
    accepted: list[tuple[str, str]] = []
    events_accepted = 0
    streams_ended: list[dict[str, Any]] = []
    for logged, line in lines:
        match = HAPROXY_LINE.match(line.strip())
        if not match or match.group("client") != address:
            continue
        moment = _haproxy_time(match.group("accepted"))
        if begin <= moment < end and "/events" in match.group("path"):
            events_accepted += 1  # counted from the daemon's log instead (see below)
        elif begin <= moment < end:
            accepted.append((match.group("method"), match.group("path")))
        if "/events" in match.group("path") and begin <= logged < end:
            total_ms = match.group("timers").split("/")[-1]
            streams_ended.append(
                {
                    "opened": round(moment - begin, 1),
                    "open_seconds": round(int(total_ms) / 1000, 1),
                    "since": "since=" in match.group("path"),
                }
            )
    return {
        "counted_at": "haproxy's own httplog (socket-proxy stdout), client = the supervisor "
        "container's address, accept time in the window; haproxy logs a request when it "
        "ends, so an events stream still open at the window's end is not in its log yet: "
        "events streams opened are counted from the daemon's log (event_stream)",
        "in_window_but_events_streams": len(accepted),
        "events_streams_opened_in_window_and_already_logged_by_the_proxy": events_accepted,
        "by_endpoint": dict(Counter(_endpoint(m, p) for m, p in accepted).most_common()),
        "events_streams_ended_in_window": streams_ended,
    }


def _haproxy_time(text: str) -> float:
    """``02/Dec/2026:06:11:46.860`` (haproxy logs UTC in this container) -> epoch seconds."""
    import calendar

    whole, _, milliseconds = text.partition(".")
    moment = calendar.timegm(time.strptime(whole, "%d/%b/%Y:%H:%M:%S"))
    return moment + int(milliseconds or 0) / 1000


def _stream(
    lines: list[tuple[float, str]], begin: float, end: float, window: float, timeout: int
) -> dict[str, Any]:
    in_window = [line for moment, line in lines if begin <= moment < end]
    cuts = sum("event stream cut while idle" in line for line in in_window)
    resumed = sum("event stream resumed after an idle cut" in line for line in in_window)
    connected = sum("event stream connected" in line for line in in_window)
    lost = sum("event stream lost" in line for line in in_window)
    rereads = sum(" engine read (" in line for line in in_window)
    reconnects = resumed + connected
    per_cut = {"reconnects": reconnects / cuts, "full_rereads": rereads / cuts} if cuts else None
    cuts_per_idle_hour = 3600 / REAL_PROXY_TIMEOUT
    return {
        "proxy_timeout_seconds_in_this_run": timeout,
        "idle_cuts_in_window": cuts,
        "resumed_with_since": resumed,
        "reconnected_in_full": connected,
        "stream_lost_messages": lost,
        "full_engine_rereads_in_window": rereads,
        "per_hour_at_this_timeout": {
            "reconnects": round(reconnects * 3600 / window, 1),
            "full_rereads": round(rereads * 3600 / window, 1),
        },
        "per_idle_hour_at_the_real_600s_timeout": (
            {name: round(value * cuts_per_idle_hour, 1) for name, value in per_cut.items()}
            if per_cut
            else None
        ),
        "scaling": "per cut measured here, times 3600 / 600 = 6 cuts in an idle hour (at most: "
        "a container event matching the filter restarts haproxy's 600 s clock)",
    }


# -- the summary -------------------------------------------------------------------------------


def summarize(
    measured: dict[str, dict[str, Any]],
    options: argparse.Namespace,
    command: str,
    seconds: float,
    measured_on: dict[str, Any],
) -> dict[str, Any]:
    table = {name: figures(variant) for name, variant in measured.items()}
    return {
        "benchmark": "supervisor_footprint_shipped (listener variants)",
        "command": command,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(seconds, 1),
        "machine": {
            **measured_on,
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "settings": {
            "supervisor": "the ops stack's container as `mediastack up` builds and runs it, "
            "DOCKER_HOST tcp://socket-proxy:2375; init's defaults (port sync on, update and "
            "backup schedules on, wire on, status pages on, webhook off, no notification URL) "
            "but autoheal held back 3600 s; the listener's port published on 127.0.0.1",
            "socket_proxy": "mediastack-peer/socket-proxy (haproxy, linuxserver's template) "
            f"with timeout client/server {options.proxy_timeout}s instead of 10m, BENCH ONLY",
            "variants": {name: VARIANTS[name].description for name in measured},
            "each_variant": "a fresh daemon (docker stop + start of its container, or render "
            f"+ up ops when status.enabled changes); the window {options.window:g} s begins "
            f"{options.warmup:g} s after its first engine read; the client starts with it",
            "baseline": (
                "bench/supervisor_baselines.py exec-monitor on the host, 20 docker exec every "
                f"{options.interval:g} s, through a counting relay, beside the first variant"
                if options.baseline
                else "not run (--baseline)"
            ),
            "cpu_per_hour": "utime + stime clock ticks (10 ms) over the window x 3600 / window",
        },
        "comparison": table,
        "against_off": ratios(table),
        "goals": goals(table, RSS_GOAL_MB),
        "variants": measured,
    }


def print_table(result: dict[str, Any]) -> None:
    for name, variant in result["variants"].items():
        client = variant["client"]
        looked = {key: client[key] for key in ("connections", "answers", "events", "scrapes")
                  if key in client}  # fmt: skip
        print(
            f"\n{name}: window {variant['window_seconds']} s, load {variant['engine_at_start']}"
            f" -> {variant['engine_at_end']['load_average']}; client {looked or 'none'}"
        )
        for line in variant["listener_log_lines"]:
            print(f"  {line}")
        if "baseline" in variant:
            base = variant["baseline"]
            print(
                f"  baseline: RSS {base['rss_mb_median']} MB, CPU with children "
                f"{base.get('cpu_percent_with_children')} %, "
                f"requests {base['engine_requests_in_window']}"
            )
    print_comparison(result["comparison"], result["goals"])


if __name__ == "__main__":
    main()
