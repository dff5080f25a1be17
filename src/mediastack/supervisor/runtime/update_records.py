"""``<state>.updates.json``: the last update run and every result so far, for the status pages.

Written by the update worker after each run that ended (a failed or crashed run is notified,
not recorded: the pages keep the last one that checked), atomically
(``job_records.write_record``); read by the web side, which never raises. Light: nothing of
the update pipeline is imported (the daemon's idle budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.job_records import RecordRead, read_record, write_record
from mediastack.supervisor.runtime.update_runner import UpdateSummary

UPDATE_RESULTS = ("updated", "rolled_back", "rollback_failed", "failed", "unchanged")
"""``mediastack.updates.Outcome`` values but ``dry_run`` (not imported: the pipeline loads the
registry client; a unit test compares)."""


def updates_record_path(state_file: Path) -> Path:
    """Return the updates record that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.updates.json"


@dataclass(frozen=True)
class UpdatesRecord:
    """The last run (when it ended, what asked for it, images checked, updates waiting for
    the user, each result) and every result counted since the first run."""

    finished_at: datetime
    source: str
    checked: int
    pending: tuple[str, ...] = ()
    last_results: tuple[tuple[str, str], ...] = ()
    totals: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "finished_at": self.finished_at.isoformat(),
            "source": self.source,
            "checked": self.checked,
            "pending": list(self.pending),
            "last_results": [{"service": s, "result": r} for s, r in self.last_results],
            "totals": dict(sorted(self.totals.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UpdatesRecord:
        """Return the record ``to_json`` gave; raise KeyError, TypeError or ValueError."""
        return cls(
            datetime.fromisoformat(str(data["finished_at"])),
            str(data["source"]),
            int(data["checked"]),
            tuple(str(service) for service in data["pending"]),
            tuple((str(item["service"]), str(item["result"])) for item in data["last_results"]),
            {str(result): int(count) for result, count in dict(data["totals"]).items()},
        )


def read_updates_record(path: Path) -> RecordRead[UpdatesRecord]:
    """Return the updates record at ``path``; never raises."""
    return read_record(path, UpdatesRecord.from_json, "an updates record")


class UpdatesRecorder:
    """Keeps ``<state>.updates.json`` (on the update worker's thread)."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._totals: dict[str, int] | None = None  # read from the file at the first record

    def record(self, source: str, summary: UpdateSummary) -> None:
        """Write the run ``summary`` describes and count its results; never raises."""
        if self._totals is None:
            previous = read_updates_record(self._path).record
            self._totals = {result: 0 for result in UPDATE_RESULTS}
            if previous is not None:
                self._totals.update(previous.totals)
        for _, result in summary.results:
            self._totals[result] = self._totals.get(result, 0) + 1
        record = UpdatesRecord(
            self._clock.now(),
            source,
            summary.checked,
            summary.pending,
            summary.results,
            dict(self._totals),
        )
        write_record(self._path, record.to_json())
