"""Reading what the status view shows (the adapter): the daemon's files, never the engine.

``read_sources`` opens the state file read-only in one read transaction, and reads the
heartbeat, the backups folder, the update memory, the daemon's records beside the state file
(its container board, port sync's, wiring's, autoheal's, updates', notifications': see
``runtime.job_records`` and its neighbours) and the names of ``.env``'s placeholders. It never
raises: what cannot be read is a ``problem`` in the sources. ``StatusReader`` turns them into a
fresh ``StatusView`` at each call (``status_view.build_status_view``, pure).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from mediastack.backup.catalog import ArchiveInfo, list_archives
from mediastack.config.schema import Supervisor
from mediastack.render.environment import is_placeholder, read_secrets
from mediastack.supervisor.actions import FinishedCascade
from mediastack.supervisor.cascade import CascadeSnapshot
from mediastack.supervisor.cascade_totals import CascadeTotals
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.container_board import (
    BoardRecord,
    board_record_path,
    read_board_record,
)
from mediastack.supervisor.runtime.heartbeat import Beat, heartbeat_path, read_beat
from mediastack.supervisor.runtime.instance import is_running
from mediastack.supervisor.runtime.job_records import (
    PortSyncRecord,
    RecordRead,
    RestartsRecord,
    WiringRecord,
    portsync_record_path,
    read_portsync_record,
    read_restarts_record,
    read_wiring_record,
    restarts_record_path,
    wiring_record_path,
)
from mediastack.supervisor.runtime.notice_records import (
    NotificationsRecord,
    notifications_record_path,
    read_notifications_record,
)
from mediastack.supervisor.runtime.update_records import (
    UpdatesRecord,
    read_updates_record,
    updates_record_path,
)
from mediastack.supervisor.state import StateError, SupervisorStore
from mediastack.supervisor.web.status_view import HISTORY_LIMIT, StatusView, build_status_view


@dataclass(frozen=True)
class StatusSources:
    """What was read from disk, not yet interpreted. ``snapshot`` None: no state file yet
    (``state_problem`` says why when it exists but cannot be read)."""

    instance: str
    snapshot: CascadeSnapshot | None
    history: tuple[FinishedCascade, ...] = ()
    totals: CascadeTotals = field(default_factory=CascadeTotals)
    user_stopped: frozenset[str] = frozenset()
    state_problem: str | None = None
    running: bool | None = None
    beat: Beat | None = None
    archives: tuple[ArchiveInfo, ...] = ()
    rolled_back: Mapping[str, str] = field(default_factory=dict)
    portsync: RecordRead[PortSyncRecord] = field(default_factory=RecordRead)
    wiring: RecordRead[WiringRecord] = field(default_factory=RecordRead)
    restarts: RecordRead[RestartsRecord] = field(default_factory=RecordRead)
    containers: RecordRead[BoardRecord] = field(default_factory=RecordRead)
    updates: RecordRead[UpdatesRecord] = field(default_factory=RecordRead)
    placeholders: tuple[str, ...] = ()
    notifications: RecordRead[NotificationsRecord] = field(default_factory=RecordRead)


@dataclass(frozen=True)
class StatusPaths:
    """Where the supervisor keeps what the view shows."""

    state_file: Path
    backups_folder: Path
    rollbacks_file: Path
    env_file: Path | None = None  # .env: only the names of placeholders are read from it


def read_sources(
    instance: str,
    paths: StatusPaths,
    read_rollbacks: Callable[[Path], Mapping[str, str]],
    *,
    for_verdict: bool = False,
) -> StatusSources:
    """Read the state file (read-only), the heartbeat, the backups folder, the update
    memory and the daemon's records; return what they hold. ``for_verdict``: only what
    ``verdict.stack_verdict`` reads (the state file, the heartbeat, the container board), for
    ``/health`` and the push pings every few seconds. Never raises: an unreadable state file
    is a ``state_problem``, an unreadable heartbeat is none, an unreadable folder holds
    nothing, an unreadable record is its ``problem``."""
    # The verdict needs the snapshot (the pause, the cascade in flight), not the history.
    history_limit = 0 if for_verdict else HISTORY_LIMIT
    snapshot, history, totals, stopped, problem = _read_state(paths.state_file, history_limit)
    essential = StatusSources(
        instance=instance,
        snapshot=snapshot,
        history=history,
        totals=totals,
        user_stopped=stopped,
        state_problem=problem,
        running=is_running(paths.state_file),
        beat=read_beat(heartbeat_path(paths.state_file)),
        containers=read_board_record(board_record_path(paths.state_file)),
    )
    if for_verdict:
        return essential
    return replace(
        essential,
        archives=_read_archives(paths.backups_folder),
        rolled_back=read_rollbacks(paths.rollbacks_file),
        portsync=read_portsync_record(portsync_record_path(paths.state_file)),
        wiring=read_wiring_record(wiring_record_path(paths.state_file)),
        restarts=read_restarts_record(restarts_record_path(paths.state_file)),
        updates=read_updates_record(updates_record_path(paths.state_file)),
        placeholders=_placeholders(paths.env_file),
        notifications=read_notifications_record(notifications_record_path(paths.state_file)),
    )


def _placeholders(env_file: Path | None) -> tuple[str, ...]:
    if env_file is None:
        return ()
    try:
        values = read_secrets(env_file)
    except (OSError, UnicodeDecodeError):
        return ()
    return tuple(sorted(name for name, value in values.items() if is_placeholder(value)))


_StateRead = tuple[
    CascadeSnapshot | None, tuple[FinishedCascade, ...], CascadeTotals, frozenset[str], str | None
]


def _read_state(state_file: Path, history_limit: int) -> _StateRead:
    if not state_file.exists():
        return None, (), CascadeTotals(), frozenset(), None
    try:
        with SupervisorStore(state_file, read_only=True) as store, store.reading():
            return (
                store.load(),
                store.history(history_limit) if history_limit else (),
                store.cascade_totals(),
                store.user_stopped(),
                None,
            )
    except (StateError, sqlite3.Error, OSError, ValueError) as error:
        return None, (), CascadeTotals(), frozenset(), str(error)


def _read_archives(folder: Path) -> tuple[ArchiveInfo, ...]:
    try:
        return tuple(list_archives(folder))
    except OSError:
        return ()


class StatusReader:
    """Reads a fresh view at each call: the API's only source (a few small file reads)."""

    def __init__(
        self,
        instance: str,
        paths: StatusPaths,
        settings: Supervisor,
        clock: Clock,
        read_rollbacks: Callable[[Path], Mapping[str, str]],
        *,
        for_verdict: bool = False,
    ) -> None:
        """``for_verdict``: read only what the stack's verdict needs (``read_sources``)."""
        self._for_verdict = for_verdict
        self._instance = instance
        self._paths = paths
        self._settings = settings
        self._clock = clock
        self._read_rollbacks = read_rollbacks

    def __call__(self) -> StatusView:
        """Return the view as of now."""
        sources = read_sources(
            self._instance, self._paths, self._read_rollbacks, for_verdict=self._for_verdict
        )
        return build_status_view(sources, self._settings, self._clock.now())
