"""The errors adapters raise: each one says what failed and, where known, how to fix it.

The CLI catches ``AdapterError`` once and prints ``str(error)`` and ``error.fix``; nothing that
reaches the user from an adapter is a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

SECRET_MASK = "***"


def mask(text: str, secrets: Sequence[str]) -> str:
    """Return ``text`` with every non-empty secret replaced by ``***`` (longest first, so a
    secret that contains another is masked whole)."""
    for secret in sorted((secret for secret in secrets if secret), key=len, reverse=True):
        text = text.replace(secret, SECRET_MASK)
    return text


class AdapterError(Exception):
    """Something outside this process failed. ``fix`` tells the user what to do, when known."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class CommandError(AdapterError):
    """A command exited non-zero, timed out or could not start.

    ``command`` and ``output`` (stderr, then stdout) are already masked: they are safe to print
    and log. A timeout carries ``exit_code`` 124, like coreutils' ``timeout``.
    """

    def __init__(
        self,
        command: Sequence[str],
        exit_code: int,
        output: str,
        fix: str | None = None,
        message: str | None = None,
    ) -> None:
        self.command = tuple(command)
        self.exit_code = exit_code
        self.output = output
        summary = message or f"`{' '.join(self.command)}` exited {exit_code}"
        detail = output.strip()
        super().__init__(f"{summary}: {detail}" if detail else summary, fix)


class CommandTimeoutError(CommandError):
    """A command ran past its time and was killed, with every process of its group (exit code
    124). ``seconds`` is the time it was given (0 when a deadline, such as a stop, ended it)."""

    def __init__(
        self,
        command: Sequence[str],
        exit_code: int,
        output: str,
        *,
        seconds: float,
        message: str,
    ) -> None:
        self.seconds = seconds
        super().__init__(command, exit_code, output, message=message)


class ToolMissingError(CommandError):
    """The program a command needs is not installed (or not on PATH)."""

    def __init__(self, tool: str, fix: str, command: Sequence[str] = ()) -> None:
        self.tool = tool
        super().__init__(
            command or (tool,),
            127,  # the shell's "command not found"
            "",
            fix=fix,
            message=f"{tool} is not installed (or not on PATH)",
        )


class EngineUnreachableError(AdapterError):
    """The Docker engine cannot be reached: not running, wrong DOCKER_HOST, or no permission."""

    def __init__(self, reason: str, fix: str | None = None) -> None:
        self.reason = reason
        super().__init__(
            f"the Docker engine is not reachable: {reason}",
            fix
            or "start the engine (`sudo systemctl start docker`), check DOCKER_HOST, and make "
            "sure you may use the socket (`sudo usermod -aG docker $USER`, then log in again)",
        )


class EngineError(AdapterError):
    """The engine answered, but refused or failed the request (e.g. a network still in use)."""
