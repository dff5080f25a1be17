"""Port sync as the supervisor runs it: long-lived clients, a monitor, logging.

The supervisor's runtime owns one :class:`PortSyncJob` and calls :meth:`PortSyncJob.run`
from one worker thread (a run may block up to ``portsync.port_wait_seconds`` plus request
timeouts while gluetun has no port yet, so never from the event loop):

- once at start (``Trigger.START``);
- after every gluetun (re)start or finished cascade (``Trigger.GLUETUN_RESTARTED``,
  ``Trigger.CASCADE_FINISHED``): the forwarded port changes with every gluetun start;
- on a slow timer as a safety net: whenever :meth:`PortSyncJob.is_due` (``next_due()`` tells
  when to wake up; it stretches while failing, see :mod:`mediastack.portsync.monitor`).

Each run returns the notification to send, if any (one per failing streak, one when it works
again, one per written change), for the notification queue. Triggers arriving while a run is
in progress can be folded into one more run afterwards: a sync is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mediastack.adapters.gluetun import GluetunControlClient
from mediastack.adapters.qbittorrent import QbittorrentClient
from mediastack.config import LoadedConfig
from mediastack.notify.message import Notification
from mediastack.portsync.monitor import PortSyncMonitor
from mediastack.portsync.outcome import Problem, SyncOutcome, SyncStatus, failed
from mediastack.portsync.sync import ForwardedPortSource, PreferencesStore, Wait, sync_once
from mediastack.portsync.wiring import Endpoints, read_credentials, supervisor_endpoints
from mediastack.supervisor.clock import Clock

logger = logging.getLogger(__name__)


class Trigger(StrEnum):
    """Why a sync runs (logged with its outcome)."""

    START = "start"
    GLUETUN_RESTARTED = "gluetun_restarted"
    CASCADE_FINISHED = "cascade_finished"
    TIMER = "timer"


@dataclass(frozen=True)
class JobResult:
    """One run: its outcome, and the notification to send (None: send nothing)."""

    trigger: Trigger
    outcome: SyncOutcome
    notification: Notification | None


class PortSyncJob:
    """Runs syncs with the given clients and remembers their outcomes. Not thread-safe:
    call it from one thread."""

    def __init__(
        self,
        gluetun: ForwardedPortSource,
        qbittorrent: PreferencesStore,
        *,
        interval: timedelta,
        port_wait_seconds: float,
        clock: Clock,
        wait: Wait,
    ) -> None:
        self._gluetun = gluetun
        self._qbittorrent = qbittorrent
        self._port_wait_seconds = port_wait_seconds
        self._clock = clock
        self._wait = wait
        self.monitor = PortSyncMonitor(interval)

    @classmethod
    def for_supervisor(
        cls,
        loaded: LoadedConfig,
        secrets: Mapping[str, str],
        *,
        clock: Clock,
        wait: Wait,
        endpoints: Endpoints | None = None,
    ) -> PortSyncJob:
        """Return the job with real clients reaching gluetun and qBittorrent at ``endpoints``
        (default: by service name over the shared network, as from the supervisor's
        container). ``secrets`` holds the variables the config names (the supervisor's
        environment); ``wait`` is typically the stop event's ``wait``."""
        endpoints = endpoints or supervisor_endpoints(loaded)
        credentials = read_credentials(loaded, secrets)
        settings = loaded.config.portsync
        return cls(
            GluetunControlClient(endpoints.gluetun_url, credentials.gluetun_api_key),
            QbittorrentClient(
                endpoints.qbittorrent_url,
                credentials.qbittorrent_username,
                credentials.qbittorrent_password,
            ),
            interval=timedelta(seconds=settings.interval_seconds),
            port_wait_seconds=settings.port_wait_seconds,
            clock=clock,
            wait=wait,
        )

    def run(self, trigger: Trigger) -> JobResult:
        """Sync once; log the outcome; return it with the notification to send. Never
        raises for a failure of gluetun, qBittorrent or this code: a bug becomes a FAILED
        outcome (logged with its traceback), so the supervisor never crash-loops on it."""
        try:
            outcome = sync_once(
                self._gluetun,
                self._qbittorrent,
                port_wait_seconds=self._port_wait_seconds,
                wait=self._wait,
                monotonic=self._clock.monotonic,
                progress=logger.info,
            )
        except Exception as error:  # the supervisor must outlive a bug here
            logger.exception("port sync crashed")
            outcome = failed(Problem.INTERNAL_ERROR, f"port sync crashed: {error!r}")
        _log(trigger, outcome)
        notification = self.monitor.record(outcome, self._clock.now())
        return JobResult(trigger, outcome, notification)

    def is_due(self) -> bool:
        """Return True when the safety-net timer says a sync is due now."""
        return self.monitor.is_due(self._clock.now())

    def next_due(self) -> datetime | None:
        """Return when the next safety-net sync is due (None: now)."""
        return self.monitor.next_due()

    def close(self) -> None:
        """End qBittorrent's session and release connections (clients that can close)."""
        for client in (self._qbittorrent, self._gluetun):
            close = getattr(client, "close", None)
            if callable(close):
                close()


def _log(trigger: Trigger, outcome: SyncOutcome) -> None:
    if outcome.status == SyncStatus.FAILED:
        logger.warning(
            "port sync (%s) failed [%s]: %s; fix: %s",
            trigger,
            outcome.problem,
            outcome.reason,
            outcome.fix or "-",
        )
    elif outcome.status == SyncStatus.CHANGED:
        before = outcome.before.as_json() if outcome.before else None
        logger.info(
            "port sync (%s): qBittorrent set to forwarded port %s (was %s)",
            trigger,
            outcome.forwarded_port,
            before,
        )
    else:
        logger.debug("port sync (%s): %s, port %s", trigger, outcome.status, outcome.forwarded_port)
