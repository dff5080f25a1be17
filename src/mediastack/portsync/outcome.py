"""What one sync did: plain, frozen data, with the JSON form ``--format json`` prints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mediastack.adapters.qbittorrent import ListenPreferences


class SyncStatus(StrEnum):
    """How a sync ended."""

    CHANGED = "changed"  # written, and read back equal
    UNCHANGED = "unchanged"  # already right: nothing written
    WOULD_CHANGE = "would_change"  # a dry run that found something to write
    FAILED = "failed"


class Problem(StrEnum):
    """Why a sync failed. The first group may clear up on its own (a restart in progress);
    the second needs a person (a key, a password, a setting), so retrying often only adds
    failed log-ins towards qBittorrent's ban."""

    GLUETUN_UNREACHABLE = "gluetun_unreachable"
    NO_FORWARDED_PORT = "no_forwarded_port"
    QBITTORRENT_UNREACHABLE = "qbittorrent_unreachable"
    QBITTORRENT_NOT_APPLIED = "qbittorrent_not_applied"
    GLUETUN_BAD_ANSWER = "gluetun_bad_answer"
    QBITTORRENT_BAD_ANSWER = "qbittorrent_bad_answer"
    STOPPED = "stopped"  # the supervisor is shutting down; not a failure worth a notice
    INTERNAL_ERROR = "internal_error"  # a bug in mediastack; logged with its traceback

    GLUETUN_UNAUTHORIZED = "gluetun_unauthorized"
    QBITTORRENT_LOGIN_FAILED = "qbittorrent_login_failed"
    QBITTORRENT_LOGIN_REQUIRED = "qbittorrent_login_required"
    QBITTORRENT_BANNED = "qbittorrent_banned"
    QBITTORRENT_REJECTED = "qbittorrent_rejected"

    @property
    def needs_person(self) -> bool:
        """Return True when only a change of configuration can clear this problem."""
        return self in _NEEDS_PERSON


_NEEDS_PERSON = frozenset(
    {
        Problem.GLUETUN_UNAUTHORIZED,
        Problem.QBITTORRENT_LOGIN_FAILED,
        Problem.QBITTORRENT_LOGIN_REQUIRED,
        Problem.QBITTORRENT_BANNED,
        Problem.QBITTORRENT_REJECTED,
    }
)


@dataclass(frozen=True)
class SyncOutcome:
    """The result of one sync.

    ``before`` is what qBittorrent had; ``after`` what it has now (CHANGED, UNCHANGED) or
    would have (WOULD_CHANGE). A FAILED outcome carries ``problem``, ``reason`` (what went
    wrong, safe to log: no secrets) and, when known, ``fix``.
    """

    status: SyncStatus
    forwarded_port: int | None = None
    before: ListenPreferences | None = None
    after: ListenPreferences | None = None
    problem: Problem | None = None
    reason: str | None = None
    fix: str | None = None
    waited_seconds: float = 0.0
    # The VPN's exit address gluetun reported after the sync (None: not known).
    public_ip: str | None = None
    vpn_country: str | None = None

    @property
    def succeeded(self) -> bool:
        """Return True unless the sync failed."""
        return self.status != SyncStatus.FAILED

    @property
    def wrote(self) -> bool:
        """Return True when preferences were written to qBittorrent."""
        return self.status == SyncStatus.CHANGED

    def as_json(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready data (every key always present)."""
        return {
            "status": self.status.value,
            "forwarded_port": self.forwarded_port,
            "before": self.before.as_json() if self.before else None,
            "after": self.after.as_json() if self.after else None,
            "written": self.wrote,
            "problem": self.problem.value if self.problem else None,
            "reason": self.reason,
            "fix": self.fix,
            "waited_seconds": round(self.waited_seconds, 3),
            "public_ip": self.public_ip,
            "vpn_country": self.vpn_country,
        }


def failed(
    problem: Problem,
    reason: str,
    fix: str | None = None,
    *,
    forwarded_port: int | None = None,
    before: ListenPreferences | None = None,
    waited_seconds: float = 0.0,
) -> SyncOutcome:
    """Return a FAILED outcome carrying what was learnt before the failure."""
    return SyncOutcome(
        SyncStatus.FAILED,
        forwarded_port=forwarded_port,
        before=before,
        problem=problem,
        reason=reason,
        fix=fix,
        waited_seconds=waited_seconds,
    )
