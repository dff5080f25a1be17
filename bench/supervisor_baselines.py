"""The two baselines the supervisor benchmarks measure against, as small standalone processes.

Both use only the Docker CLI (the way such scripts are usually written), print one log line per
action with a wall-clock timestamp, and stop cleanly on SIGTERM. Run by
``bench/supervisor_recovery.py`` and ``bench/supervisor_footprint.py``; runnable by hand:

``poll-recreate`` (recovery baseline): a 5-second polling loop. Every ``--interval`` seconds
(fixed rate, measured from the start of one round to the start of the next) it makes two
engine calls through the CLI: ``docker ps -a -q --no-trunc --filter label=<project>`` and one
``docker inspect`` of every container found. When gluetun runs and is healthy, a dependent is
stale when it is not running, when its ``HostConfig.NetworkMode`` is not
``container:<gluetun's id>``, or when its ``State.StartedAt`` is before gluetun's. The stale
dependents are then recreated one by one, in the order given, each with its own
``docker compose -p P -f F --project-directory D up -d --force-recreate --no-deps <service>``
call, each call waited for before the next (no wait for health in between, no fixed sleep).
When gluetun is not healthy nothing is done until a later round.

    python bench/supervisor_baselines.py poll-recreate --project P --compose-file F \\
        --project-directory D --dependents qbittorrent,prowlarr,... [--interval 5]

``exec-monitor`` (footprint baseline): the closest peer's idle behaviour, a Python monitor
that every ``--interval`` (30) seconds runs ``docker exec`` checks: two in gluetun (its
healthcheck command, and its control server's public-IP route read with wget) and two in each
dependent (``ls /sys/class/net``: does the namespace still have an interface; and a wget of
its own web UI on localhost, or ``cat /proc/1/stat`` when it has none): 20 ``docker exec``
calls per round with nine dependents. It never heals anything here: only its idle cost is
measured.

    python bench/supervisor_baselines.py exec-monitor --gluetun CONTAINER \\
        --dependents name:port,name:port,... [--interval 30]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

_stop = threading.Event()


def log(message: str) -> None:
    """One line on stdout: wall-clock time (epoch seconds), then the message."""
    print(f"{time.time():.6f} {message}", flush=True)


def docker(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGUMENTS``; return the finished process (never raises on exit codes)."""
    return subprocess.run(
        ["docker", *arguments], capture_output=True, text=True, timeout=timeout, check=False
    )


def started_at(container: dict[str, Any]) -> datetime:
    """Parse ``State.StartedAt`` (RFC 3339 with up to nine fraction digits, trailing zeros
    trimmed by the engine, so the strings cannot be compared as text)."""
    text = container["State"]["StartedAt"].rstrip("Z")
    whole, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction + "000000")[:6]))


# -- poll-recreate ----------------------------------------------------------------------------


def read_project(project: str) -> dict[str, dict[str, Any]]:
    """Return service -> its current container (the running one started last) in ``project``."""
    listed = docker("ps", "-a", "-q", "--no-trunc", "--filter", f"label={PROJECT_LABEL}={project}")
    ids = listed.stdout.split()
    if not ids:
        return {}
    inspected = docker("inspect", *ids)
    if inspected.returncode != 0:  # one vanished between the two calls: next round
        return {}
    current: dict[str, dict[str, Any]] = {}
    for container in json.loads(inspected.stdout):
        service = container["Config"]["Labels"].get(SERVICE_LABEL)
        known = current.get(service)
        if known is None or _rank(container) > _rank(known):
            current[service] = container
    return current


def _rank(container: dict[str, Any]) -> tuple[bool, datetime]:
    return container["State"]["Running"], started_at(container)


