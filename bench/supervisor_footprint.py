"""Benchmark: the idle footprint of ``mediastack supervise`` (RSS, CPU, engine API calls)
against a naive polling monitor, and where the supervisor's memory goes.

Setup (``bench/supervisor_lab.py``): the real ``mediastack init`` + ``render`` + ``up`` of the
gluetun stand-in and its nine stand-in dependents (healthchecks every 1 s), own compose
prefix, free ports on 127.0.0.1; everything removed at the end. For port sync, on 127.0.0.1:
a stand-in of gluetun's control server and a real qBittorrent (``qbittorrent-nox``), already
listening on the forwarded port (the steady state of an install: a sync writes nothing).

Measured over the same window (default 180 s, after a warm-up), all processes running at
once, each reaching the engine through its own counting relay (a Unix socket this script
serves, ``DOCKER_HOST=unix://.../relay.sock``, that forwards to /var/run/docker.sock and counts
HTTP requests: a request line seen on a connection is one call; the events stream is one long
request, counted when it opens):

- ``mediastack``: ``python -m mediastack -c CONFIG supervise`` with the config's defaults
  (port sync on, update and backup schedules on, webhook off) and a notification URL set
  (``ntfy://127.0.0.1:<closed port>/...``: configured, so the notification queue exists, but
  nothing is sent while idle). Port sync reaches its peers on 127.0.0.1
  (``MEDIASTACK_PORTSYNC_GLUETUN_URL``/``..._QBITTORRENT_URL``) instead of by service name,
  which only works from the supervisor's container: it runs at start (in the warm-up) and
  every 300 s, each run a child process;
- ``mediastack_without_trio``: the same, with ``import trio`` made to fail, as in the
  supervisor image (trio is no dependency; this environment has it, and httpcore imports it
  when an httpx client is made: only in a job's child now);
- ``mediastack_after_a_notification``: the same as ``mediastack``, but gluetun refuses its API
  key, so port sync's first run fails and is notified at once: Apprise is loaded (lazily, at
  the first notification) and stays; the failing run's retries then wait hours (a key needs a
  person), so the window is idle again;
- ``mediastack_cascade_only``: port sync and the update and backup schedules off;
- ``baseline``: ``bench/supervisor_baselines.py exec-monitor``: the closest peer's idle habit,
  20 ``docker exec`` calls (through the docker CLI) every 30 s for gluetun and 9 dependents.

For each: VmRSS sampled every second from /proc/PID/status (median, max; VmHWM at the end),
CPU = utime + stime ticks of /proc/PID/stat over the window (children's cutime + cstime
reported apart: the docker CLI processes of the baseline), and engine requests in the window.
Also counted: the container events the engine emitted in the window that match the
supervisor's own event filter (each wakes it; none are its calls).

Then the cost of one job run in its child process (``python -m
mediastack.supervisor.runtime.job_child``): port sync against the peers (5 runs) and a backup
of the lab's config folders (3 runs), from a probe process whose only children they are: CPU
(user + system), wall time, the children's peak RSS.

Then where the memory goes: fresh ``python -c "import ..."`` processes, cumulatively in the
order the supervisor loads things and each library alone, their VmRSS; and the modules the
real supervisor loaded by the time it was watching (a short second run with
``PYTHONPROFILEIMPORTTIME=1``), including any loaded after that (lazily, while idle).

Writes bench/results/supervisor_footprint.json and prints tables and the command.

    python bench/supervisor_footprint.py [--window 180] [--warmup 15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor_lab import (
    CLOCK_TICKS,
    DEPENDENTS,
    GLUETUN,
    REPOSITORY_ROOT,
    SERVICE_PORTS,
    EventRecorder,
    Lab,
    PortSyncPeers,
    SupervisorProcess,
    children_of,
    config_variant,
    context_switches,
    cpu_ticks,
    free_port,
    machine,
    new_prefix,
    portsync_peers,
    running_lab,
    status_field,
    wait_until,
)

RESULTS = REPOSITORY_ROOT / "bench" / "results" / "supervisor_footprint.json"
BASELINE_SCRIPT = Path(__file__).resolve().parent / "supervisor_baselines.py"
ENGINE_SOCKET = "/var/run/docker.sock"
RSS_GOAL_MB = 45.0
CPU_GOAL_PERCENT = 0.5
""""About zero CPU", made a number: under 0.5 % of one core over the window (on a shared
engine the supervisor is woken by other projects' container events; they are counted)."""
SUPERVISOR_EVENT_FILTER = {
    "type": "container",
    "event": ["start", "die", "destroy", "health_status"],
}
"""The supervisor's own filter (``runtime/event_stream.py`` CONTAINER_EVENTS), to count what
wakes it."""
REQUEST_LINE = re.compile(rb"(GET|POST|HEAD|PUT|DELETE|PATCH) (/\S*) HTTP/1\.[01]\r\n")
ID_IN_PATH = re.compile(r"/[0-9a-f]{12,64}(?=/|$|\?)")


def main() -> None:
    options = _options()
    command = _command(options)
    prefix = new_prefix()
    started = time.monotonic()
    measured_on = machine()
    with tempfile.TemporaryDirectory(prefix="msbench-footprint-") as folder_name:
        folder = Path(folder_name)
        with running_lab(folder / "lab", prefix, 1.0) as lab, portsync_peers() as peers:
            print(f"lab {prefix} up ({time.monotonic() - started:.0f} s)", flush=True)
            idle = measure_idle(lab, peers, folder, options)
            jobs = job_run_costs(lab, peers)
            loaded = loaded_modules(lab, peers, folder)
    imports = import_breakdown()
    result = summarize(
        idle, jobs, loaded, imports, options, command, time.monotonic() - started, measured_on
    )
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print_tables(result)
    print(f"\nwritten: {options.output}\nreproduce: {command}")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=180.0, help="idle window, seconds")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before the window")
    parser.add_argument("--interval", type=float, default=30.0, help="the baseline's rounds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def _command(options: argparse.Namespace) -> str:
    arguments = ["python", "bench/supervisor_footprint.py", "--window", f"{options.window:g}"]
    if options.warmup != 15.0:
        arguments += ["--warmup", f"{options.warmup:g}"]
    if options.interval != 30.0:
        arguments += ["--interval", f"{options.interval:g}"]
    if options.output != RESULTS:
        arguments += ["--output", str(options.output)]
    return shlex.join(arguments)


# -- the counting relay ----------------------------------------------------------------------------


class CountingRelay:
    """A Unix socket that relays every connection to the engine's socket and records each HTTP
    request line a client sends (time, method, path). Hijacked streams (``docker exec``'s
    attach) and the events stream pass through unparsed beyond their request line."""

    def __init__(self, path: Path, upstream: str = ENGINE_SOCKET) -> None:
        self.path = path
        self.requests: list[tuple[float, str, str]] = []
        self.connections = 0
        self._upstream = upstream
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def requests_between(self, begin: float, end: float) -> list[tuple[float, str, str]]:
        with self._lock:
            return [request for request in self.requests if begin <= request[0] < end]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self._upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, count: bool) -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if count:
                    pending = self._count(pending + data)
                target.sendall(data)
        for connection in (target, source):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _count(self, buffer: bytes) -> bytes:
        """Record the request lines in ``buffer``; return what to keep for the next chunk."""
        end = 0
        now = time.time()
        for match in REQUEST_LINE.finditer(buffer):
            method, path = match.group(1).decode(), match.group(2).decode(errors="replace")
            with self._lock:
                self.requests.append((now, method, path))
            end = match.end()
        rest = buffer[end:]
        return rest[-4096:]


