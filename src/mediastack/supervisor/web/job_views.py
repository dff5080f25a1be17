"""The parts of the status view read from the jobs' records (``runtime.job_records``): the
VPN as port sync last saw it, the wiring links, autoheal's restarts. Pure: records in, views
and JSON out.

The VPN counts as connected when the last port sync got a forwarded port from gluetun's
control server (it answers one only over a working tunnel); down when that sync got none or
could not reach gluetun; not known before the first sync or with port sync off. Its public IP
is not known yet: port sync does not ask gluetun for it, and the pages call nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediastack.supervisor.runtime.job_records import (
    PortSyncRecord,
    RecordRead,
    RestartsRecord,
    WiringRecord,
)
from mediastack.supervisor.runtime.wire_notices import LinkRecord

NOT_KNOWN = "not known"
CONNECTED = "connected"
DOWN = "down"


@dataclass(frozen=True)
class VpnView:
    """The VPN as the last port sync saw it; every field None when not known."""

    connected: bool | None = None
    public_ip: str | None = None
    forwarded_port: int | None = None
    last_sync_at: datetime | None = None
    last_sync_result: str | None = None
    last_sync_problem: str | None = None
    runs: Mapping[str, int] = field(default_factory=dict)
    problem: str | None = None  # the record could not be read

    @property
    def state(self) -> str:
        """Return ``connected``, ``down`` or ``not known``."""
        if self.connected is None:
            return NOT_KNOWN
        return CONNECTED if self.connected else DOWN


@dataclass(frozen=True)
class WiringView:
    """The last wire run's links; ``last_run_at`` None: no run known."""

    last_run_at: datetime | None = None
    summary: str | None = None
    links: tuple[LinkRecord, ...] = ()
    by_state: Mapping[str, int] = field(default_factory=dict)
    problem: str | None = None  # the record could not be read


@dataclass(frozen=True)
class RestartsView:
    """Autoheal's restarts so far by (container, reason); empty: none known."""

    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    last_at: datetime | None = None
    problem: str | None = None  # the record could not be read


def restarts_of(read: RecordRead[RestartsRecord]) -> RestartsView:
    """Given the restarts record as read, return the restarts view."""
    record = read.record
    if record is None:
        return RestartsView(problem=read.problem)
    return RestartsView(record.counts, record.last_at)


def restarts_json(restarts: RestartsView) -> dict[str, Any]:
    """Return the restarts view as JSON."""
    return {
        "last_restart_at": _iso(restarts.last_at),
        "restarts": [
            {"service": service, "reason": reason, "count": count}
            for (service, reason), count in sorted(restarts.counts.items())
        ],
        "problem": restarts.problem,
    }


def vpn_of(read: RecordRead[PortSyncRecord]) -> VpnView:
    """Given the port sync record as read, return the VPN view (see the module docstring)."""
    record = read.record
    if record is None:
        return VpnView(problem=read.problem)
    port = record.forwarded_port
    return VpnView(
        connected=port is not None and port > 0,
        public_ip=record.public_ip,
        forwarded_port=port if port else None,
        last_sync_at=record.finished_at,
        last_sync_result=record.status,
        last_sync_problem=record.problem,
        runs=record.runs,
    )


def wiring_of(read: RecordRead[WiringRecord]) -> WiringView:
    """Given the wiring record as read, return the wiring view."""
    record = read.record
    if record is None:
        return WiringView(problem=read.problem)
    return WiringView(record.finished_at, record.summary, record.links, record.by_state())


def vpn_json(vpn: VpnView) -> dict[str, Any]:
    """Return the VPN view as JSON (times in ISO 8601)."""
    return {
        "state": vpn.state,
        "public_ip": vpn.public_ip,
        "forwarded_port": vpn.forwarded_port,
        "last_sync": {
            "finished_at": _iso(vpn.last_sync_at),
            "result": vpn.last_sync_result,
            "problem": vpn.last_sync_problem,
        },
        "sync_runs": dict(vpn.runs),
        "problem": vpn.problem,
    }


def wiring_json(wiring: WiringView) -> dict[str, Any]:
    """Return the wiring view as JSON: each link, and how many are in each state."""
    return {
        "last_run_at": _iso(wiring.last_run_at),
        "summary": wiring.summary,
        "by_state": dict(wiring.by_state),
        "links": [_link_json(link) for link in wiring.links],
        "problem": wiring.problem,
    }


def _link_json(link: LinkRecord) -> dict[str, str]:
    return {
        "app": link.app,
        "key": link.key,
        "title": link.title,
        "state": link.status,
        "detail": link.detail,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
