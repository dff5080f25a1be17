"""Exit codes, and error output without rich, for the daemon's lean start.

``mediastack supervise`` (the daemon) starts without typer and rich (see
``mediastack.cli.daemon_arguments``); what it prints before it logs is the same text the
typer commands print through rich (``mediastack.cli.common``), without colour.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mediastack.config.errors import ConfigError

# Exit codes: 0 fine, 1 findings or a failed operation, 2 unusable input (config, arguments).
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def config_error_lines(error: ConfigError) -> list[str]:
    """Return the lines that report every problem of ``error`` with its fix."""
    lines = [f"error: {error.source} has {len(error.problems)} problem(s):"]
    for problem in error.problems:
        lines.append(f"  {problem.path or '(file)'}: {problem.message}")
        lines.append(f"      fix: {problem.fix}")
    return lines


def failure_lines(message: str, fix: str | None) -> list[str]:
    """Return the lines of an error and, when known, how to fix it."""
    return [f"error: {message}", *([f"  fix: {fix}"] if fix else [])]


def print_lines(lines: list[str], stream: TextIO | None = None) -> None:
    """Print ``lines`` to ``stream`` (standard error when None)."""
    target = stream if stream is not None else sys.stderr
    for line in lines:
        print(line, file=target)
