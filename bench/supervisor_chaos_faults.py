"""Helpers of ``bench/supervisor_chaos.py``: one trial (a healer, the engine's record, a
notice receiver's topic, host-clock marks), what the lab looks like at a moment, and the
figures taken from a recording (on the engine's clock: its events' ``timeNano``).

A dependent counts as *healed* at the first ``health_status: healthy`` event of the container
that, at the end of the window, runs healthy with ``NetworkMode container:<gluetun's id>`` and
gluetun's network namespace (``/proc/<pid>/ns/net``), and was created after the fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from supervisor_lab import (
    DEPENDENTS,
    GLUETUN,
    REPOSITORY_ROOT,
    EventRecorder,
    Lab,
    SupervisorProcess,
    docker,
    event_service,
    event_time,
    wait_until,
)

sys.path.insert(0, str(REPOSITORY_ROOT / "tests"))

from test_supervisor_harness import history

from mediastack.config.schema import Supervisor
from mediastack.supervisor.runtime.report import read_report
from support.ntfy_receiver import NtfyReceiver

GLUETUN_ACTIONS = ("kill", "die", "stop", "destroy", "start", "create")
LOG_NEEDLES = (
    "decision:", "compose ", " issued ", " ended: ", "notify [", "WARNING", "ERROR",
    "Traceback", "held back", "state loaded", "prepared ", "recreated ", "started ",
    "removing ", "stopped;", "resum",
)  # fmt: skip
"""What of a supervisor's log goes into the results: its decisions and what came of them."""


# -- what the lab looks like -----------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The lab at host time ``taken_at``: gluetun's container, and per running dependent its
    container id and whether it runs healthy in gluetun's network namespace."""

    taken_at: float
    gluetun_id: str | None
    dependents: dict[str, tuple[str, bool]]

    def healed(self, services: Iterable[str], before: dict[str, str]) -> bool:
        """Return True when every one of ``services`` runs healthy in gluetun's namespace in a
        container other than its one in ``before``."""
        return all(
            service in self.dependents
            and self.dependents[service][1]
            and self.dependents[service][0] != before.get(service)
            for service in services
        )


def snapshot(lab: Lab) -> Snapshot:
    """Return the lab as it is now (running containers only)."""
    taken_at = time.time()
    inspected = _inspect_running(lab)
    gluetun = inspected.get(GLUETUN)
    if gluetun is None:
        return Snapshot(taken_at, None, {})
    namespace = _namespace(gluetun)
    dependents = {}
    for service in DEPENDENTS:
        container = inspected.get(service)
        if container is None:
            continue
        inside = (
            container["HostConfig"]["NetworkMode"] == f"container:{gluetun['Id']}"
            and namespace is not None
            and _namespace(container) == namespace
            and container["State"].get("Health", {}).get("Status") == "healthy"
        )
        dependents[service] = (container["Id"], inside)
    return Snapshot(taken_at, gluetun["Id"], dependents)


def _inspect_running(lab: Lab) -> dict[str, dict[str, Any]]:
    """Return service -> ``docker inspect`` of its running container; a container removed
    between the listing and the inspect (a healer recreating it) is left out."""
    ids = lab.containers()
    if not ids:
        return {}
    listed = docker("inspect", *ids.values(), check=False).stdout
    by_id = {container["Id"]: container for container in json.loads(listed or "[]")}
    return {service: by_id[found] for service, found in ids.items() if found in by_id}


def _namespace(container: dict[str, Any]) -> str | None:
    try:
        return os.readlink(f"/proc/{container['State']['Pid']}/ns/net")
    except OSError:
        return None


# -- one trial -------------------------------------------------------------------------------


