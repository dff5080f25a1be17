"""Commands that write or read the config: init, render, config check, config reference."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import typer
from pydantic import ValidationError

from mediastack.catalogue import MEDIA_SERVERS
from mediastack.cli.common import (
    EXIT_BAD_INPUT,
    FORMAT_OPTION,
    OutputFormat,
    console,
    fail,
    load_or_exit,
    print_config_error,
    print_json,
    state_of,
)
from mediastack.config import Config, ConfigError, load_config
from mediastack.config.reference import reference_markdown, reference_rows
from mediastack.render import render_to_disk
from mediastack.scaffold import (
    AlreadyInitialised,
    default_identity,
    default_timezone,
    initialise,
)

config_app = typer.Typer(help="Check the config file, or print its reference.")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("render")(render)
    app.add_typer(config_app, name="config")


def init(
    directory: Path = typer.Argument(Path("."), help="Folder for the homelab (created)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Take defaults; never prompt."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing mediastack.yaml."),
    name: str = typer.Option("mediastack", help="Instance name (compose project prefix)."),
    puid: int | None = typer.Option(None, help="User id the apps run as [default: yours]."),
    pgid: int | None = typer.Option(None, help="Group id the apps run as [default: yours]."),
    timezone: str | None = typer.Option(None, help="IANA time zone [default: the host's]."),
    provider: str = typer.Option("protonvpn", help="Gluetun VPN provider name."),
    media_server: str = typer.Option("plex", help="plex or jellyfin."),
    bind_address: str = typer.Option("0.0.0.0", help="Address web UIs are published on."),
) -> None:
    """Create mediastack.yaml, .env (secrets, mode 0600), the data/ and config/ folder tree,
    and render the three stacks.

    Asks for the main answers when run in a terminal without --yes. Refuses to overwrite an
    existing config unless --force (the .env always keeps the values it already has).

    Example: mediastack init ~/homelab --yes --puid 1000 --pgid 1000 --timezone Europe/Berlin
    """
    default_uid, default_gid = default_identity()
    answers = {
        "name": name,
        "puid": default_uid if puid is None else puid,
        "pgid": default_gid if pgid is None else pgid,
        "timezone": timezone or default_timezone(),
        "provider": provider,
        "media_server": media_server,
        "bind_address": bind_address,
    }
    if not yes and sys.stdin.isatty():
        answers = _ask(answers)
    config = _build_config(answers)
    try:
        result = initialise(directory, config, force=force)
    except AlreadyInitialised as error:
        fail(f"{error} already exists", "pass --force to overwrite it, or pick another folder")
    console.print(f"[green]wrote[/] {result.config_path}")
    console.print(f"[green]wrote[/] {result.env_path} (mode 0600)")
    console.print(f"[green]created[/] {len(result.created_folders)} folder(s)")
    _render_after_init(result.config_path)
    for variable in result.placeholders:
        console.print(f"[yellow]to do:[/] set {variable} in {result.env_path}")
    console.print(f"next: cd {result.config_path.parent} && mediastack doctor && mediastack up")


def _ask(answers: dict[str, object]) -> dict[str, object]:
    asked = dict(answers)
    asked["puid"] = typer.prompt("User id for the apps (PUID)", default=answers["puid"], type=int)
    asked["pgid"] = typer.prompt("Group id (PGID)", default=answers["pgid"], type=int)
    asked["timezone"] = typer.prompt("Time zone", default=answers["timezone"])
    asked["provider"] = typer.prompt("VPN provider (gluetun name)", default=answers["provider"])
    asked["media_server"] = typer.prompt(
        f"Media server ({' or '.join(MEDIA_SERVERS)})", default=answers["media_server"]
    )
    asked["bind_address"] = typer.prompt(
        "Publish web UIs on address", default=answers["bind_address"]
    )
    return asked


def _build_config(answers: dict[str, object]) -> Config:
    raw = {
        "name": answers["name"],
        "identity": {
            "puid": answers["puid"],
            "pgid": answers["pgid"],
            "timezone": answers["timezone"],
        },
        "vpn": {"provider": answers["provider"]},
        "media_server": answers["media_server"],
        "network": {"bind_address": answers["bind_address"]},
    }
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        fail(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()),
            "correct the flag (see mediastack init --help)",
            code=EXIT_BAD_INPUT,
        )


def _render_after_init(config_path: Path) -> None:
    try:
        written = render_to_disk(load_config(config_path))
    except ConfigError as error:
        print_config_error(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    folder = written[0].path.parent.parent
    console.print(f"[green]rendered[/] {len(written)} file(s) under {folder}")


def render(
    context: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
) -> None:
    """Render mediastack.yaml into stacks/vpn, stacks/media and stacks/ops (compose.yaml and a
    0600 .env each). Deterministic: unchanged files are not touched.

    Example: mediastack render --dry-run
    """
    loaded = load_or_exit(context)
    try:
        written = render_to_disk(loaded, dry_run=dry_run)
    except ConfigError as error:
        print_config_error(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    verb = "would write" if dry_run else "wrote"
    for file in written:
        label = f"[green]{verb}[/]" if file.changed else "[dim]unchanged[/]"
        console.print(f"{label} {file.path}")


@config_app.command("check")
def check(context: typer.Context, output: OutputFormat = FORMAT_OPTION) -> None:
    """Validate mediastack.yaml and list every problem with its key path and fix (exit 2).

    Example: mediastack -c ~/homelab/mediastack.yaml config check --format json
    """
    path = state_of(context).config_path
    try:
        load_config(path)
    except ConfigError as error:
        if output == OutputFormat.JSON:
            print_json({"valid": False, "problems": [p.as_dict() for p in error.problems]})
        else:
            print_config_error(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if output == OutputFormat.JSON:
        print_json({"valid": True, "problems": []})
    else:
        console.print(f"[green]ok[/] {path}")


@config_app.command("reference")
def reference(
    output: Literal["markdown", "json"] = typer.Option("markdown", "--format"),
) -> None:
    """Print every config key with its type, default and meaning (generated from the schema).

    Example: mediastack config reference --format json
    """
    if output == "json":
        print_json([asdict(row) for row in reference_rows()])
    else:
        typer.echo(reference_markdown(), nl=False)
