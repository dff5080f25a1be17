"""Starting the supervisor daemon, without typer or rich.

Used by both entries of ``mediastack supervise`` (the daemon, not ``--check``/``--resume``):
the console script's lean path (``main``, see ``mediastack.cli.daemon_arguments``) and the
typer command (``mediastack.cli.supervise_command``), so both start it the same way: load the
config, configure logging to stderr (one line per decision), build the daemon and its jobs
(``mediastack.supervisor.runtime.wiring``), wire SIGTERM/SIGINT to a clean stop, run.
"""

from __future__ import annotations

import faulthandler
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from mediastack.adapters.errors import AdapterError
from mediastack.cli.daemon_arguments import DaemonRequest
from mediastack.cli.plain_output import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    config_error_lines,
    failure_lines,
    print_lines,
)
from mediastack.config import ConfigError, LoadedConfig, load_config
from mediastack.stack.rendered import RenderedFileError
from mediastack.supervisor.runtime.instance import AlreadyRunningError
from mediastack.supervisor.runtime.logs import configure_logging
from mediastack.supervisor.runtime.messages import Inbox, StopRequested
from mediastack.supervisor.runtime.signal_stop import SignalStop
from mediastack.supervisor.runtime.wiring import build_supervision
from mediastack.supervisor.state import StateError

STARTUP_ERRORS = (RenderedFileError, AdapterError, StateError, AlreadyRunningError)


@dataclass(frozen=True)
class Failure:
    """Why the supervisor cannot start: what to print, and the exit code."""

    message: str
    fix: str | None
    code: int = EXIT_FAILED


class StartFailed(Exception):
    """The daemon could not be built; ``failure`` says why and how to fix it."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def failure_of(error: Exception) -> Failure:
    """Given one of ``STARTUP_ERRORS``, return what to tell the user."""
    if isinstance(error, RenderedFileError | AdapterError):
        return Failure(error.message, error.fix)
    if isinstance(error, StateError):
        return Failure(str(error), "move the file away (the supervisor starts a new one)")
    if isinstance(error, AlreadyRunningError):
        return Failure(str(error), "stop the other one first, or give this one --state-file")
    raise TypeError(f"not a startup error: {error!r}")


def main(request: DaemonRequest) -> int:
    """The console script's lean path: run the daemon; return the exit code."""
    try:
        loaded = load_config(request.config_path)
    except ConfigError as error:
        print_lines(config_error_lines(error))
        return EXIT_BAD_INPUT
    try:
        supervise(loaded, request.state_file, once=request.once, verbose=request.verbose)
    except StartFailed as failed:
        print_lines(failure_lines(failed.failure.message, failed.failure.fix))
        return failed.failure.code
    except KeyboardInterrupt:  # before the signal handlers are in place, as click says it
        print("Aborted!", file=sys.stderr)
        return EXIT_FAILED
    return 0


def supervise(loaded: LoadedConfig, state_file: Path | None, *, once: bool, verbose: bool) -> None:
    """Build the daemon and run it until SIGTERM/SIGINT (or, with ``once``, until nothing is
    in flight). Raise StartFailed when it cannot be built."""
    configure_logging(verbose)
    try:
        supervision = build_supervision(loaded, state_file, with_jobs=not once, verbose=verbose)
    except STARTUP_ERRORS as error:
        raise StartFailed(failure_of(error)) from error
    stop_on_signals(supervision.inbox)
    supervision.daemon.start()
    supervision.stream.start()
    supervision.daemon.run(stop_when_settled=once)


def stop_on_signals(inbox: Inbox) -> None:
    """SIGTERM and SIGINT ask the loop to stop (it finishes the compose call running): the
    handler only sets a ``SignalStop``, and a thread of its own puts the request into the inbox
    (a handler that took the inbox's lock could deadlock the loop: see ``signal_stop``).
    SIGUSR1 writes every thread's stack to the log (stderr) and carries on: what a stop or a
    step that seems stuck is waiting for (``docker kill -s USR1 <supervisor>``)."""
    faulthandler.register(signal.SIGUSR1, all_threads=True, chain=False)
    stop = SignalStop()
    stop.handle([signal.SIGTERM, signal.SIGINT])
    stop.forward(lambda reason: inbox.put(StopRequested(reason)))
