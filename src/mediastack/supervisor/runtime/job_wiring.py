"""Building the daemon's background jobs from the config: port sync, updates, backups, wire.

Each is switched off with a logged reason when the config says so: port sync by
``portsync.enabled`` (and a VPN forwarding a port, gluetun and qBittorrent enabled), the
update schedule by ``updates.scheduled``, the webhook by ``updates.webhook.enabled``,
scheduled backups by ``backups.scheduled``, wire by ``wiring.enabled``.

Every job run happens in a short-lived child process (``job_process``): this module, like the
rest of the daemon, imports none of the jobs' libraries (issue 3: the idle supervisor in
45 MB). The schedules need only croniter; the webhook, off by default, is the exception: it
serves in the daemon, so switching it on loads the update pipeline's modules here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from mediastack.catalogue import CATALOGUE
from mediastack.config import LoadedConfig
from mediastack.notify.message import Notification
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.backup_runner import BackupProcess, BackupRunner
from mediastack.supervisor.runtime.job_notices import FAILURE_PRIORITY
from mediastack.supervisor.runtime.job_process import DaemonHandler, JobProcess
from mediastack.supervisor.runtime.job_protocol import JobName
from mediastack.supervisor.runtime.job_records import (
    PortSyncRecorder,
    WiringRecorder,
    portsync_record_path,
    wiring_record_path,
)
from mediastack.supervisor.runtime.jobs import SupervisorJobs
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.portsync_runner import PortSyncProcess, PortSyncRunner
from mediastack.supervisor.runtime.timers import CronTimer, cron_schedule
from mediastack.supervisor.runtime.update_runner import Serving, UpdateProcess, UpdateRunner
from mediastack.supervisor.runtime.wire_runner import START_DELAY, WireProcess, WireRunner
from mediastack.supervisor.runtime.workers import SerialWorker
from mediastack.updates.queue import UpdateQueue

logger = logging.getLogger("mediastack.supervisor")

GLUETUN_SERVICE = "gluetun"
QBITTORRENT_SERVICE = "qbittorrent"


def build_jobs(
    loaded: LoadedConfig,
    inbox: Inbox,
    notifier: Notifier,
    clock: Clock,
    environment: Mapping[str, str],
    verbose: bool = False,
    state_file: Path | None = None,
) -> SupervisorJobs:
    """Return the jobs the config switches on, not started. ``environment`` holds the secrets
    (the supervisor container's variables); ``verbose`` is the job processes' log level;
    ``state_file`` is the daemon's (the configured one when None), read by the status pages
    the webhook's listener serves.
    Raise RenderedFileError when the webhook is on and nothing is rendered."""
    handler = DaemonHandler(notifier, inbox)
    jobs = SupervisorJobs()
    state = loaded.folder(loaded.config.supervisor.state_file) if state_file is None else state_file
    jobs.portsync = _portsync(loaded, handler, notifier, inbox, clock, environment, verbose, state)
    jobs.updates = _updates(loaded, handler, notifier, clock, environment, verbose, state)
    jobs.backups = _backups(loaded, handler, notifier, inbox, clock, verbose)
    jobs.wire = _wire(loaded, handler, notifier, inbox, clock, environment, verbose, state)
    return jobs


def portsync_disabled_reason(loaded: LoadedConfig) -> str | None:
    """Return why port sync does not apply to this config, or None when it does: the same
    answer as ``mediastack.portsync.wiring.disabled_reason`` (a unit test compares them),
    which the daemon does not import (its module loads the port sync clients)."""
    config = loaded.config
    if not config.portsync.enabled:
        return "port sync is switched off (portsync.enabled: false)"
    if not config.vpn.port_forwarding:
        return "the VPN forwards no port (vpn.port_forwarding: false)"
    for name in (GLUETUN_SERVICE, QBITTORRENT_SERVICE):
        if not loaded.is_enabled(CATALOGUE[name]):
            return f"{name} is switched off (services.{name}.enabled: false)"
    return None


def portsync_secrets(loaded: LoadedConfig, environment: Mapping[str, str]) -> dict[str, str]:
    """Return the variables of ``environment`` port sync reads: gluetun's API key and
    qBittorrent's password (what is unset stays unset)."""
    settings = loaded.config
    names = (settings.vpn.api_key_variable, settings.portsync.qbittorrent_password_variable)
    return {name: environment[name] for name in names if name in environment}


def _portsync(
    loaded: LoadedConfig,
    handler: DaemonHandler,
    notifier: Notifier,
    inbox: Inbox,
    clock: Clock,
    environment: Mapping[str, str],
    verbose: bool,
    state_file: Path,
) -> PortSyncRunner | None:
    reason = portsync_disabled_reason(loaded)
    if reason is not None:
        logger.info("port sync off: %s", reason)
        return None
    interval = timedelta(seconds=loaded.config.portsync.interval_seconds)
    process = JobProcess(JobName.PORTSYNC, loaded, verbose=verbose)
    secrets = portsync_secrets(loaded, environment)
    recorder = PortSyncRecorder(portsync_record_path(state_file), clock)
    job = PortSyncProcess(process, handler, secrets, clock, interval, recorder)
    logger.info("port sync on: at start, after each cascade, and on its safety timer")
    worker = SerialWorker("portsync")
    return PortSyncRunner(job, worker, notifier, inbox, loaded.config.name)


def _updates(
    loaded: LoadedConfig,
    handler: DaemonHandler,
    notifier: Notifier,
    clock: Clock,
    environment: Mapping[str, str],
    verbose: bool,
    state_file: Path,
) -> UpdateRunner | None:
    config = loaded.config
    timer = None
    if config.updates.scheduled:
        schedule = cron_schedule(config.updates.schedule, config.identity.timezone)
        timer = CronTimer("updates", schedule, clock.now())
        logger.info(
            "update schedule on: '%s', next at %s",
            config.updates.schedule,
            timer.next_at.isoformat(),
        )
    else:
        logger.info("update schedule off (updates.scheduled: false)")
    queue = UpdateQueue()
    webhook = _webhook(loaded, queue, notifier, environment, clock, state_file)
    if timer is None and webhook is None:
        return None
    process = UpdateProcess(JobProcess(JobName.UPDATE, loaded, verbose=verbose), handler)
    return UpdateRunner(
        queue,
        lambda: process,
        notifier,
        config.name,
        timer=timer,
        webhook=webhook,
        abandon=process.abandon,
        kill=process.kill,
    )


def _webhook(
    loaded: LoadedConfig,
    queue: UpdateQueue,
    notifier: Notifier,
    environment: Mapping[str, str],
    clock: Clock,
    state_file: Path,
) -> Serving | None:
    webhook = loaded.config.updates.webhook
    if not webhook.enabled:
        logger.info("update webhook off (updates.webhook.enabled: false)")
        return None
    # Only now: the webhook serves in the daemon (see the module docstring).
    from mediastack.supervisor.web.serving import status_pages
    from mediastack.updates.pipeline import build_webhook_server
    from mediastack.updates.webhook import WebhookConfigError

    pages = status_pages(loaded, state_file, clock)
    try:
        server = build_webhook_server(loaded, queue.put, environment, pages)
    except WebhookConfigError as error:
        logger.error("update webhook off: %s", error)
        title = f"{loaded.config.name}: the update webhook is off"
        notifier.put(Notification(title, str(error), FAILURE_PRIORITY, ("warning",)))
        return None
    logger.info("update webhook on: %s:%d", server.settings.bind_address, webhook.port)
    return server


def _backups(
    loaded: LoadedConfig,
    handler: DaemonHandler,
    notifier: Notifier,
    inbox: Inbox,
    clock: Clock,
    verbose: bool,
) -> BackupRunner | None:
    settings = loaded.config.backups
    if not settings.scheduled:
        logger.info("scheduled backups off (backups.scheduled: false)")
        return None
    schedule = cron_schedule(settings.schedule, loaded.config.identity.timezone)
    timer = CronTimer("backups", schedule, clock.now())
    logger.info(
        "scheduled backups on: '%s', next at %s", settings.schedule, timer.next_at.isoformat()
    )
    process = BackupProcess(JobProcess(JobName.BACKUP, loaded, verbose=verbose), handler)
    worker = SerialWorker("backup")
    return BackupRunner(
        process,
        timer,
        worker,
        notifier,
        inbox,
        loaded.config.name,
        abandon=process.abandon,
        kill=process.kill,
    )


def _wire(
    loaded: LoadedConfig,
    handler: DaemonHandler,
    notifier: Notifier,
    inbox: Inbox,
    clock: Clock,
    environment: Mapping[str, str],
    verbose: bool,
    state_file: Path,
) -> WireRunner | None:
    settings = loaded.config.wiring
    if not settings.enabled:
        logger.info("wire off (wiring.enabled: false)")
        return None
    process = WireProcess(JobProcess(JobName.WIRE, loaded, verbose=verbose), handler, environment)
    logger.info(
        "wire on: at start, after cascades, updates and restores, and every %d s",
        settings.interval_seconds,
    )
    interval = timedelta(seconds=settings.interval_seconds)
    worker = SerialWorker("wire")
    # A short interval (a lab's) also shortens the first run's wait after start.
    start_delay = min(START_DELAY, interval)
    return WireRunner(
        process,
        worker,
        notifier,
        inbox,
        loaded.config.name,
        clock,
        interval,
        start_delay=start_delay,
        recorder=WiringRecorder(wiring_record_path(state_file), clock),
    )