def _endpoint(method: str, path: str) -> str:
    """``GET /v1.41/containers/<id>/json?x`` -> ``GET /containers/{id}/json``."""
    path = path.split("?", 1)[0]
    path = re.sub(r"^/v\d+\.\d+", "", path)
    return f"{method} {ID_IN_PATH.sub('/{id}', path)}"


# -- the idle window -------------------------------------------------------------------------------


class Sampler:
    """Samples VmRSS (kB) of a process, and of its children, every second on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss: list[int] = []
        self.children_rss_max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = status_field(self.pid, "VmRSS")
            if rss is not None:
                self.rss.append(rss)
            children = [status_field(child, "VmRSS") or 0 for child in children_of(self.pid)]
            self.children_rss_max = max(self.children_rss_max, sum(children))
            self._stop.wait(1.0)


class MonitorProcess:
    """``supervisor_baselines.py exec-monitor`` for the lab, through ``docker_host``."""

    def __init__(self, lab: Lab, docker_host: str, interval: float) -> None:
        containers = lab.containers()
        dependents = ",".join(
            f"{containers[service]}:{SERVICE_PORTS[service]}" for service in DEPENDENTS
        )
        command = [
            sys.executable, str(BASELINE_SCRIPT), "exec-monitor",
            "--gluetun", containers[GLUETUN], "--dependents", dependents,
            "--interval", f"{interval:g}",
        ]  # fmt: skip
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**_environment(), "DOCKER_HOST": docker_host},
        )
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any("watching" in line for line in self.lines), 30, "the monitor")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)


DEFAULTS: dict[str, dict[str, Any]] = {"portsync": {"enabled": True}}
"""The lab's config switches port sync off (for the recovery benchmark, which does not give it
peers); this benchmark does, so its defaults are the config's defaults."""
CASCADE_ONLY: dict[str, dict[str, Any]] = {
    "portsync": {"enabled": False},
    "updates": {"scheduled": False},
    "backups": {"scheduled": False},
}


