"""What the daemon's jobs leave on disk for the status pages: small JSON files next to the
supervisor's state file.

- ``<state>.portsync.json``: port sync's last outcome (when it ended, its status and problem,
  the forwarded port gluetun gave) and a running count of runs by result;
- ``<state>.wiring.json``: the last wire run (when it ended, its summary line, each link's
  state);
- ``<state>.restarts.json``: a running count of autoheal's restarts by container and reason.

Written by the daemon only (the job runners and the restart worker, on their thread, after
each run or restart), never by
the web side; atomically (a temporary file in the same folder, then ``os.replace``), so a
reader sees the old file or the new one, never half of one. A failed write is logged and
never fails the job: the pages show an older run. Read by the web side
(``read_portsync_record``, ``read_wiring_record``), which never raises: a missing file is
"not known", an unreadable one a problem.

Light: no job library is imported here (the daemon's idle budget, issue 3).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.wire_notices import LinkRecord

logger = logging.getLogger("mediastack.supervisor")

SYNC_RESULTS = ("changed", "unchanged", "failed")
"""Port sync results counted (``mediastack.portsync.SyncStatus`` values but ``would_change``,
which only a dry run gives)."""
STOPPED_PROBLEM = "stopped"
"""A sync the daemon's stop ended: no attempt, not counted (as its monitor does)."""
LINK_STATES = ("ok", "missing", "drifted", "waiting", "broken", "made", "repaired")
"""``mediastack.links.LinkStatus`` values (not imported: the links load httpx; a unit test
compares)."""

Record = TypeVar("Record")


def portsync_record_path(state_file: Path) -> Path:
    """Return the port sync record that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.portsync.json"


def wiring_record_path(state_file: Path) -> Path:
    """Return the wiring record that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.wiring.json"


def write_record(path: Path, data: Mapping[str, Any]) -> bool:
    """Write ``data`` as JSON to ``path`` atomically (temporary file, then ``os.replace``);
    return False, logged, when it could not be written (the previous file stays)."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError) as error:
        logger.warning("could not write %s (the status pages show an older run): %s", path, error)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return False
    return True


@dataclass(frozen=True)
class RecordRead(Generic[Record]):
    """A record file as read: ``record`` None with ``problem`` None: no file yet."""

    record: Record | None = None
    problem: str | None = None


def read_json_object(path: Path) -> tuple[Mapping[str, Any] | None, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"{path.name} unreadable: {error}"
    try:
        data = json.loads(text)
    except ValueError as error:
        return None, f"{path.name} is not JSON: {error}"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a JSON object"
    return data, None


# -- port sync -------------------------------------------------------------------------------


def read_record(
    path: Path, from_json: Callable[[Mapping[str, Any]], Record], what: str
) -> RecordRead[Record]:
    """Return the record at ``path`` as ``from_json`` reads it; never raises: no file is no
    record, and a file that cannot be read, or that ``from_json`` refuses, is a problem
    naming ``what`` it should be."""
    data, problem = read_json_object(path)
    if data is None:
        return RecordRead(None, problem)
    try:
        return RecordRead(from_json(data))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return RecordRead(None, f"{path.name} is not {what}: {error!r}")


@dataclass(frozen=True)
class PortSyncRecord:
    """Port sync's last counted outcome and the runs so far by result (``SYNC_RESULTS``)."""

    finished_at: datetime
    status: str
    problem: str | None
    forwarded_port: int | None
    runs: Mapping[str, int] = field(default_factory=dict)
    public_ip: str | None = None  # the VPN's exit address gluetun gave after the sync
    vpn_country: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "finished_at": self.finished_at.isoformat(),
            "status": self.status,
            "problem": self.problem,
            "forwarded_port": self.forwarded_port,
            "runs": dict(self.runs),
            "public_ip": self.public_ip,
            "vpn_country": self.vpn_country,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortSyncRecord:
        """Return the record ``to_json`` gave; raise KeyError, TypeError or ValueError."""
        port = data["forwarded_port"]
        problem = data["problem"]
        return cls(
            finished_at=datetime.fromisoformat(data["finished_at"]),
            status=str(data["status"]),
            problem=None if problem is None else str(problem),
            forwarded_port=None if port is None else int(port),
            runs={str(result): int(count) for result, count in dict(data["runs"]).items()},
            public_ip=_optional_text(data.get("public_ip")),
            vpn_country=_optional_text(data.get("vpn_country")),
        )


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def read_portsync_record(path: Path) -> RecordRead[PortSyncRecord]:
    """Return the port sync record at ``path``; never raises (see the module docstring)."""
    return read_record(path, PortSyncRecord.from_json, "a port sync record")


