"""The ``mediastack`` command as a typer app: global options, then one module per command group.

Importing this module loads typer, rich and every command. ``mediastack.cli.main.run`` (the
console script) imports it for every command but the supervisor daemon, which starts without
it (see ``mediastack.cli.main``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from mediastack import __version__
from mediastack.cli import (
    backup_command,
    config_commands,
    doctor_command,
    lint_command,
    portsync_command,
    stack_commands,
    supervise_command,
    update_command,
)
from mediastack.cli.common import CliState
from mediastack.config import CONFIG_ENVIRONMENT_VARIABLE, DEFAULT_CONFIG_NAME

app = typer.Typer(
    name="mediastack",
    help=(
        "A self-healing homelab media stack, as code.\n\n"
        "One config file (mediastack.yaml) is rendered into three Docker Compose projects: "
        "vpn (gluetun and every download service in its namespace), media (plex on the host "
        "network) and ops.\n\n"
        "Start here:\n\n"
        "  mediastack init ~/homelab      # config, .env, folders, rendered stacks\n\n"
        "  cd ~/homelab && mediastack doctor && mediastack lint\n\n"
        "  mediastack up                  # network, then vpn, media, ops\n\n"
        "  mediastack status"
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mediastack {__version__}")
        raise typer.Exit()


@app.callback()
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


config_commands.register(app)
doctor_command.register(app)
lint_command.register(app)
portsync_command.register(app)
stack_commands.register(app)
backup_command.register(app)
update_command.register(app)
supervise_command.register(app)
