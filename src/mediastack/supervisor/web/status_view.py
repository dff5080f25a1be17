"""The status read model: one frozen ``StatusView`` of what the supervisor keeps on disk.

Control flow: ``status_sources.read_sources`` (the adapter: the daemon's files, never the
engine) -> ``StatusSources`` -> ``build_status_view`` (pure: the sources, the settings, the
time) -> ``StatusView`` (and its JSON, ``/api/v1/status``). Reading never writes, never calls
the engine, and never raises: what cannot be read is a ``problem`` in the view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mediastack.backup.catalog import ArchiveInfo
from mediastack.backup.verify_record import VerifyState
from mediastack.config.schema import Supervisor
from mediastack.supervisor.actions import FinishedCascade
from mediastack.supervisor.cascade import (
    CascadeMachine,
    CascadeSettings,
    Mode,
)
from mediastack.supervisor.cascade_totals import CascadeTotals
from mediastack.supervisor.limits import CascadeLimiter
from mediastack.supervisor.runtime.container_board import (
    ServiceState,
)
from mediastack.supervisor.runtime.heartbeat import assess
from mediastack.supervisor.runtime.notice_records import (
    NotificationsRecord,
)
from mediastack.supervisor.runtime.report import cascade_json
from mediastack.supervisor.runtime.update_records import (
    UpdatesRecord,
)
from mediastack.supervisor.web.job_views import (
    RestartsView,
    VpnView,
    WiringView,
    restarts_json,
    restarts_of,
    vpn_json,
    vpn_of,
    wiring_json,
    wiring_of,
)

if TYPE_CHECKING:
    from mediastack.supervisor.web.status_sources import StatusSources

RECENT_CASCADES = 10
HISTORY_LIMIT = 100  # cascades read for /api/v1/events
NEVER_RAN = "never ran"
UNREADABLE = "state unreadable"


@dataclass(frozen=True)
class HealthView:
    """The heartbeat's verdict, as ``mediastack supervise --check`` gives it."""

    healthy: bool
    reason: str
    loop_turned_at: datetime | None
    stream_connected: bool | None
    stream_since: datetime | None


@dataclass(frozen=True)
class BackupView:
    """The backups folder: how many archives, the newest, and the newest verified one."""

    archives: int
    latest: ArchiveInfo | None
    latest_verified: ArchiveInfo | None
    listed: tuple[ArchiveInfo, ...] = ()  # every archive, newest first


@dataclass(frozen=True)
class StatusView:
    """Everything the API shows, at ``generated_at``. ``mode`` is a Mode value, or
    ``never ran`` / ``state unreadable``."""

    instance: str
    generated_at: datetime
    mode: str
    paused_until: datetime | None
    cascading_dependents: tuple[str, ...]
    recent_cascades: tuple[FinishedCascade, ...]
    totals: CascadeTotals
    user_stopped: frozenset[str]
    state_problem: str | None
    health: HealthView
    backups: BackupView
    rolled_back: Mapping[str, str]
    vpn: VpnView = field(default_factory=VpnView)
    wiring: WiringView = field(default_factory=WiringView)
    restarts: RestartsView = field(default_factory=RestartsView)
    # Each service's container as the daemon last saw it (``runtime.container_board``);
    # empty with ``services_problem`` None: not known yet.
    services: Mapping[str, ServiceState] = field(default_factory=dict)
    services_seen_at: datetime | None = None
    services_problem: str | None = None
    services_held: frozenset[str] = frozenset()  # held by an update or a command then
    history: tuple[FinishedCascade, ...] = ()  # the last HISTORY_LIMIT cascades
    # The last update run and every result so far (``runtime.update_records``).
    update_runs: UpdatesRecord | None = None
    update_runs_problem: str | None = None
    # .env variables still holding init's CHANGE_ME placeholder (names only, never values).
    placeholders: tuple[str, ...] = ()
    # Notifications by result since the first one (None: none sent, or no URL configured).
    notifications: NotificationsRecord | None = None

    @property
    def paused(self) -> bool:
        return self.mode == Mode.PAUSED.value

    @property
    def last_cascade(self) -> FinishedCascade | None:
        return self.recent_cascades[0] if self.recent_cascades else None

    def to_json(self) -> dict[str, Any]:
        """Return the whole view as JSON (``/api/v1/status``): times in ISO 8601 UTC."""
        return {
            "instance": self.instance,
            "generated_at": _iso(self.generated_at),
            "supervisor": {
                "mode": self.mode,
                "paused_until": _iso(self.paused_until),
                "cascading_dependents": list(self.cascading_dependents),
                "stopped_by_user": sorted(self.user_stopped),
                "placeholder_secrets": list(self.placeholders),
                "problem": self.state_problem,
            },
            "health": _health_json(self.health),
            "cascades": {
                "totals": self.totals.outcome_counts(),
                "recent": [cascade_json(entry) for entry in self.recent_cascades],
            },
            "backups": _backups_json(self.backups),
            "updates": {
                "rolled_back": dict(sorted(self.rolled_back.items())),
                "last_run": self.update_runs.to_json() if self.update_runs else None,
                "problem": self.update_runs_problem,
            },
            "vpn": vpn_json(self.vpn),
            "wiring": wiring_json(self.wiring),
            "autoheal": restarts_json(self.restarts),
            "notifications": self.notifications.to_json() if self.notifications else None,
            "services": {
                "seen_at": _iso(self.services_seen_at),
                "problem": self.services_problem,
                "by_name": {name: state.to_json() for name, state in sorted(self.services.items())},
                "held": sorted(self.services_held),
            },
        }


