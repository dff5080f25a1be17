"""A container's resource figures, read from the host: its memory cgroup (v1 or v2), the
VmRSS of every process in it, its CPU accounting, ``docker stats``; and what each thread of
a process is doing (its wakeups, the system call it waits in)."""

from __future__ import annotations

import statistics
import threading
from pathlib import Path
from typing import Any

from supervisor_lab import docker, status_field

CGROUP = Path("/sys/fs/cgroup")


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


def memory_summary(samples: list[dict[str, int]]) -> dict[str, Any]:
    def mb(name: str, pick: Any = statistics.median, scale: float = 1 / 1048576) -> float:
        return round(float(pick(sample[name] for sample in samples)) * scale, 1)

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


def docker_stats(ids: list[str]) -> dict[str, str]:
    done = docker(
        "stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}} {{.CPUPerc}}", *ids, check=False
    )
    return {line.split()[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines() if line}


def cgroup_cpu(before: int | None, after: int | None, window: float) -> dict[str, Any]:
    if before is None or after is None:
        return {"cgroup_cpu_error": "cpuacct not readable"}
    seconds = (after - before) / 1e9
    return {
        "cgroup_cpu_seconds": round(seconds, 3),
        "cgroup_cpu_percent": round(100 * seconds / window, 3),
        "cgroup_cpu_seconds_per_hour": round(seconds * 3600 / window, 2),
    }


# x86_64 numbers of the system calls an idle Python thread waits in.
SYSCALL_NAMES = {
    "0": "read", "7": "poll", "23": "select", "35": "nanosleep", "45": "recvfrom",
    "61": "wait4", "202": "futex", "230": "clock_nanosleep", "232": "epoll_wait",
    "270": "pselect6", "271": "ppoll", "281": "epoll_pwait",
}  # fmt: skip


def thread_switches(pid: int) -> dict[int, int]:
    """Return thread id -> its voluntary + involuntary context switches so far."""
    switches: dict[int, int] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return switches
    for task in tasks:
        try:
            lines = (task / "status").read_text().splitlines()
        except OSError:
            continue
        switches[int(task.name)] = sum(
            int(line.split()[1])
            for line in lines
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"))
        )
    return switches


def thread_wakeups(
    pid: int, before: dict[int, int], after: dict[int, int], window: float
) -> list[dict[str, Any]]:
    """Each thread alive at both ends: its wakeups in the window (per hour) and what it
    waits in now (the system call, the kernel's wchan), the busiest first."""
    threads: list[dict[str, Any]] = []
    for tid in sorted(set(before) & set(after)):
        task = Path(f"/proc/{pid}/task/{tid}")
        syscall = _read(task / "syscall").split(" ", 1)[0]
        threads.append(
            {
                "tid": tid,
                "main_thread": tid == pid,
                "switches_in_window": after[tid] - before[tid],
                "per_hour": round((after[tid] - before[tid]) * 3600 / window),
                "waits_in": SYSCALL_NAMES.get(syscall, syscall),
                "wchan": _read(task / "wchan"),
            }
        )
    started = sorted(set(after) - set(before))
    ended = sorted(set(before) - set(after))
    threads.sort(key=lambda thread: -thread["switches_in_window"])
    if started or ended:
        threads.append({"started_in_window": len(started), "ended_in_window": len(ended)})
    return threads


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
