"""The ``mediastack`` command as a typer app: global options, then one module per command group.

``app_for(arguments)`` builds the app with only the module of the command asked for (the first
word after the global options), so ``mediastack backup`` does not import every other command
(that halves its start-up: 0.9 s against 1.6 s on the development machine, which
``bench/backup_bench.py`` counts against ``tar``). Without a known command word (``--help``, a
typo) it builds the whole app, so help lists everything and typer suggests the right name.
``app`` is the whole app, built on first use (tests drive it with typer's runner).
``mediastack.cli.main.run`` (the console script) calls ``app_for``, except for the supervisor
daemon, which starts without typer (see ``mediastack.cli.main``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import typer

from mediastack import __version__
from mediastack.cli.common import CliState
from mediastack.config import CONFIG_ENVIRONMENT_VARIABLE, DEFAULT_CONFIG_NAME

COMMAND_MODULES: dict[str, str] = {
    "init": "config_commands",
    "render": "config_commands",
    "config": "config_commands",
    "doctor": "doctor_command",
    "lint": "lint_command",
    "portsync": "portsync_command",
    "up": "stack_commands",
    "down": "stack_commands",
    "restart": "stack_commands",
    "pull": "stack_commands",
    "ps": "stack_commands",
    "status": "stack_commands",
    "logs": "stack_commands",
    "wire": "wire_command",
    "backup": "backup_command",
    "restore": "backup_command",
    "update": "update_command",
    "supervise": "supervise_command",
}
"""Each command (or command group) word, and the module in ``mediastack.cli`` that registers it;
a unit test keeps it equal to what the modules register. Listed in help order."""
OPTIONS_WITH_A_VALUE = ("-c", "--config")
HELP = (
    "A self-healing homelab media stack, as code.\n\n"
    "One config file (mediastack.yaml) is rendered into three Docker Compose projects: "
    "vpn (gluetun and every download service in its namespace), media (plex on the host "
    "network) and ops.\n\n"
    "Start here:\n\n"
    "  mediastack init ~/homelab      # config, .env, folders, rendered stacks\n\n"
    "  cd ~/homelab && mediastack doctor && mediastack lint\n\n"
    "  mediastack up                  # network, then vpn, media, ops\n\n"
    "  mediastack status"
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mediastack {__version__}")
        raise typer.Exit()


def main(
    context: typer.Context,
    config: Path = typer.Option(
        Path(DEFAULT_CONFIG_NAME),
        "-c",
        "--config",
        envvar=CONFIG_ENVIRONMENT_VARIABLE,
        help="Path of mediastack.yaml.",
        show_default=True,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    context.obj = CliState(config_path=config)


def build_app(modules: Iterable[str]) -> typer.Typer:
    """Return the app with the global options and the commands of ``modules`` (names of
    modules in ``mediastack.cli``)."""
    built = typer.Typer(
        name="mediastack",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode="markdown",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    built.callback()(main)
    for module in dict.fromkeys(modules):  # once each, in order
        importlib.import_module(f"mediastack.cli.{module}").register(built)
    return built


def command_word(arguments: Sequence[str]) -> str | None:
    """Return the first word after the global options, or None when there is none."""
    skip_value = False
    for argument in arguments:
        if skip_value:
            skip_value = False
        elif argument in OPTIONS_WITH_A_VALUE:
            skip_value = True
        elif not argument.startswith("-"):
            return argument
    return None


def app_for(arguments: Sequence[str]) -> typer.Typer:
    """Return the app to run ``arguments`` with: only the asked command's module when the
    command word is known, else every command."""
    module = COMMAND_MODULES.get(command_word(arguments) or "")
    return build_app([module] if module else COMMAND_MODULES.values())


def __getattr__(name: str) -> Any:
    """``app``: the whole app, built once, on first use."""
    if name == "app":
        whole = build_app(COMMAND_MODULES.values())
        globals()["app"] = whole
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
