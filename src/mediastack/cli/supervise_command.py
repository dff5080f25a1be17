"""``mediastack supervise``: the self-healing daemon, and ``--resume`` to lift a loop pause.

Thin: ``--check`` and ``--resume`` are answered here; the daemon itself is started by
``mediastack.cli.supervise_daemon`` (typer-free: the console script usually starts it without
this module, see ``mediastack.cli.daemon_arguments``; this command is the path for ``--help``
and for arguments that lean path leaves to typer).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer

from mediastack.cli.common import console, fail, load_or_exit
from mediastack.cli.supervise_daemon import STARTUP_ERRORS, StartFailed, failure_of
from mediastack.cli.supervise_daemon import supervise as run_daemon
from mediastack.config import LoadedConfig
from mediastack.supervisor.cascade import Mode
from mediastack.supervisor.runtime.daemon import RESUME_POLL
from mediastack.supervisor.runtime.heartbeat import assess, heartbeat_path, read_beat
from mediastack.supervisor.runtime.instance import is_running
from mediastack.supervisor.runtime.report import read_report, state_file_path
from mediastack.supervisor.state import SupervisorStore


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
        help="Exit 0 when the supervisor with this config's state file is healthy: its loop "
        "turns and its event stream is connected (the heartbeat it writes); else say why and "
        "exit 1. The container's healthcheck tests the same file without Python.",
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
    try:
        run_daemon(loaded, state_file, once=once, verbose=verbose)
    except StartFailed as failed:
        fail(failed.failure.message, failed.failure.fix, code=failed.failure.code)


def _check_running(path: Path) -> None:
    verdict = assess(read_beat(heartbeat_path(path)), datetime.now(UTC), is_running(path))
    if not verdict.healthy:
        fail(f"the supervisor of {path} is not healthy: {verdict.reason}", _CHECK_FIX)
    console.print(f"the supervisor of {path} is healthy: {verdict.reason}")


_CHECK_FIX = (
    "read the supervisor's log; it runs in the ops stack (mediastack up ops) or as "
    "mediastack supervise"
)


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


@contextmanager
def _reported_errors() -> Iterator[None]:
    try:
        yield
    except STARTUP_ERRORS as error:
        failure = failure_of(error)
        fail(failure.message, failure.fix, code=failure.code)