@dataclass
class Trial:
    """One fault under one healer: the supervisor (``supervisors``: more than one when it is
    killed and started again) or the baseline, the engine's record from before the fault,
    host-clock ``marks`` and the snapshots taken at the end of each ``windows`` entry."""

    lab: Lab
    fault: str
    healer: str
    receiver: NtfyReceiver
    state_file: Path
    config: Path
    topic: str = field(default_factory=lambda: f"chaos-{secrets.token_hex(4)}")
    supervisors: list[SupervisorProcess] = field(default_factory=list)
    recorder: EventRecorder | None = None
    before: dict[str, str] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    windows: list[tuple[str, float, Snapshot]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self) -> None:
        """Note the containers as they are and start the engine's record."""
        self.before = self.lab.containers()
        self.recorder = EventRecorder.for_project(self.lab.project)

    def start_supervisor(self) -> SupervisorProcess:
        environment = {"MEDIASTACK_NOTIFY_URLS": self.receiver.url(self.topic)}
        supervisor = SupervisorProcess(self.config, self.state_file, environment)
        self.supervisors.append(supervisor)
        self.mark(f"supervisor_{len(self.supervisors)}_start")
        return supervisor.start()

    @property
    def supervisor(self) -> SupervisorProcess:
        return self.supervisors[-1]

    def mark(self, name: str) -> float:
        self.marks[name] = time.time()
        return self.marks[name]

    def wait_healed(
        self,
        window: str,
        timeout: float,
        services: Sequence[str] = DEPENDENTS,
        cascades: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> Snapshot:
        """Wait until ``services`` run healthy in gluetun's namespace in new containers and,
        under the supervisor, the state file's history satisfies ``cascades`` (default: one
        more cascade than before, none in flight); close window ``window`` (which began at
        the mark of the same name) with a snapshot and return it."""
        wanted = cascades or (lambda found: len(found) > len(self.windows))

        def done() -> Snapshot | None:
            if self.supervisors and not (wanted(cascade_history(self.state_file))
                                         and not in_flight(self.state_file)):  # fmt: skip
                return None
            found = snapshot(self.lab)
            return found if found.healed(services, self.before) else None

        found: Snapshot = wait_until(done, timeout, f"{self.fault}: {window} healed", every=0.3)
        self.windows.append((window, self.marks[window], found))
        return found

    def close_window(self, window: str) -> Snapshot:
        """Close window ``window`` with a snapshot of the lab as it is."""
        found = snapshot(self.lab)
        self.windows.append((window, self.marks[window], found))
        return found

    def stop(self) -> list[dict[str, Any]]:
        """Stop every supervisor still running (SIGTERM; kill when it does not end) and the
        record; return the events."""
        for supervisor in self.supervisors:
            process = supervisor.process
            if process is None or process.poll() is not None:
                continue
            try:
                supervisor.stop()
            except AssertionError:
                self.notes.append("a supervisor did not exit within 60 s of SIGTERM: killed")
        return self.recorder.stop() if self.recorder is not None else []


# -- the state file ----------------------------------------------------------------------------


def cascade_history(state_file: Path) -> list[dict[str, Any]]:
    """Return the finished cascades in the state file, oldest first."""
    if not state_file.exists():
        return []
    return [
        {
            "outcome": cascade.outcome.value,
            "healed": list(cascade.healed),
            "failed": list(cascade.failed),
            "gluetun": cascade.gluetun.short_id,
            "duration_seconds": round(cascade.duration.total_seconds(), 3),
        }
        for cascade in reversed(history(state_file))
    ]


def in_flight(state_file: Path) -> bool:
    """Return True while the state file holds a cascade in flight."""
    if not state_file.exists():
        return False
    return read_report(state_file, Supervisor(), datetime.now(UTC)).in_flight is not None


def counted_cascades(state_file: Path) -> int | None:
    """Return how many cascades the rate limiter's window holds (what counts toward
    ``max_cascades_per_hour``), or None when the file cannot be read."""
    if not state_file.exists():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{state_file}?mode=ro", uri=True)) as db:
        try:
            (count,) = db.execute("SELECT COUNT(*) FROM cascade_window").fetchone()
        except sqlite3.Error:
            return None
    return int(count)


def paused_until(state_file: Path) -> str | None:
    if not state_file.exists():
        return None
    report = read_report(state_file, Supervisor(), datetime.now(UTC))
    return report.paused_until.isoformat() if report.paused_until else None


def log_extract(supervisor: SupervisorProcess, limit: int = 120) -> list[str]:
    """Return the supervisor's log lines about its decisions and their results."""
    lines = [line for line in supervisor.log().splitlines()
             if any(needle in line for needle in LOG_NEEDLES)]  # fmt: skip
    return lines[:limit]


# -- figures from the engine's record ---------------------------------------------------------


def figures(
    events: list[dict[str, Any]],
    since: float,
    until: Snapshot,
    services: Sequence[str] = DEPENDENTS,
) -> dict[str, Any]:
    """Return the figures of one window: from host time ``since`` (the fault issued) to the
    snapshot ``until``. Seconds on the engine's clock; None where not observed."""
    window = [e for e in events if since - 0.2 <= event_time(e) <= until.taken_at + 0.5]
    gluetun = [e for e in window if event_service(e) == GLUETUN]
    fault = min((event_time(e) for e in gluetun if e["Action"] in GLUETUN_ACTIONS), default=None)
    starts = [event_time(e) for e in gluetun if e["Action"] == "start"]
    healthy = min(
        (event_time(e) for e in gluetun if e["Action"] == "health_status: healthy"
         and starts and event_time(e) >= max(starts)),
        default=None,
    )  # fmt: skip
    healed_at = {s: _healed_at(window, s, until, fault) for s in services}
    complete = fault is not None and all(v is not None for v in healed_at.values())
    last = max(v for v in healed_at.values() if v is not None) if complete else None
    return {
        "healed_seconds": _round(last - fault) if last is not None and fault else None,
        "after_gluetun_healthy_seconds": (
            _round(last - healthy) if last is not None and healthy is not None else None
        ),
        "fault_to_gluetun_healthy_seconds": (
            _round(healthy - fault) if healthy is not None and fault is not None else None
        ),
        "gluetun_starts": len(starts),
        "gluetun_healthy_events": sum(
            1 for e in gluetun if e["Action"] == "health_status: healthy"
        ),
        "creates": creates(window),
        "dependent_healthy_after_fault": {
            s: _round(v - fault) if v is not None and fault is not None else None
            for s, v in healed_at.items()
        },
        "not_healed": [s for s, v in healed_at.items() if v is None],
    }


def _healed_at(
    window: list[dict[str, Any]], service: str, until: Snapshot, fault: float | None
) -> float | None:
    current = until.dependents.get(service)
    if current is None or not current[1] or fault is None:
        return None
    container, _ = current
    own = [e for e in window if e["id"] == container]
    if not any(e["Action"] == "create" for e in own):
        return None  # not made after the fault: not a healing
    return min((event_time(e) for e in own if e["Action"] == "health_status: healthy"
                and event_time(e) >= fault), default=None)  # fmt: skip


def creates(events: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Return service -> containers created (``create`` events), gluetun's included."""
    counts: dict[str, int] = {}
    for event in events:
        service = event_service(event)
        if event["Action"] == "create" and service is not None:
            counts[service] = counts.get(service, 0) + 1
    return dict(sorted(counts.items()))


def events_between(events: list[dict[str, Any]], since: float, until: float) -> list[str]:
    """Return the events between two host times as short lines (seconds after ``since``)."""
    return [
        f"{event_time(e) - since:+.3f} {event_service(e)} {e['Action']} {e['id'][:8]}"
        for e in events
        if since - 0.2 <= event_time(e) <= until
    ]


def _round(value: float) -> float:
    return round(value, 3)


def restart_gluetun(lab: Lab) -> None:
    docker("restart", "-t", "1", lab.containers()[GLUETUN], timeout=60)