@dataclass(frozen=True)
class Variant:
    """A supervisor to measure: its config changes, whether ``import trio`` fails in it, and
    whether gluetun refuses its API key (port sync fails and says so at once)."""

    changes: dict[str, dict[str, Any]]
    hide_trio: bool = False
    refused_key: bool = False


SUPERVISOR_VARIANTS = {
    "mediastack": Variant(DEFAULTS),
    "mediastack_without_trio": Variant(DEFAULTS, hide_trio=True),
    "mediastack_after_a_notification": Variant(DEFAULTS, refused_key=True),
    "mediastack_cascade_only": Variant(CASCADE_ONLY),
}
"""See the module docstring. trio is hidden as in the supervisor image, which does not install
it (it is no dependency of mediastack; this development environment has it)."""
HIDE_TRIO = 'raise ImportError("hidden by bench/supervisor_footprint.py: not in the image")\n'


def supervisor_environment(
    variant: Variant, peers: PortSyncPeers, docker_host: str, shim: Path
) -> dict[str, str]:
    """Return the environment of one measured supervisor."""
    environment = {
        "DOCKER_HOST": docker_host,
        "MEDIASTACK_NOTIFY_URLS": f"ntfy://127.0.0.1:{free_port()}/msbench-footprint",
        **peers.environment(api_key="refused" if variant.refused_key else None),
    }
    if variant.hide_trio:
        environment["PYTHONPATH"] = str(shim)
    return environment


def measure_idle(
    lab: Lab, peers: PortSyncPeers, folder: Path, options: argparse.Namespace
) -> dict[str, Any]:
    """Run the supervisors and the monitor side by side; measure each over the window."""
    relays: dict[str, CountingRelay] = {}
    supervisors: dict[str, SupervisorProcess] = {}
    startup: dict[str, tuple[float, float]] = {}
    shim = folder / "without-trio"
    shim.mkdir(exist_ok=True)
    (shim / "trio.py").write_text(HIDE_TRIO)
    for name, variant in SUPERVISOR_VARIANTS.items():
        relays[name] = CountingRelay(folder / f"relay-{name}.sock")
        config = config_variant(lab, name, variant.changes)
        environment = supervisor_environment(variant, peers, relays[name].docker_host, shim)
        supervisors[name] = SupervisorProcess(config, folder / f"{name}.db", environment)
        begun = time.time()
        supervisors[name].start()
        startup[name] = (begun, time.time() + 1)
    relays["baseline"] = CountingRelay(folder / "relay-baseline.sock")
    monitor = MonitorProcess(lab, relays["baseline"].docker_host, options.interval)
    processes = {name: process.process.pid for name, process in supervisors.items()
                 if process.process is not None}  # fmt: skip
    processes["baseline"] = monitor.process.pid
    codes: dict[str, int] = {}
    try:
        print(f"warm-up {options.warmup:g} s, then an idle window of {options.window:g} s",
              flush=True)  # fmt: skip
        time.sleep(options.warmup)
        samplers = {name: Sampler(pid) for name, pid in processes.items()}
        events = EventRecorder(SUPERVISOR_EVENT_FILTER)
        before = {name: cpu_ticks(pid) for name, pid in processes.items()}
        switches = {name: context_switches(pid) for name, pid in processes.items()}
        begin = time.time()
        for sampler in samplers.values():
            sampler.start()
        time.sleep(options.window)
        end = time.time()
        after = {name: cpu_ticks(pid) for name, pid in processes.items()}
        switched = {
            name: (context_switches(pid) or 0) - (switches[name] or 0)
            for name, pid in processes.items()
        }
        for sampler in samplers.values():
            sampler.stop()
        seen = events.stop(settle=0)
        finals = {
            name: {field: status_field(pid, field) for field in ("VmRSS", "VmHWM", "Threads")}
            for name, pid in processes.items()
        }
    finally:
        for name, supervisor in supervisors.items():
            codes[name] = supervisor.stop()
        codes["baseline"] = monitor.stop()
        for relay in relays.values():
            relay.close()
    window = end - begin
    measured: dict[str, Any] = {}
    for name in processes:
        in_window = relays[name].requests_between(begin, end)
        rss = samplers[name].rss
        measured[name] = {
            "rss_mb_median": round(statistics.median(rss) / 1024, 1),
            "rss_mb_max": round(max(rss) / 1024, 1),
            "rss_mb_min": round(min(rss) / 1024, 1),
            "vm_hwm_mb_at_end": round((finals[name]["VmHWM"] or 0) / 1024, 1),
            "threads": finals[name]["Threads"],
            "rss_samples": len(rss),
            **_cpu(before[name], after[name], window),
            "context_switches_all_threads": switched[name],
            "children_rss_mb_max_sampled": round(samplers[name].children_rss_max / 1024, 1),
            "engine_requests_in_window": len(in_window),
            "engine_requests_per_30s": round(len(in_window) / window * 30, 1),
            "engine_requests_by_endpoint": _by_endpoint(in_window),
            "exit_code": codes[name],
        }
    for name, supervisor in supervisors.items():
        measured[name]["engine_requests_at_startup"] = _by_endpoint(
            relays[name].requests_between(*startup[name])
        )
        measured[name]["log_lines_in_window"] = [
            line for line in supervisor.lines if _in_window(line, begin, end)
        ][:50]
        measured[name]["startup_log"] = [line[24:] for line in supervisor.lines[:40]]
    measured["baseline"]["rounds_logged"] = sum("round:" in line for line in monitor.lines)
    return {
        "window_seconds": round(window, 1),
        "warmup_seconds": options.warmup,
        "processes": measured,
        "engine_events_matching_the_supervisors_filter_in_window": len(seen),
        "of_which_from_this_lab": sum(
            1
            for event in seen
            if event.get("Actor", {}).get("Attributes", {}).get("com.docker.compose.project")
            == lab.project
        ),
        "notification_url_configured": "ntfy://127.0.0.1:<closed port>/msbench-footprint",
    }