class PortSyncRecorder:
    """Keeps ``<state>.portsync.json`` after each sync (on the port sync worker)."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._runs: dict[str, int] | None = None  # read from the file at the first record

    def record(self, outcome: Mapping[str, Any]) -> None:
        """Given a sync's outcome (``SyncOutcome.as_json``), count it and write the record.
        Never raises: a bad outcome or a failed write is logged."""
        try:
            status, problem = str(outcome["status"]), outcome.get("problem")
            port = outcome.get("forwarded_port")
            if problem == STOPPED_PROBLEM:
                return
            runs = self._counted(status)
            record = PortSyncRecord(
                self._clock.now(),
                status,
                None if problem is None else str(problem),
                None if port is None else int(port),
                runs,
                _optional_text(outcome.get("public_ip")),
                _optional_text(outcome.get("vpn_country")),
            )
        except (KeyError, TypeError, ValueError) as error:
            logger.warning("port sync answered an outcome not understood: %r", error)
            return
        write_record(self._path, record.to_json())

    def _counted(self, status: str) -> dict[str, int]:
        if self._runs is None:
            previous = read_portsync_record(self._path).record
            self._runs = {result: 0 for result in SYNC_RESULTS}
            if previous is not None:
                self._runs.update(previous.runs)
        self._runs[status] = self._runs.get(status, 0) + 1
        return dict(self._runs)


# -- wiring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WiringRecord:
    """The last wire run: when it ended, its summary line and each link's state."""

    finished_at: datetime
    summary: str
    links: tuple[LinkRecord, ...]

    def by_state(self) -> dict[str, int]:
        """Return how many links are in each state: every ``LINK_STATES`` one, 0 included."""
        counts = dict.fromkeys(LINK_STATES, 0)
        for link in self.links:
            counts[link.status] = counts.get(link.status, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "finished_at": self.finished_at.isoformat(),
            "summary": self.summary,
            "links": [_link_json(link) for link in self.links],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WiringRecord:
        """Return the record ``to_json`` gave; raise KeyError, TypeError or ValueError."""
        links = tuple(
            LinkRecord(str(item["app"]), str(item["key"]), str(item["title"]),
                       str(item["status"]), str(item["detail"]))
            for item in data["links"]
        )  # fmt: skip
        return cls(datetime.fromisoformat(data["finished_at"]), str(data["summary"]), links)


def _link_json(link: LinkRecord) -> dict[str, str]:
    return {
        "app": link.app,
        "key": link.key,
        "title": link.title,
        "status": link.status,
        "detail": link.detail,
    }


def read_wiring_record(path: Path) -> RecordRead[WiringRecord]:
    """Return the wiring record at ``path``; never raises (see the module docstring)."""
    return read_record(path, WiringRecord.from_json, "a wiring record")


class WiringRecorder:
    """Keeps ``<state>.wiring.json`` after each wire run (on the wire worker)."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock

    def record(self, links: Sequence[LinkRecord], summary: str) -> None:
        """Write the run's links and summary; a failed write is logged, never raised."""
        write_record(self._path, WiringRecord(self._clock.now(), summary, tuple(links)).to_json())


# -- autoheal restarts -----------------------------------------------------------------------

RESTART_REASONS = ("unhealthy",)
"""Why autoheal restarts (the first word of ``RestartContainer.reason``; its rest, how long
the container was unhealthy, would make unbounded labels). Anything else counts as ``other``."""
OTHER_REASON = "other"


def restarts_record_path(state_file: Path) -> Path:
    """Return the autoheal restarts record that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.restarts.json"


def restart_reason(reason: str) -> str:
    """Given a restart's reason (``unhealthy 90s``), return its bounded label."""
    words = reason.split()
    first = words[0].lower() if words else ""
    return first if first in RESTART_REASONS else OTHER_REASON


@dataclass(frozen=True)
class RestartsRecord:
    """Autoheal restarts done so far, by (service, reason), and when the last one was."""

    counts: Mapping[tuple[str, str], int]
    last_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "last_at": None if self.last_at is None else self.last_at.isoformat(),
            "restarts": [
                {"service": service, "reason": reason, "count": count}
                for (service, reason), count in sorted(self.counts.items())
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RestartsRecord:
        """Return the record ``to_json`` gave; raise KeyError, TypeError or ValueError."""
        counts = {
            (str(item["service"]), str(item["reason"])): int(item["count"])
            for item in data["restarts"]
        }
        last = data["last_at"]
        return cls(counts, None if last is None else datetime.fromisoformat(last))


def read_restarts_record(path: Path) -> RecordRead[RestartsRecord]:
    """Return the autoheal restarts record at ``path``; never raises."""
    return read_record(path, RestartsRecord.from_json, "a restarts record")


class RestartCounter:
    """Keeps ``<state>.restarts.json``: a running count of the restarts autoheal did, by
    container and reason, across daemon restarts. Called from the restart worker only."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._counts: dict[tuple[str, str], int] | None = None  # read at the first count

    def count(self, service: str, reason: str) -> None:
        """Count one restart of ``service`` done for ``reason`` and write the record; a
        failed write is logged, never raised."""
        if self._counts is None:
            previous = read_restarts_record(self._path).record
            self._counts = dict(previous.counts) if previous is not None else {}
        key = (service, restart_reason(reason))
        self._counts[key] = self._counts.get(key, 0) + 1
        write_record(self._path, RestartsRecord(dict(self._counts), self._clock.now()).to_json())
