"""The supervisor's state as ``mediastack status`` shows it: read from the state file only.

Watching, cascading (which gluetun, which dependents where), or paused until a time; and the
last cascades with their outcome and duration. Reading never creates the state file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mediastack.config import LoadedConfig
from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import FinishedCascade
from mediastack.supervisor.cascade import CascadeMachine, CascadeSettings, Mode
from mediastack.supervisor.limits import CascadeLimiter
from mediastack.supervisor.progress import InFlightCascade
from mediastack.supervisor.runtime.instance import is_running
from mediastack.supervisor.state import StateError, SupervisorStore

HISTORY_SHOWN = 5


def state_file_path(loaded: LoadedConfig, override: Path | None = None) -> Path:
    """Return the state file: ``override``, else ``supervisor.state_file`` (relative to the
    folder holding mediastack.yaml)."""
    return override if override is not None else loaded.folder(loaded.config.supervisor.state_file)


@dataclass(frozen=True)
class SupervisorReport:
    """What the state file says. ``problem`` is set (and the rest empty) when it is unusable."""

    state_file: Path
    mode: Mode | None
    paused_until: datetime | None
    in_flight: InFlightCascade | None
    history: tuple[FinishedCascade, ...]
    problem: str | None = None
    running: bool | None = None
    user_stopped: frozenset[str] = frozenset()  # dependents the supervisor leaves stopped

    def to_json(self) -> dict[str, Any]:
        """Return the ``supervisor`` entry of ``status --format json``."""
        return {
            "state_file": str(self.state_file),
            "running": self.running,
            "mode": self.mode.value if self.mode else None,
            "paused_until": _iso(self.paused_until),
            "problem": self.problem,
            "in_flight": _in_flight_json(self.in_flight),
            "recent_cascades": [cascade_json(entry) for entry in self.history],
            "stopped_by_user": sorted(self.user_stopped),
        }

    def describe(self) -> str:
        """Return one line: ``watching``, ``cascading (gluetun ab12: 2 of 4 healed)`` or
        ``paused until 2026-01-01 13:00:00 UTC``."""
        if self.problem is not None:
            return f"state unreadable: {self.problem}"
        if self.mode is None:
            return "never ran (no state file)"
        if self.running is False:
            return f"not running (its last state: {self._mode_text()})"
        return self._mode_text()

    def _mode_text(self) -> str:
        if self.mode is Mode.PAUSED and self.paused_until is not None:
            return f"paused until {_clock(self.paused_until)} (`mediastack supervise --resume`)"
        if self.mode is Mode.CASCADING and self.in_flight is not None:
            cascade = self.in_flight
            done = sum(1 for item in cascade.dependents if item.final)
            return (
                f"cascading (gluetun {cascade.gluetun.short_id}, {cascade.phase.value}: "
                f"{done} of {len(cascade.dependents)} dependents done)"
            )
        return self.mode.value if self.mode else "unknown"


def read_report(state_file: Path, settings: Supervisor, now: datetime) -> SupervisorReport:
    """Given the state file, the supervisor settings and the time, return the report (mode
    None when the file does not exist yet; ``problem`` when it cannot be read)."""
    if not state_file.exists():
        return SupervisorReport(state_file, None, None, None, ())
    try:
        with SupervisorStore(state_file) as store:
            snapshot = store.load()
            history = store.history(HISTORY_SHOWN)
            user_stopped = store.user_stopped()
    except (StateError, sqlite3.Error, OSError) as error:
        return SupervisorReport(state_file, None, None, None, (), str(error))
    limiter = CascadeLimiter.from_settings(settings, snapshot.limiter)
    machine = CascadeMachine.from_snapshot(CascadeSettings.from_config(settings), limiter, snapshot)
    status = machine.status(now)
    return SupervisorReport(
        state_file,
        status.mode,
        status.paused_until,
        status.in_flight,
        history,
        running=is_running(state_file),
        user_stopped=user_stopped,
    )


def _in_flight_json(cascade: InFlightCascade | None) -> dict[str, Any] | None:
    if cascade is None:
        return None
    return {
        "gluetun_id": cascade.gluetun.container_id,
        "phase": cascade.phase.value,
        "detected_at": _iso(cascade.detected_at),
        "dependents": {
            item.service: {"status": item.status.value, "attempts": item.attempts}
            for item in cascade.dependents
        },
    }


def cascade_json(entry: FinishedCascade) -> dict[str, Any]:
    """One finished cascade as JSON (``status --format json`` and the status API)."""
    return {
        "gluetun_id": entry.gluetun.container_id,
        "started_at": _iso(entry.started_at),
        "finished_at": _iso(entry.finished_at),
        "duration_seconds": round(entry.duration.total_seconds(), 3),
        "outcome": entry.outcome.value,
        "healed": list(entry.healed),
        "failed": list(entry.failed),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