def _by_endpoint(requests: list[tuple[float, str, str]]) -> dict[str, int]:
    return dict(Counter(_endpoint(method, path) for _, method, path in requests).most_common())


def _cpu(
    before: dict[str, int] | None, after: dict[str, int] | None, window: float
) -> dict[str, Any]:
    if before is None or after is None:
        return {"cpu_error": "the process ended during the window"}
    own = after["utime"] + after["stime"] - before["utime"] - before["stime"]
    children = after["cutime"] + after["cstime"] - before["cutime"] - before["cstime"]
    return {
        "cpu_ticks_own": own,
        "cpu_seconds_own": round(own / CLOCK_TICKS, 3),
        "cpu_percent_own": round(100 * own / CLOCK_TICKS / window, 3),
        "cpu_ticks_children": children,
        "cpu_seconds_children": round(children / CLOCK_TICKS, 3),
        "cpu_percent_with_children": round(100 * (own + children) / CLOCK_TICKS / window, 3),
        "clock_ticks_per_second": CLOCK_TICKS,
    }


def _in_window(line: str, begin: float, end: float) -> bool:
    from datetime import datetime

    try:
        moment = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return False
    return begin <= moment < end


# -- one job run in its child process ---------------------------------------------------------

PORTSYNC_RUNS = 5
BACKUP_RUNS = 3
PORTSYNC_INTERVAL_SECONDS = 300
"""``portsync.interval_seconds``'s default: a run's CPU is spread over it."""
_JOB_PROBE = """
import json, os, resource, sys, time
from datetime import timedelta
from pathlib import Path

from mediastack.config import load_config
from mediastack.supervisor.clock import SystemClock
from mediastack.supervisor.runtime.backup_runner import BackupProcess
from mediastack.supervisor.runtime.job_process import JobProcess
from mediastack.supervisor.runtime.job_protocol import JobName
from mediastack.supervisor.runtime.job_wiring import portsync_secrets
from mediastack.supervisor.runtime.portsync_runner import PortSyncProcess, SyncTrigger


class Handler:
    def notify(self, notification): print("notified:", notification.title, file=sys.stderr)
    def hold_started(self, services, reason): pass
    def hold_ended(self, services, reason): pass


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run):
    cpu, wall = children_cpu(), time.monotonic()
    result = run()
    return {"cpu_seconds": round(children_cpu() - cpu, 3),
            "wall_seconds": round(time.monotonic() - wall, 3), "result": result}


loaded = load_config(Path(sys.argv[1]))
sync = PortSyncProcess(JobProcess(JobName.PORTSYNC, loaded), Handler(),
                       portsync_secrets(loaded, os.environ), SystemClock(), timedelta(minutes=5))
portsync = [timed(lambda: str(sync.run(SyncTrigger.TIMER))) for _ in range(int(sys.argv[2]))]
portsync_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
backup = BackupProcess(JobProcess(JobName.BACKUP, loaded), Handler())
backups = [timed(lambda: backup().status.value) for _ in range(int(sys.argv[3]))]
print(json.dumps({"portsync": portsync, "backup": backups, "portsync_peak_rss_kb": portsync_peak,
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def job_run_costs(lab: Lab, peers: PortSyncPeers) -> dict[str, Any]:
    """Run port sync and a backup, each in its child process as the daemon does, from a
    probe whose only children they are; return CPU, wall time and peak RSS per job."""
    config = config_variant(lab, "jobs", DEFAULTS)
    completed = subprocess.run(
        [sys.executable, "-c", _JOB_PROBE, str(config), str(PORTSYNC_RUNS), str(BACKUP_RUNS)],
        capture_output=True, text=True, check=True, timeout=600,
        env={**_environment(), "PYTHONPATH": str(REPOSITORY_ROOT / "src"),
             **peers.environment()},
    )  # fmt: skip
    probe: dict[str, Any] = json.loads(completed.stdout)
    portsync_cpu = statistics.median(run["cpu_seconds"] for run in probe["portsync"])
    return {
        "portsync": {
            "runs": probe["portsync"],
            "cpu_seconds_median": portsync_cpu,
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in probe["portsync"]),
            "child_peak_rss_mb": round(probe["portsync_peak_rss_kb"] / 1024, 1),
            "cpu_percent_at_the_default_interval": round(
                100 * portsync_cpu / PORTSYNC_INTERVAL_SECONDS, 3
            ),
            "gluetun_requests_seen_by_the_stand_in": len(peers.gluetun.requests),
        },
        "backup": {
            "runs": probe["backup"],
            "cpu_seconds_median": statistics.median(run["cpu_seconds"] for run in probe["backup"]),
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in probe["backup"]),
            "child_peak_rss_mb": round(probe["peak_rss_kb"] / 1024, 1),
        },
        "note": "CPU = user + system of the child (getrusage of the probe's children); the "
        "child's interpreter start and imports are most of it",
    }


# -- what the supervisor loads -----------------------------------------------------------------

WATCHED_PACKAGES = (
    "pydantic", "pydantic_core", "yaml", "docker", "requests", "urllib3", "paramiko",
    "cryptography", "typer", "click", "rich", "pygments", "apprise", "httpx", "httpcore",
    "anyio", "trio", "h11", "qbittorrentapi", "croniter", "zstandard", "markdown", "sqlite3",
    "asyncio",
)  # fmt: skip


def loaded_modules(lab: Lab, peers: PortSyncPeers, folder: Path) -> dict[str, Any]:
    """Run the supervisor (defaults, port sync with its peers) briefly with ``-X importtime``
    (a flag, not PYTHONPROFILEIMPORTTIME: the job processes it starts, whose stderr is its own,
    must not profile theirs into it); return the top-level packages it imported until it was
    watching, with their modules' own import time summed, and the modules it imported later
    (lazily, while idle: its port sync run at start included)."""
    config = config_variant(lab, "imports", DEFAULTS)
    command = [
        sys.executable, "-X", "importtime", "-m", "mediastack", "-c", str(config), "supervise",
        "--state-file", str(folder / "supervisor-imports.db"),
    ]  # fmt: skip
    environment = {
        **_environment(),
        "PYTHONUNBUFFERED": "1",
        "MEDIASTACK_NOTIFY_URLS": f"ntfy://127.0.0.1:{free_port()}/msbench-footprint",
        **peers.environment(),
    }
    lines = _run_briefly(command, environment, "event stream connected; watching", 15.0)
    watching_at = next(index for index, line in enumerate(lines) if "watching" in line)
    before = _import_lines(lines[:watching_at])
    after = _import_lines(lines[watching_at:])
    modules: Counter[str] = Counter()
    own_time: Counter[str] = Counter()
    for name, self_us in before.items():
        modules[name.split(".")[0]] += 1
        own_time[name.split(".")[0]] += self_us
    return {
        "modules_imported_until_watching": len(before),
        "import_seconds_until_watching": round(sum(before.values()) / 1e6, 3),
        "modules_imported_after_watching": sorted(after),
        "top_level_packages_by_import_time": {
            name: {"modules": modules[name], "import_seconds": round(micros / 1e6, 3)}
            for name, micros in own_time.most_common(30)
        },
        "watched_packages": {name: _state(name, modules) for name in WATCHED_PACKAGES},
    }


def _run_briefly(
    command: list[str], environment: dict[str, str], ready: str, then: float
) -> list[str]:
    """Run ``command`` until a line contains ``ready``, ``then`` seconds more, SIGTERM it;
    return its output lines."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, env=environment,
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(lambda: any(ready in line for line in lines), 60, "the supervisor watching")
    time.sleep(then)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    reader.join(10)
    return lines


