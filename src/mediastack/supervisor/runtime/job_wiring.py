"""Building the daemon's background jobs from the config: port sync, updates, backups.

Each is switched off with a logged reason when the config says so: port sync by
``portsync.enabled`` (and a VPN forwarding a port, gluetun and qBittorrent enabled), the
update schedule by ``updates.scheduled``, the webhook by ``updates.webhook.enabled``,
scheduled backups by ``backups.scheduled``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.executor import SubprocessExecutor
from mediastack.adapters.registry import RegistryClient
from mediastack.backup import BackupResult, next_backup_time, run_backup
from mediastack.config import LoadedConfig
from mediastack.notify import Notification
from mediastack.portsync import PortSyncJob
from mediastack.portsync.wiring import disabled_reason
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.backup_runner import BackupRunner
from mediastack.supervisor.runtime.hold import DaemonHold
from mediastack.supervisor.runtime.job_notices import FAILURE_PRIORITY
from mediastack.supervisor.runtime.jobs import SupervisorJobs
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.portsync_runner import PortSyncRunner
from mediastack.supervisor.runtime.timers import CronTimer
from mediastack.supervisor.runtime.update_runner import Serving, UpdateHandling, UpdateRunner
from mediastack.supervisor.runtime.workers import SerialWorker
from mediastack.updates import (
    CallbackListener,
    UpdateEvent,
    UpdateQueue,
    UpdateSchedule,
    WebhookConfigError,
    build_updater,
    build_webhook_server,
)
from mediastack.updates import notification_for as update_notification

logger = logging.getLogger("mediastack.supervisor")


def build_jobs(
    loaded: LoadedConfig,
    inbox: Inbox,
    notifier: Notifier,
    clock: Clock,
    environment: Mapping[str, str],
) -> SupervisorJobs:
    """Return the jobs the config switches on, not started. ``environment`` holds the secrets
    (the supervisor container's variables). Raise RenderedFileError when the webhook is on and
    nothing is rendered."""
    jobs = SupervisorJobs()
    jobs.portsync = _portsync(loaded, inbox, notifier, clock, environment, jobs.stop_event)
    jobs.updates = _updates(loaded, inbox, notifier, clock, environment)
    jobs.backups = _backups(loaded, inbox, notifier, clock)
    return jobs


def _portsync(
    loaded: LoadedConfig,
    inbox: Inbox,
    notifier: Notifier,
    clock: Clock,
    environment: Mapping[str, str],
    stop: threading.Event,
) -> PortSyncRunner | None:
    reason = disabled_reason(loaded)
    if reason is not None:
        logger.info("port sync off: %s", reason)
        return None
    job = PortSyncJob.for_supervisor(loaded, environment, clock=clock, wait=stop.wait)
    logger.info("port sync on: at start, after each cascade, and on its safety timer")
    worker = SerialWorker("portsync")
    return PortSyncRunner(job, worker, notifier, inbox, loaded.config.name)


def _updates(
    loaded: LoadedConfig,
    inbox: Inbox,
    notifier: Notifier,
    clock: Clock,
    environment: Mapping[str, str],
) -> UpdateRunner | None:
    config = loaded.config
    timer = None
    if config.updates.scheduled:
        schedule = UpdateSchedule(config.updates.schedule, config.identity.timezone)
        timer = CronTimer("updates", schedule.next_after, clock.now())
        logger.info(
            "update schedule on: '%s', next at %s", schedule.expression, timer.next_at.isoformat()
        )
    else:
        logger.info("update schedule off (updates.scheduled: false)")
    queue = UpdateQueue()
    webhook = _webhook(loaded, queue, notifier, environment)
    if timer is None and webhook is None:
        return None
    registry = RegistryClient()
    engine = DockerEngine.connect()  # used on the update thread only: one client per thread
    hold = DaemonHold(inbox)
    listener = CallbackListener(lambda event: _notify_update(notifier, event))

    def updater() -> UpdateHandling:
        return build_updater(
            loaded,
            executor=SubprocessExecutor(),
            engine=engine,
            registry=registry,
            listener=listener,
            maintenance=hold,
        )

    return UpdateRunner(
        queue, updater, notifier, config.name, timer=timer, webhook=webhook, close=registry.close
    )


def _notify_update(notifier: Notifier, event: UpdateEvent) -> None:
    notifier.put(update_notification(event))


def _webhook(
    loaded: LoadedConfig, queue: UpdateQueue, notifier: Notifier, environment: Mapping[str, str]
) -> Serving | None:
    webhook = loaded.config.updates.webhook
    if not webhook.enabled:
        logger.info("update webhook off (updates.webhook.enabled: false)")
        return None
    try:
        server = build_webhook_server(loaded, queue.put, environment)
    except WebhookConfigError as error:
        logger.error("update webhook off: %s", error)
        title = f"{loaded.config.name}: the update webhook is off"
        notifier.put(Notification(title, str(error), FAILURE_PRIORITY, ("warning",)))
        return None
    logger.info("update webhook on: %s:%d", webhook.bind_address, webhook.port)
    return server


def _backups(
    loaded: LoadedConfig, inbox: Inbox, notifier: Notifier, clock: Clock
) -> BackupRunner | None:
    settings = loaded.config.backups
    if not settings.scheduled:
        logger.info("scheduled backups off (backups.scheduled: false)")
        return None
    timezone = loaded.config.identity.timezone
    timer = CronTimer(
        "backups",
        lambda after: next_backup_time(settings.schedule, after, timezone),
        clock.now(),
    )
    logger.info(
        "scheduled backups on: '%s', next at %s", settings.schedule, timer.next_at.isoformat()
    )

    def backup() -> BackupResult:
        return run_backup(loaded)

    worker = SerialWorker("backup")
    return BackupRunner(backup, timer, worker, notifier, inbox, loaded.config.name)