def stale_dependents(
    containers: dict[str, dict[str, Any]], gluetun_service: str, dependents: Sequence[str]
) -> list[str] | None:
    """Return the stale dependents in order, or None when gluetun is not running healthy."""
    gluetun = containers.get(gluetun_service)
    if gluetun is None or not gluetun["State"]["Running"]:
        return None
    if gluetun["State"].get("Health", {}).get("Status", "healthy") != "healthy":
        return None
    stale = []
    for service in dependents:
        container = containers.get(service)
        if container is None:
            continue
        wrong_mode = container["HostConfig"]["NetworkMode"] != f"container:{gluetun['Id']}"
        older = started_at(container) < started_at(gluetun)
        if not container["State"]["Running"] or wrong_mode or older:
            stale.append(service)
    return stale


def poll_recreate(options: argparse.Namespace) -> None:
    dependents = options.dependents.split(",")
    compose = [
        "compose", "-p", options.project, "-f", options.compose_file,
        "--project-directory", options.project_directory,
    ]  # fmt: skip
    log(f"watching {options.project} every {options.interval:g} s")
    next_round = time.monotonic()
    while not _stop.is_set():
        stale = stale_dependents(read_project(options.project), options.gluetun, dependents)
        for service in stale or []:
            if _stop.is_set():
                break
            log(f"recreate {service}")
            done = docker(*compose, "up", "-d", "--force-recreate", "--no-deps", service)
            log(f"recreated {service} (exit {done.returncode})")
        next_round += options.interval
        now = time.monotonic()
        if next_round < now:  # the round took longer than the interval: start again now
            next_round = now
        _stop.wait(next_round - now)
    log("stopped")


# -- exec-monitor -----------------------------------------------------------------------------


def exec_round(gluetun: str, dependents: Sequence[tuple[str, int]]) -> int:
    """Run one round of ``docker exec`` checks; return how many exec calls it made."""
    checks: list[list[str]] = [
        [gluetun, "/gluetun-entrypoint", "healthcheck"],
        [gluetun, "wget", "-q", "-O", "-", "http://127.0.0.1:8000/v1/publicip/ip"],
    ]
    for name, port in dependents:
        checks.append([name, "ls", "/sys/class/net"])
        if port:
            checks.append([name, "wget", "-q", "-O", "/dev/null", f"http://localhost:{port}/"])
        else:
            checks.append([name, "cat", "/proc/1/stat"])
    failed = 0
    for check in checks:
        if docker("exec", *check, timeout=30).returncode != 0:
            failed += 1
    log(f"round: {len(checks)} docker exec calls, {failed} failed")
    return len(checks)


def exec_monitor(options: argparse.Namespace) -> None:
    dependents = []
    for item in options.dependents.split(","):
        name, _, port = item.partition(":")
        dependents.append((name, int(port or 0)))
    log(f"watching {len(dependents)} dependents every {options.interval:g} s")
    next_round = time.monotonic()
    while not _stop.is_set():
        exec_round(options.gluetun, dependents)
        next_round += options.interval
        _stop.wait(max(0.0, next_round - time.monotonic()))
    log("stopped")


# -- entry ------------------------------------------------------------------------------------


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    poll = commands.add_parser("poll-recreate", help="the recovery baseline")
    poll.add_argument("--project", required=True)
    poll.add_argument("--compose-file", required=True)
    poll.add_argument("--project-directory", required=True)
    poll.add_argument("--gluetun", default="gluetun", help="gluetun's compose service")
    poll.add_argument("--dependents", required=True, help="services, comma-separated, in order")
    poll.add_argument("--interval", type=float, default=5.0)
    monitor = commands.add_parser("exec-monitor", help="the footprint baseline")
    monitor.add_argument("--gluetun", required=True, help="gluetun's container name or id")
    monitor.add_argument("--dependents", required=True, help="name:port,... (port 0: no web UI)")
    monitor.add_argument("--interval", type=float, default=30.0)
    options = parser.parse_args(arguments)
    signal.signal(signal.SIGTERM, lambda number, frame: _stop.set())
    signal.signal(signal.SIGINT, lambda number, frame: _stop.set())
    if options.command == "poll-recreate":
        poll_recreate(options)
    else:
        exec_monitor(options)
    sys.exit(0)


if __name__ == "__main__":
    main()
