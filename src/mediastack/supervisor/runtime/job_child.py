"""One run of a supervisor job, in its own short-lived process:

    python -m mediastack.supervisor.runtime.job_child portsync|update|backup|wire

started by the daemon (``mediastack.supervisor.runtime.job_process``), never by hand. It reads
the request on stdin, runs the job with the config the daemon loaded, logs to stderr (the
daemon's log), speaks the protocol of ``mediastack.supervisor.runtime.job_protocol`` on
stdout, and exits. The job's libraries are imported here, inside each job's function: this
module itself is light, so the unit tests import it.

- ``portsync``: one ``PortSyncJob.run`` with the daemon's memory of earlier runs (the
  ``PortSyncMonitor``'s fields, handed in and back as JSON), so when to notify and when to
  retry is decided as in a long-lived job. SIGTERM ends its wait for the forwarded port.
- ``update``: one ``Updater.handle``, its holds announced to the daemon (and acknowledged by
  it) before any service is recreated, its notifications sent to the daemon's queue. SIGTERM
  (the daemon stopping): the service in progress is finished or rolled back within
  ``stop_budget``'s update times, the others are skipped (``mediastack.updates.stopping``).
- ``backup``: one ``run_backup``; its outcome (written, skipped, failed) for the daemon.
  SIGTERM unwinds it (``JobInterrupted``): its partial archive and work folder are removed
  and it exits without a result.
- ``wire``: one ``mediastack.links.run.wire`` from the supervisor's vantage point (apps by
  service name on the shared network, the homelab's folders at the same path); each link's
  state for the daemon, which decides what to notify.

Any other exception is logged with its traceback and reported as ``{"crashed": repr}``. A
child ends with its daemon (SIGTERM when the daemon's thread that started it ends, however:
a SIGKILLed daemon's port sync would otherwise wait minutes for its port), as a job running
in the daemon itself did.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mediastack.config import Config, LoadedConfig
from mediastack.supervisor.runtime.job_protocol import (
    ACK,
    HoldEnded,
    HoldStarted,
    JobName,
    JobRequest,
    Message,
    Notify,
    Result,
    encode_message,
    encode_notification,
)
from mediastack.supervisor.runtime.logs import configure_logging
from mediastack.supervisor.runtime.signal_stop import SignalStop
from mediastack.supervisor.runtime.stop_budget import (
    UPDATE_FINISH_SECONDS,
    UPDATE_ROLLBACK_SECONDS,
)
from mediastack.updates.stopping import UpdateStop

if TYPE_CHECKING:
    from types import FrameType

    from mediastack.portsync import PortSyncJob, PortSyncMonitor
    from mediastack.updates import UpdateEvent

logger = logging.getLogger("mediastack.supervisor")

GLUETUN_URL_VARIABLE = "MEDIASTACK_PORTSYNC_GLUETUN_URL"
QBITTORRENT_URL_VARIABLE = "MEDIASTACK_PORTSYNC_QBITTORRENT_URL"
"""Where port sync reaches gluetun's control server and qBittorrent, instead of by service
name on the shared network (``http://gluetun:...``): for a supervisor run outside its
container, such as the footprint benchmark's on 127.0.0.1."""

PR_SET_PDEATHSIG = 1  # linux/prctl.h

_stop = SignalStop()
"""Set by SIGTERM in port sync: the daemon is stopping (ends the wait for a port). Not a
``threading.Event``: see ``signal_stop`` (setting one from a handler can deadlock)."""
_update_stop = UpdateStop(UPDATE_FINISH_SECONDS, UPDATE_ROLLBACK_SECONDS)
"""Requested by SIGTERM in an update: finish the service in progress, skip the rest."""
STOPPED_EXIT_CODE = 128 + signal.SIGTERM


class JobInterrupted(BaseException):
    """SIGTERM in a backup: unwinds it (a BaseException, so that no ``except Exception`` on
    the way takes it for a failure) through the clean-ups that remove its partial archive."""


def _interrupt_once(number: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the clean-up is not interrupted again
    raise JobInterrupted


def install_stop_handler(job: JobName) -> None:
    """Make SIGTERM (the daemon stopping) end ``job`` its own way (see the module)."""
    if job is JobName.PORTSYNC:
        _stop.handle([signal.SIGTERM])
    elif job is JobName.UPDATE:
        signal.signal(signal.SIGTERM, lambda number, frame: _update_stop.request())
    elif job is JobName.BACKUP:
        signal.signal(signal.SIGTERM, _interrupt_once)
    # wire: SIGTERM ends it at once; its next run puts back what it left half-done


class ParentGone(Exception):
    """The daemon closed our stdin: nobody is left to hold the services for."""


class Channel:
    """The protocol's two pipes, as the child sees them."""

    def __init__(self, output: IO[str], answers: IO[str]) -> None:
        self._output = output
        self._answers = answers

    def send(self, message: Message) -> None:
        self._output.write(encode_message(message) + "\n")
        self._output.flush()

    def wait_for_ack(self) -> None:
        """Block until the daemon acknowledges; raise ParentGone when it cannot any more."""
        line = self._answers.readline()
        if line.strip() != ACK:
            raise ParentGone(f"expected {ACK!r} from the supervisor, got {line.strip()!r}")


class PipeHold:
    """The ``updates.Maintenance`` of an update run here: the daemon's own hold, reached
    through the pipes (see ``mediastack.supervisor.runtime.job_process.DaemonHandler``)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    @contextlib.contextmanager
    def hold(self, services: Sequence[str], reason: str) -> Iterator[None]:
        """Announce the hold and wait until the daemon has it; end it on exit (even on
        error)."""
        held = tuple(services)
        self._channel.send(HoldStarted(held, reason))
        self._channel.wait_for_ack()
        try:
            yield
        finally:
            self._channel.send(HoldEnded(held, reason))


JobBody = Callable[[LoadedConfig, Mapping[str, Any], Channel], Mapping[str, Any]]


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the job named in ``arguments`` (default: the command line); return the exit code."""
    job = JobName((sys.argv[1:] if arguments is None else arguments)[0])
    install_stop_handler(job)
    _end_with_the_daemon()
    channel = Channel(_protocol_output(), sys.stdin)
    try:
        request = JobRequest.decode(sys.stdin.readline())
        configure_logging(request.verbose)
        loaded = LoadedConfig(Config.model_validate(request.config), Path(request.config_path))
        channel.send(Result(run_job(JOBS[job], loaded, request.arguments, channel)))
    except JobInterrupted:
        logger.info("the %s stopped with the supervisor; it left nothing half-written", job)
        return STOPPED_EXIT_CODE
    return 0


def run_job(
    body: JobBody, loaded: LoadedConfig, arguments: Mapping[str, Any], channel: Channel
) -> Mapping[str, Any]:
    """Run ``body``; a bug becomes ``{"crashed": repr}`` (logged with its traceback)."""
    try:
        return body(loaded, arguments, channel)
    except ParentGone:
        raise
    except Exception as error:
        logger.exception("the %s job crashed", getattr(body, "__name__", "supervisor's"))
        return {"crashed": repr(error)}


def _end_with_the_daemon() -> None:
    """Have the kernel send SIGTERM when the daemon's thread that started us ends (Linux;
    elsewhere a job finishes on its own)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _protocol_output() -> IO[str]:
    """Return stdout for the protocol alone; anything else printed goes to stderr."""
    output = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return output


# -- port sync -----------------------------------------------------------------------------------


def portsync(
    loaded: LoadedConfig, arguments: Mapping[str, Any], channel: Channel
) -> Mapping[str, Any]:
    """Sync once for ``arguments["trigger"]``, with the monitor's memory handed in; return
    the notification to send, the memory, when the next sync is due and the outcome."""
    from mediastack.portsync import Trigger

    job = _portsync_job(loaded, arguments["secrets"])
    restore_monitor(job.monitor, arguments.get("monitor"))
    try:
        result = job.run(Trigger(arguments["trigger"]))
    finally:
        job.close()
    due = job.next_due()
    notification = result.notification
    return {
        "notification": None if notification is None else encode_notification(notification),
        "monitor": monitor_state(job.monitor),
        "next_due": None if due is None else due.isoformat(),
        "outcome": result.outcome.as_json(),
    }


def _portsync_job(loaded: LoadedConfig, secrets: Mapping[str, str]) -> PortSyncJob:
    """Return the supervisor's port sync job, on the endpoints the environment names when it
    does (``GLUETUN_URL_VARIABLE``, ``QBITTORRENT_URL_VARIABLE``)."""
    from mediastack.portsync import PortSyncJob
    from mediastack.portsync.wiring import Endpoints, supervisor_endpoints
    from mediastack.supervisor.clock import SystemClock

    by_name = supervisor_endpoints(loaded)
    endpoints = Endpoints(
        gluetun_url=os.environ.get(GLUETUN_URL_VARIABLE) or by_name.gluetun_url,
        qbittorrent_url=os.environ.get(QBITTORRENT_URL_VARIABLE) or by_name.qbittorrent_url,
    )
    return PortSyncJob.for_supervisor(
        loaded, secrets, clock=SystemClock(), wait=_stop.wait, endpoints=endpoints
    )


def monitor_state(monitor: PortSyncMonitor) -> dict[str, Any]:
    """Return what the monitor remembers between syncs, as JSON-ready data."""
    return {
        "failing": None if monitor.failing is None else monitor.failing.value,
        "consecutive_failures": monitor.consecutive_failures,
        "notified_failure": monitor.notified_failure,
        "last_attempt": None if monitor.last_attempt is None else monitor.last_attempt.isoformat(),
    }


def restore_monitor(monitor: PortSyncMonitor, state: Mapping[str, Any] | None) -> None:
    """Give a fresh monitor the memory ``monitor_state`` returned (None: the first sync)."""
    from mediastack.portsync import Problem

    if state is None:
        return
    failing, last_attempt = state["failing"], state["last_attempt"]
    monitor.failing = None if failing is None else Problem(failing)
    monitor.consecutive_failures = int(state["consecutive_failures"])
    monitor.notified_failure = bool(state["notified_failure"])
    monitor.last_attempt = None if last_attempt is None else datetime.fromisoformat(last_attempt)


# -- updates -------------------------------------------------------------------------------------


def update(
    loaded: LoadedConfig, arguments: Mapping[str, Any], channel: Channel
) -> Mapping[str, Any]:
    """Handle one update request; return how much it did, or why it failed."""
    from mediastack.adapters.engine import DockerEngine
    from mediastack.adapters.engine_images import connect_images
    from mediastack.adapters.errors import AdapterError
    from mediastack.adapters.executor import SubprocessExecutor
    from mediastack.adapters.registry import RegistryClient
    from mediastack.stack.rendered import RenderedFileError
    from mediastack.updates import (
        CallbackListener,
        Source,
        UpdateRequest,
        build_updater,
        notification_for,
    )

    def send(event: UpdateEvent) -> None:
        log_update_event(event)
        channel.send(Notify(notification_for(event)))

    request = UpdateRequest(Source(arguments["source"]), frozenset(arguments["services"]))
    registry = RegistryClient()
    try:
        updater = build_updater(
            loaded,
            executor=SubprocessExecutor(deadline=_update_stop.deadline),
            engine=DockerEngine.connect(),
            images=connect_images(os.environ),
            registry=registry,
            listener=CallbackListener(send),
            maintenance=PipeHold(channel),
            stop=_update_stop,
        )
        run = updater.handle(request)
    except (AdapterError, RenderedFileError) as error:
        return {"failed": {"message": error.message, "fix": error.fix}}
    finally:
        registry.close()
    return {
        "checked": len(run.checks),
        "registry_requests": run.registry_requests,
        "applied": len(run.results),
        # For the status pages: what waits for the user (notify policy), and each result.
        "pending": sorted(step.service for step in run.plan.to_notify),
        "results": [[result.key.service, result.outcome.value] for result in run.results],
    }


# Update stages (``mediastack.updates.Stage`` values, not imported: this module stays light)
# logged above INFO: what the user must look at.
_UPDATE_LOG_LEVELS = {
    "failed": logging.WARNING,
    "rolled_back": logging.WARNING,
    "rollback_failed": logging.ERROR,
}


def log_update_event(event: UpdateEvent) -> None:
    """Write one step of an update to the supervisor's log, with its details. Its
    notification alone is not enough: with no Apprise URL configured it goes nowhere, and the
    daemon's own summary line counts a rollback among the updates applied."""
    level = _UPDATE_LOG_LEVELS.get(event.stage.value, logging.INFO)
    details = f" ({'; '.join(event.details)})" if event.details else ""
    logger.log(level, "update %s: %s%s", event.stage.value, event.message, details)


# -- backups -------------------------------------------------------------------------------------


def backup(
    loaded: LoadedConfig, arguments: Mapping[str, Any], channel: Channel
) -> Mapping[str, Any]:
    """Write one backup; return its outcome (written, skipped, failed) for the daemon."""
    from mediastack.backup import BackupBusyError, BackupError, run_backup

    try:
        result = run_backup(loaded)
    except BackupBusyError as error:
        return {"status": "skipped", "message": error.message}
    except BackupError as error:
        return {"status": "failed", "message": error.message, "fix": error.fix}
    return {"status": "written", "message": result.summary()}


# -- wire ----------------------------------------------------------------------------------------


def wire(loaded: LoadedConfig, arguments: Mapping[str, Any], channel: Channel) -> Mapping[str, Any]:
    """Wire the apps once with ``arguments["secrets"]``; return each link's state (app, key,
    title, status, detail) and the run's summary line. Never fails for an app: a link it
    breaks is a broken link in the result."""
    from mediastack.links.compose_runner import ComposeRunner
    from mediastack.links.endpoints import Vantage
    from mediastack.links.run import WireOptions
    from mediastack.links.run import wire as run_wire

    options = WireOptions(
        Vantage.SUPERVISOR,
        app_wait_seconds=float(loaded.config.wiring.app_wait_seconds),
        host_files=True,  # the ops stack's container mounts the homelab at the same path
    )
    report = run_wire(loaded, arguments["secrets"], options, ComposeRunner(loaded))
    links = [
        {"app": link.app, "key": link.key, "title": link.title, "status": str(link.status),
         "detail": link.detail}
        for link in report.links
    ]  # fmt: skip
    return {"links": links, "summary": report.summary()}


JOBS: dict[JobName, JobBody] = {
    JobName.PORTSYNC: portsync,
    JobName.UPDATE: update,
    JobName.BACKUP: backup,
    JobName.WIRE: wire,
}


if __name__ == "__main__":
    sys.exit(main())
