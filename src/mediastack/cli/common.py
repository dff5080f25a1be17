"""What every command shares: the config option, consoles, output formats, error printing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

# Re-exported (``X as X``): the command modules import the exit codes from here.
from mediastack.cli.plain_output import EXIT_BAD_INPUT as EXIT_BAD_INPUT
from mediastack.cli.plain_output import EXIT_FAILED as EXIT_FAILED
from mediastack.config import ConfigError, LoadedConfig, load_config

console = Console()
error_console = Console(stderr=True)


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


FORMAT_OPTION = typer.Option(
    OutputFormat.TEXT, "--format", help="text for people, json for scripts."
)


@dataclass
class CliState:
    """Set by the top-level callback; read by every command through ``ctx.obj``."""

    config_path: Path


def state_of(context: typer.Context) -> CliState:
    state = context.find_root().obj
    assert isinstance(state, CliState), "the main callback sets ctx.obj"
    return state


def load_or_exit(context: typer.Context) -> LoadedConfig:
    """Return the loaded config, or print every problem with its fix and exit 2."""
    try:
        return load_config(state_of(context).config_path)
    except ConfigError as error:
        print_config_error(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def print_config_error(error: ConfigError) -> None:
    error_console.print(f"[bold red]error:[/] {error.source} has {len(error.problems)} problem(s):")
    for problem in error.problems:
        where = problem.path or "(file)"
        error_console.print(f"  [bold]{where}[/]: {problem.message}", highlight=False)
        error_console.print(f"      fix: {problem.fix}", highlight=False)


def fail(message: str, fix: str | None = None, code: int = EXIT_FAILED) -> NoReturn:
    """Print an error (and how to fix it) and exit with ``code``."""
    error_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if fix:
        error_console.print(f"  fix: {fix}", highlight=False)
    raise typer.Exit(code)


def print_json(payload: Any) -> None:
    """Print machine-readable output on stdout, nothing else."""
    typer.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))
