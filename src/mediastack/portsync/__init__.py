"""Forwarded-port sync: keep qBittorrent listening on the port the VPN forwards.

- ``decision``: the pure ``decide(forwarded_port, current) -> Change | NoChange``.
- ``sync``: ``sync_once(gluetun, qbittorrent, ...) -> SyncOutcome`` with injected clients.
- ``outcome``: ``SyncOutcome``, ``SyncStatus``, ``Problem`` (and its JSON form).
- ``monitor``: ``PortSyncMonitor``, the pure "failing -> notify once, success clears" state
  machine that also says when the next sync is due.
- ``job``: ``PortSyncJob``, what the supervisor runs (see its docstring for when).
- ``wiring``: endpoints and credentials from a loaded config, for the host and the supervisor.

The adapters are :mod:`mediastack.adapters.gluetun` and :mod:`mediastack.adapters.qbittorrent`.
"""

from mediastack.portsync.decision import Change, NoChange, decide
from mediastack.portsync.job import JobResult, PortSyncJob, Trigger
from mediastack.portsync.monitor import PortSyncMonitor
from mediastack.portsync.outcome import Problem, SyncOutcome, SyncStatus
from mediastack.portsync.sync import sync_once

__all__ = [
    "Change",
    "JobResult",
    "NoChange",
    "PortSyncJob",
    "PortSyncMonitor",
    "Problem",
    "SyncOutcome",
    "SyncStatus",
    "Trigger",
    "decide",
    "sync_once",
]
