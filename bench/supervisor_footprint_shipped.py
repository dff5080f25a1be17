"""Benchmark: the idle footprint of the supervisor AS SHIPPED, the ops stack's container behind
the socket proxy, against the exec-polling monitor in the same window.

Setup (``bench/supervisor_shipped.py``): the real ``mediastack init`` + ``render`` + ``up`` of
gluetun (stand-in, healthy after 1 s), its nine dependents (real qBittorrent, the cross-seed
and recyclarr peers, stand-ins for the other six; healthchecks every 1 s), the socket-proxy
peer and the supervisor container (image built by ``up``). Every supervisor setting is
``init``'s default (port sync on, reaching gluetun and qBittorrent by service name as users
get it; update and backup schedules on; no notification URL) except autoheal held back for an
hour (the engine is shared: it must not restart other projects' containers).

**The proxy's idle timeout is shortened for this benchmark** (``--proxy-timeout``, default
60 s; the real template's ``timeout client 10m`` / ``timeout server 10m``): a bench-only image
derived from the peer with only those two lines changed, so that a window of a few minutes
holds several idle cuts of the events stream. Per-hour figures are scaled to the real 600 s
timeout: reconnects and re-reads *per cut* are measured, and an idle hour has 3600 / 600 = 6
cuts at most (haproxy cuts only after 600 s with nothing sent on the stream; any container
event matching the supervisor's filter, on a shared engine other projects' too, restarts that
clock).

Measured over the window (default 300 s, after a warm-up that includes port sync's first
run), side by side:

- the supervisor container: its daemon (the container's PID 1, seen from the host through
  ``docker inspect .State.Pid``): VmRSS every second, and the VmRSS of all processes in the
  container (its cgroup's ``cgroup.procs``: compose calls, job children, the healthcheck's
  ``mediastack supervise --check`` every 30 s); the container's memory cgroup (v1 here:
  ``memory.usage_in_bytes``, ``memory.stat`` total_rss / total_cache / total_inactive_file;
  ``docker stats`` shows usage - inactive_file) every second and one ``docker stats
  --no-stream`` at the end; CPU: the daemon's own utime + stime and the container's whole
  ``cpuacct.usage`` (children and healthchecks included);
- the socket-proxy container (haproxy), the same cgroup figures: part of what shipping costs;
- engine API requests: counted at the proxy from haproxy's own request log (the template's
  ``option httplog`` to stdout, ``docker logs``), the lines from the supervisor container's
  address (the proxy's own healthcheck comes from 127.0.0.1 and is left out), by accept time;
  an events stream is logged when it ends (its cut);
- the event stream: idle cuts, resumes (``since=``) and full engine re-reads, from the
  daemon's own log lines (``event stream cut while idle``, ``event stream resumed after an
  idle cut; no engine re-read``, ``engine read (...)``);
- baseline: ``bench/supervisor_baselines.py exec-monitor`` on the host (20 ``docker exec``
  every 30 s), through a counting relay (``supervisor_footprint.CountingRelay``).

Writes bench/results/supervisor_footprint_shipped.json; prints a table and the command.

    python bench/supervisor_footprint_shipped.py [--window 300] [--proxy-timeout 60]
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from supervisor_footprint import (
    SUPERVISOR_EVENT_FILTER,
    CountingRelay,
    MonitorProcess,
    Sampler,
    _by_endpoint,
    _cpu,
    _endpoint,
)
from supervisor_lab import (
    REPOSITORY_ROOT,
    EventRecorder,
    cpu_ticks,
    docker,
    machine,
    new_prefix,
    status_field,
)
from supervisor_shipped import ShippedLab, inspect_one, log_lines_with_time, running_shipped_lab

RESULTS = REPOSITORY_ROOT / "bench" / "results" / "supervisor_footprint_shipped.json"
REAL_PROXY_TIMEOUT = 600
RSS_GOAL_MB = 45.0
CGROUP = Path("/sys/fs/cgroup")
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
    with tempfile.TemporaryDirectory(prefix="msbench-footprint-shipped-") as folder_name:
        folder = Path(folder_name)
        with running_shipped_lab(
            folder / "lab", prefix, 1.0, proxy_timeout_seconds=options.proxy_timeout
        ) as lab:
            print(f"lab {prefix} up ({time.monotonic() - started:.0f} s)", flush=True)
            measured_on["supervisor_image"] = lab.supervisor_image()
            idle = measure(lab, folder, options)
    result = summarize(idle, options, command, time.monotonic() - started, measured_on)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nwritten: {options.output}\nreproduce: {command}")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=300.0, help="idle window, seconds")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the window")
    parser.add_argument(
        "--proxy-timeout",
        type=int,
        default=60,
        help="haproxy timeout client/server, seconds, for this bench only (real: 600)",
    )
    parser.add_argument("--interval", type=float, default=30.0, help="the baseline's rounds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def _command(options: argparse.Namespace) -> str:
    arguments = [
        "python",
        "bench/supervisor_footprint_shipped.py",
        "--window",
        f"{options.window:g}",
        "--proxy-timeout",
        str(options.proxy_timeout),
    ]
    if options.warmup != 30.0:
        arguments += ["--warmup", f"{options.warmup:g}"]
    if options.output != RESULTS:
        arguments += ["--output", str(options.output)]
    return shlex.join(arguments)


# -- a container's cgroup ------------------------------------------------------------------------


class ContainerSampler:
    """Samples a container's memory cgroup (v1 or v2) and the VmRSS of all its processes
    every second on a thread."""

    def __init__(self, container_id: str) -> None:
        self.container_id = container_id
        self.samples: list[dict[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = memory_of(self.container_id)
            if sample:
                self.samples.append(sample)
            self._stop.wait(1.0)


def _cgroup_folder(controller: str, container_id: str) -> Path:
    v1 = CGROUP / controller / "docker" / container_id
    return v1 if v1.exists() else CGROUP / "system.slice" / f"docker-{container_id}.scope"


def memory_of(container_id: str) -> dict[str, int]:
    """Return the container's memory figures (bytes), and its processes' VmRSS sum (kB)."""
    folder = _cgroup_folder("memory", container_id)
    try:
        if (folder / "memory.usage_in_bytes").exists():
            usage = int((folder / "memory.usage_in_bytes").read_text())
            stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
            rss, cache = int(stat["total_rss"]), int(stat["total_cache"])
            inactive = int(stat["total_inactive_file"])
        else:
            usage = int((folder / "memory.current").read_text())
            stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
            rss, cache, inactive = int(stat["anon"]), int(stat["file"]), int(stat["inactive_file"])
        pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, KeyError, ValueError):
        return {}
    processes_rss = sum(status_field(pid, "VmRSS") or 0 for pid in pids)
    return {
        "usage": usage,
        "rss": rss,
        "cache": cache,
        "inactive_file": inactive,
        "stats_usage": usage - inactive,
        "processes_vmrss_kb": processes_rss,
        "processes": len(pids),
    }


def cpu_nanoseconds(container_id: str) -> int | None:
    folder = _cgroup_folder("cpuacct", container_id)
    try:
        if (folder / "cpuacct.usage").exists():
            return int((folder / "cpuacct.usage").read_text())
        stat = dict(line.split() for line in (folder / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) * 1000
    except (OSError, KeyError, ValueError):
        return None


def _memory_summary(samples: list[dict[str, int]]) -> dict[str, Any]:
    def mb(name: str, pick: Any = statistics.median, scale: float = 1 / 1048576) -> float:
        return round(pick(sample[name] for sample in samples) * scale, 1)

    if not samples:
        return {"error": "no cgroup samples"}
    return {
        "cgroup_usage_mb_median": mb("usage"),
        "cgroup_rss_anon_mb_median": mb("rss"),
        "cgroup_rss_anon_mb_max": mb("rss", max),
        "cgroup_cache_mb_median": mb("cache"),
        "docker_stats_usage_mb_median": mb("stats_usage"),
        "all_processes_vmrss_mb_median": mb("processes_vmrss_kb", scale=1 / 1024),
        "all_processes_vmrss_mb_max": mb("processes_vmrss_kb", max, scale=1 / 1024),
        "processes_max": max(sample["processes"] for sample in samples),
        "samples": len(samples),
    }


# -- the window --------------------------------------------------------------------------------


def measure(lab: ShippedLab, folder: Path, options: argparse.Namespace) -> dict[str, Any]:
    supervisor_id = lab.ops_container("supervisor")
    proxy_id = lab.ops_container("socket-proxy")
    daemon_pid = int(inspect_one(supervisor_id)["State"]["Pid"])
    supervisor_address = _address(supervisor_id)
    relay = CountingRelay(folder / "relay-baseline.sock")
    monitor = MonitorProcess(lab, relay.docker_host, options.interval)
    try:
        print(
            f"warm-up {options.warmup:g} s, then an idle window of {options.window:g} s "
            f"(proxy timeout {options.proxy_timeout} s)",
            flush=True,
        )
        time.sleep(options.warmup)
        samplers = {"daemon": Sampler(daemon_pid), "baseline": Sampler(monitor.process.pid)}
        containers = {
            "supervisor": ContainerSampler(supervisor_id),
            "socket_proxy": ContainerSampler(proxy_id),
        }
        events = EventRecorder(SUPERVISOR_EVENT_FILTER)
        ticks = {"daemon": cpu_ticks(daemon_pid), "baseline": cpu_ticks(monitor.process.pid)}
        container_cpu = {
            "supervisor": cpu_nanoseconds(supervisor_id),
            "socket_proxy": cpu_nanoseconds(proxy_id),
        }
        begin = time.time()
        for sampler in [*samplers.values(), *containers.values()]:
            sampler.start()
        time.sleep(options.window)
        end = time.time()
        ticks_after = {"daemon": cpu_ticks(daemon_pid), "baseline": cpu_ticks(monitor.process.pid)}
        cpu_after = {
            "supervisor": cpu_nanoseconds(supervisor_id),
            "socket_proxy": cpu_nanoseconds(proxy_id),
        }
        for sampler in [*samplers.values(), *containers.values()]:
            sampler.stop()
        seen = events.stop(settle=0)
        stats = _docker_stats([supervisor_id, proxy_id])
        hwm = status_field(daemon_pid, "VmHWM")
        threads = status_field(daemon_pid, "Threads")
    finally:
        baseline_code = monitor.stop()
        relay.close()
    window = end - begin
    time.sleep(1.0)  # the proxy's log of the last requests
    proxy_log = log_lines_with_time(_logs(proxy_id))
    supervisor_log = log_lines_with_time(_logs(supervisor_id))
    return {
        "window_seconds": round(window, 1),
        "warmup_seconds": options.warmup,
        "supervisor": {
            "daemon_pid_1": {
                "rss_mb_median": round(statistics.median(samplers["daemon"].rss) / 1024, 1),
                "rss_mb_max": round(max(samplers["daemon"].rss) / 1024, 1),
                "vm_hwm_mb_at_end": round((hwm or 0) / 1024, 1),
                "threads": threads,
                "children_rss_mb_max_sampled": round(samplers["daemon"].children_rss_max / 1024, 1),
                **_cpu(ticks["daemon"], ticks_after["daemon"], window),
            },
            "container": {
                **_memory_summary(containers["supervisor"].samples),
                **_cgroup_cpu(container_cpu["supervisor"], cpu_after["supervisor"], window),
                "docker_stats_no_stream_at_end": stats.get(supervisor_id[:12]),
            },
            "engine_requests": _proxy_requests(proxy_log, supervisor_address, begin, end),
            "event_stream": _stream(supervisor_log, begin, end, window, options.proxy_timeout),
            "log_lines_in_window": [
                line for moment, line in supervisor_log if begin <= moment < end
            ][:60],
        },
        "socket_proxy_container": {
            **_memory_summary(containers["socket_proxy"].samples),
            **_cgroup_cpu(container_cpu["socket_proxy"], cpu_after["socket_proxy"], window),
            "docker_stats_no_stream_at_end": stats.get(proxy_id[:12]),
        },
        "baseline": {
            "rss_mb_median": round(statistics.median(samplers["baseline"].rss) / 1024, 1),
            "children_rss_mb_max_sampled": round(samplers["baseline"].children_rss_max / 1024, 1),
            **_cpu(ticks["baseline"], ticks_after["baseline"], window),
            "engine_requests_in_window": len(relay.requests_between(begin, end)),
            "engine_requests_by_endpoint": _by_endpoint(relay.requests_between(begin, end)),
            "rounds_logged": sum("round:" in line for line in monitor.lines),
            "exit_code": baseline_code,
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


def _address(container_id: str) -> str:
    networks = inspect_one(container_id)["NetworkSettings"]["Networks"]
    return str(next(iter(networks.values()))["IPAddress"])


def _logs(container_id: str) -> str:
    done = docker("logs", "--timestamps", container_id, check=False)
    return done.stdout + done.stderr


def _docker_stats(ids: list[str]) -> dict[str, str]:
    done = docker(
        "stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}} {{.CPUPerc}}", *ids, check=False
    )
    return {line.split()[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines() if line}


def _cgroup_cpu(before: int | None, after: int | None, window: float) -> dict[str, Any]:
    if before is None or after is None:
        return {"cgroup_cpu_error": "cpuacct not readable"}
    seconds = (after - before) / 1e9
    return {
        "cgroup_cpu_seconds": round(seconds, 3),
        "cgroup_cpu_percent": round(100 * seconds / window, 3),
    }


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
    idle: dict[str, Any],
    options: argparse.Namespace,
    command: str,
    seconds: float,
    measured_on: dict[str, Any],
) -> dict[str, Any]:
    daemon = idle["supervisor"]["daemon_pid_1"]
    container = idle["supervisor"]["container"]
    if "cgroup_cpu_seconds" in container and "cpu_seconds_own" in daemon:
        # What ran in the container but neither the daemon nor a child of it: the
        # healthcheck's `mediastack supervise --check`, a fresh interpreter every 30 s.
        container["cgroup_cpu_seconds_not_the_daemon_or_its_children"] = round(
            container["cgroup_cpu_seconds"]
            - daemon["cpu_seconds_own"]
            - daemon["cpu_seconds_children"],
            3,
        )
    return {
        "benchmark": "supervisor_footprint_shipped",
        "command": command,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(seconds, 1),
        "machine": {
            **measured_on,
            "load_average_at_end": [round(v, 2) for v in __import__("os").getloadavg()],
        },
        "settings": {
            "supervisor": "the ops stack's container as `mediastack up` builds and runs it, "
            "DOCKER_HOST tcp://socket-proxy:2375; init's defaults (port sync on, update and "
            "backup schedules on, no notification URL) but autoheal held back 3600 s",
            "socket_proxy": "mediastack-peer/socket-proxy (haproxy, linuxserver's template) "
            f"with timeout client/server {options.proxy_timeout}s instead of 10m, BENCH ONLY",
            "baseline": "bench/supervisor_baselines.py exec-monitor on the host, 20 docker "
            f"exec every {options.interval:g} s, through a counting relay",
        },
        "idle": idle,
        "goals": {
            "idle_rss_at_most_45_mb_daemon": {
                "value": daemon["rss_mb_median"],
                "met": daemon["rss_mb_median"] <= RSS_GOAL_MB,
            },
            "idle_rss_at_most_45_mb_whole_container_processes": {
                "value": container.get("all_processes_vmrss_mb_median"),
                "met": (container.get("all_processes_vmrss_mb_median") or 1e9) <= RSS_GOAL_MB,
            },
        },
    }


def print_table(result: dict[str, Any]) -> None:
    idle = result["idle"]
    daemon, container = idle["supervisor"]["daemon_pid_1"], idle["supervisor"]["container"]
    proxy, base = idle["socket_proxy_container"], idle["baseline"]
    stream = idle["supervisor"]["event_stream"]
    print(f"\nidle window {idle['window_seconds']} s")
    print(
        f"daemon (pid 1) VmRSS median {daemon['rss_mb_median']} MB, max {daemon['rss_mb_max']}"
        f"; CPU own {daemon.get('cpu_percent_own')} %"
    )
    print(
        f"supervisor container: processes' VmRSS {container.get('all_processes_vmrss_mb_median')}"
        f" MB (max {container.get('all_processes_vmrss_mb_max')}), cgroup anon "
        f"{container.get('cgroup_rss_anon_mb_median')} MB, docker-stats usage "
        f"{container.get('docker_stats_usage_mb_median')} MB; CPU "
        f"{container.get('cgroup_cpu_percent')} %"
    )
    print(
        f"socket proxy: VmRSS {proxy.get('all_processes_vmrss_mb_median')} MB; CPU "
        f"{proxy.get('cgroup_cpu_percent')} %"
    )
    print(
        f"engine requests at the proxy but events streams: "
        f"{idle['supervisor']['engine_requests']['in_window_but_events_streams']} "
        f"{idle['supervisor']['engine_requests']['by_endpoint']}; events streams opened: "
        f"{stream['resumed_with_since'] + stream['reconnected_in_full']}"
    )
    print(
        f"stream: cuts {stream['idle_cuts_in_window']}, resumed {stream['resumed_with_since']}"
        f", full reconnects {stream['reconnected_in_full']}, re-reads "
        f"{stream['full_engine_rereads_in_window']}; per idle hour at 600 s: "
        f"{stream['per_idle_hour_at_the_real_600s_timeout']}"
    )
    print(
        f"baseline: RSS {base['rss_mb_median']} MB (+{base['children_rss_mb_max_sampled']} "
        f"children), CPU with children {base.get('cpu_percent_with_children')} %, "
        f"requests {base['engine_requests_in_window']}"
    )
    for name, goal in result["goals"].items():
        print(f"goal {name}: {'met' if goal['met'] else 'NOT met'} ({goal['value']})")


if __name__ == "__main__":
    main()