def build_status_view(sources: StatusSources, settings: Supervisor, now: datetime) -> StatusView:
    """Given what was read, the supervisor settings and the time, return the view (pure)."""
    mode, paused_until, cascading = _mode_of(sources, settings, now)
    board = sources.containers.record
    return StatusView(
        instance=sources.instance,
        generated_at=now,
        mode=mode,
        paused_until=paused_until,
        cascading_dependents=cascading,
        recent_cascades=sources.history[:RECENT_CASCADES],
        totals=sources.totals,
        user_stopped=sources.user_stopped,
        state_problem=sources.state_problem,
        health=_health_of(sources, now),
        backups=_backups_of(sources.archives),
        rolled_back=sources.rolled_back,
        vpn=vpn_of(sources.portsync),
        wiring=wiring_of(sources.wiring),
        restarts=restarts_of(sources.restarts),
        services=board.services if board else {},
        services_seen_at=board.written_at if board else None,
        services_problem=sources.containers.problem,
        services_held=frozenset(board.held) if board else frozenset(),
        history=sources.history,
        update_runs=sources.updates.record,
        update_runs_problem=sources.updates.problem,
        placeholders=sources.placeholders,
        notifications=sources.notifications.record,
    )


def _mode_of(
    sources: StatusSources, settings: Supervisor, now: datetime
) -> tuple[str, datetime | None, tuple[str, ...]]:
    if sources.snapshot is None:
        return (UNREADABLE if sources.state_problem else NEVER_RAN), None, ()
    limiter = CascadeLimiter.from_settings(settings, sources.snapshot.limiter)
    machine = CascadeMachine.from_snapshot(
        CascadeSettings.from_config(settings), limiter, sources.snapshot
    )
    status = machine.status(now)
    in_flight = status.in_flight
    dependents = tuple(item.service for item in in_flight.dependents) if in_flight else ()
    return status.mode.value, status.paused_until, dependents


def _health_of(sources: StatusSources, now: datetime) -> HealthView:
    verdict = assess(sources.beat, now, sources.running, ages=False)  # see assess
    beat = sources.beat
    return HealthView(
        verdict.healthy,
        verdict.reason,
        beat.loop_turned_at if beat else None,
        beat.stream_connected if beat else None,
        beat.stream_since if beat else None,
    )


def _backups_of(archives: tuple[ArchiveInfo, ...]) -> BackupView:
    verified = [info for info in archives if info.state is VerifyState.VERIFIED]
    return BackupView(
        len(archives),
        archives[0] if archives else None,
        verified[0] if verified else None,
        archives,
    )


# -- JSON ---------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _health_json(health: HealthView) -> dict[str, Any]:
    return {
        "healthy": health.healthy,
        "reason": health.reason,
        "loop_turned_at": _iso(health.loop_turned_at),
        "stream_connected": health.stream_connected,
        "stream_since": _iso(health.stream_since),
    }


def archive_json(info: ArchiveInfo | None) -> dict[str, Any] | None:
    """One archive as ``/api/v1/status`` and ``/api/v1/events`` show it (None: none)."""
    if info is None:
        return None
    return {
        "name": info.path.name,
        "created_at": _iso(info.created),
        "size_bytes": info.size_bytes,
        "state": info.state.value,
        "verified_at": _iso(info.verified_at),
    }


def _backups_json(backups: BackupView) -> dict[str, Any]:
    return {
        "archives": backups.archives,
        "latest": archive_json(backups.latest),
        "latest_verified": archive_json(backups.latest_verified),
    }
