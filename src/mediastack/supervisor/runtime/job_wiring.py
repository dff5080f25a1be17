"""Building the daemon's background jobs from the config: port sync, updates, backups, wire,
and the listener.

Each is switched off with a logged reason when the config says so: port sync by
``portsync.enabled`` (and a VPN forwarding a port, gluetun and qBittorrent enabled), the
update schedule by ``updates.scheduled``, the webhook by ``updates.webhook.enabled``, the
status pages by ``status.enabled`` (the listener runs while either of those two is on),
scheduled backups by ``backups.scheduled``, wire by ``wiring.enabled``.

Every job run happens in a short-lived child process (``job_process``): this module, like the
rest of the daemon, imports none of the jobs' libraries (issue 3: the idle supervisor in
45 MB). The schedules need only croniter; the listener is the exception: it serves in the
daemon, so it loads the webhook's and the status pages' modules here (measured in
``bench/supervisor_footprint_shipped.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from mediastack.catalogue import CATALOGUE
from mediastack.config import LoadedConfig
from mediastack.notify.message import Notification
from mediastack.render.environment import looks_secret
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
from mediastack.supervisor.runtime.listener import ListenerRunner
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notices import Notifier
from mediastack.supervisor.runtime.portsync_runner import PortSyncProcess, PortSyncRunner
from mediastack.supervisor.runtime.push_monitors import PushUrlError
from mediastack.supervisor.runtime.push_pings import PushThread, build_push_thread, push_targets
from mediastack.supervisor.runtime.timers import CronTimer, cron_schedule
from mediastack.supervisor.runtime.update_records import UpdatesRecorder, updates_record_path
from mediastack.supervisor.runtime.update_runner import UpdateProcess, UpdateRunner
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
    queue = UpdateQueue()
    jobs.updates = _updates(loaded, handler, notifier, queue, clock, verbose, state)
    jobs.listener = _listener(loaded, queue, notifier, environment, clock, state)
    jobs.push = _push(loaded, notifier, environment, clock, state)
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
    queue: UpdateQueue,
    clock: Clock,
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
    if timer is None and not config.updates.webhook.enabled:
        return None
    process = UpdateProcess(JobProcess(JobName.UPDATE, loaded, verbose=verbose), handler)
    return UpdateRunner(
        queue,
        lambda: process,
        notifier,
        config.name,
        timer=timer,
        abandon=process.abandon,
        kill=process.kill,
        recorder=UpdatesRecorder(updates_record_path(state_file), clock),
    )


def _listener(
    loaded: LoadedConfig,
    queue: UpdateQueue,
    notifier: Notifier,
    environment: Mapping[str, str],
    clock: Clock,
    state_file: Path,
) -> ListenerRunner | None:
    config = loaded.config
    if not config.updates.webhook.enabled:
        logger.info("update webhook off (updates.webhook.enabled: false)")
    if not config.status.enabled:
        logger.info("status pages off (status.enabled: false)")
    if not (config.status.enabled or config.updates.webhook.enabled):
        return None
    # Only now: the listener serves in the daemon (see the module docstring).
    from mediastack.supervisor.web.serving import status_pages
    from mediastack.updates.listening import build_listener
    from mediastack.updates.webhook import WebhookConfigError

    pages = status_pages(loaded, state_file, clock, environment) if config.status.enabled else None
    enqueue = queue.put if config.updates.webhook.enabled else None
    try:
        server = build_listener(loaded, enqueue, environment, pages)
    except WebhookConfigError as error:
        logger.error("update webhook off: %s", error)
        title = f"{config.name}: the update webhook is off"
        notifier.put(Notification(title, str(error), FAILURE_PRIORITY, ("warning",)))
        if pages is None:
            return None
        server = build_listener(loaded, None, environment, pages)
    serves = " and ".join(
        name
        for name, on in (
            ("the status pages", pages is not None),
            ("the update webhook", server.settings.token is not None),
        )
        if on
    )
    logger.info("listener on %s:%d: %s", server.settings.bind_address, server.settings.port, serves)
    return ListenerRunner(server, notifier, config.name, serves)


def _push(
    loaded: LoadedConfig,
    notifier: Notifier,
    environment: Mapping[str, str],
    clock: Clock,
    state_file: Path,
) -> PushThread | None:
    """Push pings after each check, with /health's verdict (read from the daemon's files on
    the push thread); none when no push URL is set. A URL that cannot be used is logged and
    notified, and the daemon runs without pings."""
    status = loaded.config.status
    try:
        targets = push_targets(status, environment)
    except PushUrlError as error:
        logger.error("push pings off: %s", error)
        title = f"{loaded.config.name}: push pings are off"
        notifier.put(Notification(title, str(error), FAILURE_PRIORITY, ("warning",)))
        return None
    if not targets:
        logger.info("push pings off (%s is not set)", status.push_urls_variable)
        return None
    # Only now: the verdict is the status pages' (see the module docstring).
    from mediastack.supervisor.web.serving import status_reader
    from mediastack.supervisor.web.verdict import stack_verdict

    reader = status_reader(loaded, state_file, clock, for_verdict=True)
    started = clock.now()

    def verdict() -> tuple[bool, str] | None:
        view = reader()
        turned = view.health.loop_turned_at
        if turned is None or turned < started:
            return None  # the heartbeat is still the previous process's: nothing to say yet
        judged = stack_verdict(view)
        return judged.healthy, judged.reason

    return build_push_thread(status, environment, clock, verdict, daemon_secret_values(environment))


def daemon_secret_values(environment: Mapping[str, str]) -> list[str]:
    """Return the values a push message must never carry: every value of .env and the
    environment whose name looks secret (the lint rules' ``looks_secret``), and the URL lists
    (notification and push URLs carry tokens)."""
    return [
        value
        for name, value in environment.items()
        if value and (looks_secret(name) or name.endswith("_URLS"))
    ]


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
