"""``mediastack supervise``: the self-healing daemon, and ``--resume`` to lift a loop pause.

Thin: load the config, build the daemon and its jobs (``mediastack.supervisor.runtime.wiring``),
wire SIGTERM/SIGINT to a clean stop, run. Logs go to stderr, one line per decision.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import typer

from mediastack.adapters.errors import AdapterError
from mediastack.cli.common import EXIT_FAILED, console, fail, load_or_exit
from mediastack.config import LoadedConfig
from mediastack.stack.rendered import RenderedFileError
from mediastack.supervisor.cascade import Mode
from mediastack.supervisor.runtime.daemon import RESUME_POLL
from mediastack.supervisor.runtime.instance import AlreadyRunningError, is_running
from mediastack.supervisor.runtime.messages import Inbox, StopRequested
from mediastack.supervisor.runtime.report import read_report, state_file_path
from mediastack.supervisor.runtime.wiring import build_supervision
from mediastack.supervisor.state import StateError, SupervisorStore

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
QUIET_LOGGERS = ("urllib3", "docker", "apprise")


def register(app: typer.Typer) -> None:
    """Add ``supervise`` to ``app``."""
    app.command("supervise")(supervise)


def supervise(
    context: typer.Context,
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Lift a restart-loop pause of the running supervisor (or of the next one to "
        "start), then exit.",
    ),
    once: bool = typer.Option(
        False,
        "--once",
        help="Read the engine, heal what is stale now, and exit once no cascade is in flight "
        "(no port sync, updates or backups).",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Exit 0 when a supervisor is running with this config's state file, else 1 (the "
        "supervisor container's healthcheck).",
    ),
    state_file: Path | None = typer.Option(
        None,
        "--state-file",
        help="The state file to use instead of supervisor.state_file from mediastack.yaml.",
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Log details too."),
) -> None:
    """Watch the Docker events and heal: VPN cascades, autoheal restarts, notifications.

    When gluetun restarts or is recreated, every service in its network namespace is left in a
    dead one. The supervisor waits for gluetun to be healthy, recreates the stale services
    with compose, checks each is healthy in gluetun's namespace, retries with backoff, and
    pauses after a restart loop. Containers labelled autoheal=true that stay unhealthy are
    restarted. It also keeps qBittorrent on the VPN's forwarded port, applies image updates on
    their schedule and from the What's Up Docker webhook, and backs up on schedule. It runs
    until SIGTERM or Ctrl-C (it finishes the current compose call first).

    Example:

        mediastack supervise              # the daemon (the ops stack's supervisor runs this)
        mediastack supervise --resume     # after fixing a restart loop
    """
    loaded = load_or_exit(context)
    if check:
        _check_running(state_file_path(loaded, state_file))
        return
    if resume:
        _request_resume(loaded, state_file_path(loaded, state_file))
        return
    _configure_logging(verbose)
    with _reported_errors():
        supervision = build_supervision(loaded, state_file, with_jobs=not once)
    _stop_on_signals(supervision.inbox)
    supervision.daemon.start()
    supervision.stream.start()
    supervision.daemon.run(stop_when_settled=once)


def _check_running(path: Path) -> None:
    if is_running(path) is not True:
        fail(f"no supervisor holds {path}", "start it: mediastack supervise")
    console.print(f"a supervisor is running with {path}")


def _request_resume(loaded: LoadedConfig, path: Path) -> None:
    now = datetime.now(UTC)
    report = read_report(path, loaded.config.supervisor, now)
    if report.problem is not None:
        fail(f"cannot read {path}: {report.problem}", "check the file's owner and permissions")
    if report.mode is None:
        fail(f"no supervisor state at {path}: the supervisor never ran with this config")
    if report.mode is not Mode.PAUSED:
        console.print(f"cascades are not paused ({report.describe()}): nothing to resume")
        return
    with _reported_errors(), SupervisorStore(path) as store:
        store.request_resume(now)
    seconds = int(RESUME_POLL.total_seconds())
    console.print(
        f"resume requested: the running supervisor lifts the pause within {seconds} s "
        "(a stopped one when it starts)"
    )


def _stop_on_signals(inbox: Inbox) -> None:
    """SIGTERM and SIGINT ask the loop to stop (it finishes the compose call running)."""

    def request_stop(number: int, frame: FrameType | None) -> None:
        inbox.put(StopRequested(signal.Signals(number).name))

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _configure_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


@contextmanager
def _reported_errors() -> Iterator[None]:
    try:
        yield
    except RenderedFileError as error:
        fail(error.message, error.fix, code=EXIT_FAILED)
    except AdapterError as error:
        fail(error.message, error.fix, code=EXIT_FAILED)
    except StateError as error:
        fail(str(error), "move the file away (the supervisor starts a new one)")
    except AlreadyRunningError as error:
        fail(str(error), "stop the other one first, or give this one --state-file")