def _state(name: str, modules: Counter[str]) -> str:
    """Return "loaded", "not loaded", or "not installed" (an import was only attempted: the
    import-time log lists failed imports too, e.g. the docker SDK trying paramiko)."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        return "not installed"
    return "loaded" if name in modules else "not loaded"


def _import_lines(lines: list[str]) -> dict[str, int]:
    """Parse ``import time: self | cumulative | name`` lines; return name -> self us."""
    found: dict[str, int] = {}
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, _, name = re.split(r"[:|]", line, maxsplit=3)
        found[name.strip()] = int(self_us)
    return found


IMPORT_STEPS = (
    ("python itself", ""),
    ("+ mediastack.cli.main (the console script's module)", "import mediastack.cli.main"),
    ("+ yaml", "import yaml"),
    ("+ pydantic", "import pydantic"),
    ("+ mediastack.config (its models built)", "import mediastack.config"),
    ("+ sqlite3 (the state file)", "import sqlite3"),
    ("+ mediastack.supervisor.runtime.daemon", "import mediastack.supervisor.runtime.daemon"),
    ("+ mediastack.cli.supervise_daemon (wiring: the daemon's all)",
     "import mediastack.cli.supervise_daemon"),
    ("+ croniter (the schedules)", "import croniter"),
    ("not loaded: + apprise (only in the child that sends a notification)", "import apprise"),
    ("not loaded: + docker SDK (requests, urllib3, ssl)", "import docker"),
    ("not loaded: + httpx (httpcore; click and rich for its CLI)", "import httpx"),
    ("not loaded: + mediastack.cli.app (typer, rich, every command)", "import mediastack.cli.app"),
    ("not loaded: + the jobs (port sync, updates, backups)",
     "import mediastack.portsync, mediastack.updates.pipeline, mediastack.backup"),
)  # fmt: skip
ALONE = (
    ("typer", "import typer"),
    ("rich.console", "import rich.console"),
    ("yaml", "import yaml"),
    ("pydantic", "import pydantic"),
    ("mediastack.config", "import mediastack.config"),
    ("ssl", "import ssl"),
    ("http.client (imports ssl)", "import http.client"),
    ("docker", "import docker"),
    ("requests", "import requests"),
    ("httpx", "import httpx"),
    ("trio", "import trio"),
    ("qbittorrentapi", "import qbittorrentapi"),
    ("croniter", "import croniter"),
    ("zstandard", "import zstandard"),
    ("sqlite3", "import sqlite3"),
    ("apprise", "import apprise"),
    ("mediastack.supervisor.runtime.daemon", "import mediastack.supervisor.runtime.daemon"),
    ("mediastack.supervisor.runtime.wiring", "import mediastack.supervisor.runtime.wiring"),
    ("mediastack.cli.main", "import mediastack.cli.main"),
    ("mediastack.cli.app", "import mediastack.cli.app"),
)
_PROBE = """
import sys, json
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
out = []
for label, statement in json.loads(sys.argv[1]):
    try:
        exec(statement)
        out.append([label, rss(), len(sys.modules), None])
    except Exception as error:
        out.append([label, rss(), len(sys.modules), repr(error)])
