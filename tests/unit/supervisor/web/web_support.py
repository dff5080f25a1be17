"""Shared pieces of the web tests: a real state file, heartbeat and backups folder in tmp_path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mediastack.adapters.engine import ContainerInfo
from mediastack.backup.naming import ArchiveName, verify_record_path
from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import FinishedCascade, Gluetun, Outcome
from mediastack.supervisor.cascade import CascadeSnapshot
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.limits import LimiterState
from mediastack.supervisor.runtime.container_board import BoardRecorder, board_record_path
from mediastack.supervisor.runtime.heartbeat import Beat, format_beat, heartbeat_path
from mediastack.supervisor.runtime.job_records import (
    PortSyncRecorder,
    WiringRecorder,
    portsync_record_path,
    wiring_record_path,
)
from mediastack.supervisor.runtime.wire_notices import LinkRecord
from mediastack.supervisor.state import SupervisorStore
from mediastack.supervisor.web.status_sources import StatusPaths, StatusReader
from mediastack.supervisor.web.status_view import StatusView

GLUETUN_ID = "2d473f546f61434d1cdab41010b57e48eb2ab7246392d430807bcfa64cbb7f63"
TOKEN = "a-read-token-of-32-characters-xx"
INSTANCE = "homelab"
PROJECT = "homelab-vpn"


@dataclass
class Lab:
    """The files a supervisor keeps, in a temporary folder, and a fake clock."""

    root: Path
    clock: FakeClock

    @property
    def paths(self) -> StatusPaths:
        return StatusPaths(
            self.root / "state" / "supervisor.db",
            self.root / "backups",
            self.root / ".mediastack" / "update-rollbacks.json",
            self.root / ".env",
        )

    def reader(self) -> StatusReader:
        return StatusReader(INSTANCE, self.paths, Supervisor(), self.clock, read_rollbacks)

    def view(self) -> StatusView:
        return self.reader()()

    def finish_cascade(
        self, outcome: Outcome, seconds: float, pause_until: datetime | None = None
    ) -> FinishedCascade:
        """Append one finished cascade (ending now) to the state file, as the daemon does."""
        now = self.clock.now()
        gluetun = Gluetun(GLUETUN_ID, now - timedelta(seconds=seconds + 1))
        finished = FinishedCascade(
            gluetun, now - timedelta(seconds=seconds), now, outcome, ("sonarr",), ()
        )
        snapshot = CascadeSnapshot(LimiterState((now,), pause_until), None, gluetun)
        with SupervisorStore(self.paths.state_file) as store:
            store.save(snapshot, [finished])
        return finished

    def stop_by_user(self, *services: str) -> None:
        with SupervisorStore(self.paths.state_file) as store:
            store.set_user_stopped(frozenset(services))

    def beat(self, connected: bool = True, since: datetime | None = None) -> datetime:
        """Write a heartbeat now, as the daemon's loop does: the stream connected (or lost)
        since ``since`` (default: now)."""
        moment = self.clock.now()
        path = heartbeat_path(self.paths.state_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        beat = Beat(moment, connected, since or moment)
        path.write_text(format_beat(beat), encoding="utf-8")
        return moment

    def archive(self, created: datetime, size: int, verified: bool) -> Path:
        """Put an archive of ``size`` bytes in the backups folder, with a record when
        ``verified``."""
        folder = self.paths.backups_folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ArchiveName(INSTANCE, created).file_name
        path.write_bytes(b"\0" * size)
        if verified:
            record = {"state": "verified", "checked_at": created.isoformat(), "archive_size": size}
            verify_record_path(path).write_text(json.dumps(record), encoding="utf-8")
        return path

    def sync(self, status: str = "unchanged", port: int | None = 51413,
             problem: str | None = None) -> None:
        """Record one port sync ending now, as the daemon's port sync runner does."""
        recorder = PortSyncRecorder(portsync_record_path(self.paths.state_file), self.clock)
        recorder.record({"status": status, "forwarded_port": port, "problem": problem})

    def wire(self, *links: LinkRecord, summary: str = "wired") -> None:
        """Record one wire run ending now, as the daemon's wire runner does."""
        recorder = WiringRecorder(wiring_record_path(self.paths.state_file), self.clock)
        recorder.record(links, summary)

    def roll_back(self, service: str, digest: str) -> None:
        path = self.paths.rollbacks_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({service: digest}), encoding="utf-8")


    def see(self, service: str, status: str = "running", health: str | None = "healthy") -> None:
        """Record ``service``'s container as the daemon's board does (its full read)."""
        recorder = self._board()
        seen = self.__dict__.setdefault("_seen", {})
        seen[service] = ContainerInfo(
            id=f"{len(seen) + 1:064x}", name=f"{PROJECT}-{service}-1", image=service,
            status=status, health=health, started_at=self.clock.now(), pid=0,
            network_mode="", sandbox_key="",
            labels={"com.docker.compose.project": PROJECT, "com.docker.compose.service": service},
        )  # fmt: skip
        recorder.reset(list(seen.values()), self.clock.now())

    def hold(self, *services: str) -> None:
        """Record ``services`` as held by an update, as the daemon's board does."""
        self._board().hold(services, self.clock.now())

    def _board(self) -> BoardRecorder:
        board: BoardRecorder = self.__dict__.setdefault(
            "_board_recorder", BoardRecorder(board_record_path(self.paths.state_file), [PROJECT])
        )
        return board


def read_rollbacks(path: Path) -> dict[str, str]:
    from mediastack.updates.coordination import FileRollbacks

    return FileRollbacks(path).rolled_back()