print(json.dumps(out))
"""
_PATTERN_MODEL = """
from pydantic import BaseModel, Field
class Warm(BaseModel):
    x: int = 1
class Probe(BaseModel):
    value: str = Field("a", pattern={pattern!r})
Probe(value="a")
"""
PATTERNS = {
    "services.*.tag, as in the schema": r"^[\w][\w.-]{0,127}$",
    "the same, ASCII classes": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
    "services.*.image": r"^[a-z0-9][a-z0-9._/:@-]*$",
}
"""Measured because pydantic-core compiles ``pattern=`` with Rust's regex crate, in which a
Unicode class (``\\w`` is Unicode there) under a bounded repetition is compiled into a large
automaton up front."""


def _probe(steps: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> list[list[Any]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(steps))],
        capture_output=True, text=True, check=True, timeout=120,
        env={**_environment(), "PYTHONPATH": str(REPOSITORY_ROOT / "src")},
    )  # fmt: skip
    result: list[list[Any]] = json.loads(completed.stdout)
    return result


def import_breakdown(repetitions: int = 3) -> dict[str, Any]:
    """Return the RSS after each cumulative import step, of each library alone, and of one
    pydantic field pattern each (median of ``repetitions`` fresh processes; MB)."""
    cumulative_runs = [_probe(IMPORT_STEPS) for _ in range(repetitions)]
    cumulative = []
    previous = None
    for index, (label, _) in enumerate(IMPORT_STEPS):
        rss = statistics.median(run[index][1] for run in cumulative_runs) / 1024
        cumulative.append({
            "step": label,
            "rss_mb": round(rss, 1),
            "delta_mb": None if previous is None else round(rss - previous, 1),
            "modules": cumulative_runs[0][index][2],
            "error": cumulative_runs[0][index][3],
        })  # fmt: skip
        previous = rss
    bare = statistics.median(_probe([("python", "")])[0][1] for _ in range(repetitions)) / 1024
    alone = []
    for label, statement in ALONE:
        runs = [_probe([(label, statement)])[0] for _ in range(repetitions)]
        rss = statistics.median(run[1] for run in runs) / 1024
        alone.append({
            "import": label,
            "rss_mb": round(rss, 1),
            "over_bare_python_mb": round(rss - bare, 1),
            "modules": runs[0][2],
            "error": runs[0][3],
        })  # fmt: skip
    patterns = {}
    for label, pattern in PATTERNS.items():
        steps = [("warm", _PATTERN_MODEL.split("class Probe")[0]),
                 ("with the field", "class Probe" + _PATTERN_MODEL.split("class Probe")[1]
                  .format(pattern=pattern))]  # fmt: skip
        runs = [_probe(steps) for _ in range(repetitions)]
        delta = statistics.median(run[1][1] - run[0][1] for run in runs) / 1024
        patterns[label] = {"pattern": pattern, "rss_mb_of_one_field": round(delta, 1),
                           "error": runs[0][1][3]}  # fmt: skip
    return {
        "bare_python_mb": round(bare, 1),
        "cumulative": cumulative,
        "alone": alone,
        "pydantic_field_patterns": patterns,
    }


# -- the summary -----------------------------------------------------------------------------------


def summarize(
    idle: dict[str, Any],
    jobs: dict[str, Any],
    loaded: dict[str, Any],
    imports: dict[str, Any],
    options: argparse.Namespace,
    command: str,
    seconds: float,
    measured_on: dict[str, Any],
) -> dict[str, Any]:
    ours = idle["processes"]["mediastack"]
    goals = {
        "rss_at_most_45_mb": {"median_mb": ours["rss_mb_median"],
                              "met": ours["rss_mb_median"] <= RSS_GOAL_MB},
        "about_zero_cpu": {"percent": ours.get("cpu_percent_own"),
                           "threshold_percent": CPU_GOAL_PERCENT,
                           "met": ours.get("cpu_percent_own", 100) < CPU_GOAL_PERCENT},
        "zero_engine_calls_idle": {"requests": ours["engine_requests_in_window"],
                                   "met": ours["engine_requests_in_window"] == 0},
    }  # fmt: skip
    imaged = idle["processes"]["mediastack_without_trio"]
    goals["rss_at_most_45_mb_without_trio_as_in_the_image"] = {
        "median_mb": imaged["rss_mb_median"],
        "met": imaged["rss_mb_median"] <= RSS_GOAL_MB,
    }
    notified = idle["processes"]["mediastack_after_a_notification"]
    goals["rss_at_most_45_mb_after_the_first_notification"] = {
        "median_mb": notified["rss_mb_median"],
        "met": notified["rss_mb_median"] <= RSS_GOAL_MB,
        "note": "each notification is sent by a child process (mediastack.notify.child): "
        "Apprise never enters the daemon",
    }
    return {
        "benchmark": "supervisor_footprint",
        "command": command,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(seconds, 1),
        "machine": measured_on,
        "settings": {
            "window_seconds": options.window,
            "warmup_seconds": options.warmup,
            "dependents": list(DEPENDENTS),
            "mediastack": "python -m mediastack -c CONFIG supervise --state-file <fresh>, on "
            "the host, DOCKER_HOST=<its counting relay>, a notification URL configured; the "
            "config's defaults: port sync on (its peers on 127.0.0.1: a stand-in of gluetun's "
            "control server and qbittorrent-nox, already on the forwarded port, reached through "
            "MEDIASTACK_PORTSYNC_GLUETUN_URL/_QBITTORRENT_URL instead of by service name), "
            "update and backup schedules on, webhook off",
            "mediastack_without_trio": "the same with `import trio` failing (a shim on "
            "PYTHONPATH), as in the supervisor image, which does not install trio",
            "mediastack_after_a_notification": "the same as mediastack, but gluetun refuses its "
            "API key: port sync fails at start and notifies at once, so Apprise is loaded",
            "mediastack_cascade_only": "port sync, updates.scheduled and backups.scheduled off",
            "baseline": "bench/supervisor_baselines.py exec-monitor: every "
            f"{options.interval:g} s, 20 `docker exec` calls (2 in gluetun, 2 per dependent) "
            "through the docker CLI, DOCKER_HOST=<its own counting relay>",
            "cpu": "utime+stime of /proc/PID/stat over the window (children: cutime+cstime)",
            "rss": "VmRSS of /proc/PID/status, sampled every second",
        },
        "idle": idle,
        "job_runs": jobs,
        "goals": goals,
        "loaded_by_the_running_supervisor": loaded,
        "rss_breakdown": imports,
    }


COLUMNS = (
    "mediastack",
    "mediastack_without_trio",
    "mediastack_after_a_notification",
    "mediastack_cascade_only",
    "baseline",
)
HEADINGS = ("mediastack", "no trio", "after notice", "cascade-only", "baseline")


def print_tables(result: dict[str, Any]) -> None:
    idle = result["idle"]
    processes = idle["processes"]
    rows = [
        ("RSS median (MB)", "rss_mb_median"),
        ("RSS max (MB)", "rss_mb_max"),
        ("VmHWM at end (MB)", "vm_hwm_mb_at_end"),
        ("threads", "threads"),
        ("CPU own (s in window)", "cpu_seconds_own"),
        ("CPU own (%)", "cpu_percent_own"),
        ("CPU incl. children (%)", "cpu_percent_with_children"),
        ("context switches (wakeups)", "context_switches_all_threads"),
        ("children RSS max sampled (MB)", "children_rss_mb_max_sampled"),
        ("engine requests in window", "engine_requests_in_window"),
        ("engine requests per 30 s", "engine_requests_per_30s"),
    ]
    print(f"\nidle window {idle['window_seconds']} s (all at once)")
    print(f"{'':32}" + "".join(f"{heading:>14}" for heading in HEADINGS))
    for label, name in rows:
        cells = [processes[column].get(name) for column in COLUMNS]
        print(f"{label:32}" + "".join(f"{cell!s:>14}" for cell in cells))
    print(f"container events matching the supervisor's filter in the window: "
          f"{idle['engine_events_matching_the_supervisors_filter_in_window']} "
          f"(this lab: {idle['of_which_from_this_lab']})")  # fmt: skip
    print(f"baseline endpoints: {processes['baseline']['engine_requests_by_endpoint']}")
    print(f"supervisor at startup: {processes['mediastack']['engine_requests_at_startup']}")
    for job, costs in result["job_runs"].items():
        if isinstance(costs, dict):
            print(f"one {job} run in its child: CPU {costs['cpu_seconds_median']} s, wall "
                  f"{costs['wall_seconds_median']} s, child peak RSS {costs['child_peak_rss_mb']} "
                  "MB (medians)")  # fmt: skip
    breakdown = result["rss_breakdown"]
    print("\nRSS, cumulative imports (fresh process, median of 3)")
    for step in breakdown["cumulative"]:
        delta = "" if step["delta_mb"] is None else f"{step['delta_mb']:+.1f}"
        print(f"  {step['step']:46} {step['rss_mb']:6.1f} MB {delta:>7}  "
              f"{step['modules']} modules")  # fmt: skip
    print(f"RSS of one import alone, over bare python ({breakdown['bare_python_mb']} MB)")
    for item in breakdown["alone"]:
        error = f"  ({item['error']})" if item["error"] else ""
        print(f"  {item['import']:40} {item['over_bare_python_mb']:+6.1f} MB{error}")
    print("RSS of one pydantic string field with a pattern")
    for label, item in breakdown["pydantic_field_patterns"].items():
        print(f"  {label:40} {item['rss_mb_of_one_field']:+6.1f} MB  {item['pattern']}")
    watched = result["loaded_by_the_running_supervisor"]["watched_packages"]
    for state in ("loaded", "not loaded", "not installed"):
        names = [name for name, found in watched.items() if found == state]
        print(f"{state} (running supervisor, defaults): {', '.join(names) or '-'}")
    for name, goal in result["goals"].items():
        print(f"goal {name}: {'met' if goal['met'] else 'NOT met'} ({goal})")


if __name__ == "__main__":
    main()
