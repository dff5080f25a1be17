"""``mediastack portsync``: one forwarded-port sync, run from the host.

Thin: find the endpoints, read the secrets, call ``portsync.sync_once``, print. Every
failure (no engine, gluetun not running, 401, qBittorrent down, wrong password) is one error
line and a fix (or the JSON report), exit 1; never a traceback.
"""

from __future__ import annotations

from typing import Any

import typer

from mediastack.adapters.errors import AdapterError
from mediastack.cli.common import (
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    console,
    error_console,
    load_or_exit,
    print_json,
)
from mediastack.portsync import SyncOutcome, SyncStatus, sync_once
from mediastack.portsync.outcome import Problem, failed
from mediastack.portsync.wiring import (
    Endpoints,
    disabled_reason,
    host_endpoints,
    host_secrets,
    open_clients,
    read_credentials,
)

DISABLED_STATUS = "disabled"


def register(app: typer.Typer) -> None:
    """Add ``portsync`` to ``app``."""
    app.command("portsync")(portsync)


def portsync(
    context: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read both sides and report what would change; write nothing."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
    gluetun_url: str | None = typer.Option(
        None,
        "--gluetun-url",
        help="Gluetun's control server, e.g. http://127.0.0.1:8000 "
        "[default: gluetun's address on the shared network, asked from the engine]",
        show_default=False,
    ),
    qbittorrent_url: str | None = typer.Option(
        None,
        "--qbittorrent-url",
        help="qBittorrent's WebUI on its own port, e.g. http://127.0.0.1:8080 "
        "[default: gluetun's address on the shared network, port 8080]",
        show_default=False,
    ),
    wait: int | None = typer.Option(
        None,
        "--wait",
        min=0,
        help="Seconds to wait for gluetun to report a port [default: portsync.port_wait_seconds]",
        show_default=False,
    ),
) -> None:
    """Set qBittorrent's listen port to the VPN's forwarded port, once.

    Reads the forwarded port from gluetun's control server (waiting while it has none yet),
    and sets qBittorrent's listen port to it, with random port and UPnP off, only when
    something differs: no change, no write. The supervisor does the same at start, after
    every gluetun restart and every portsync.interval_seconds.

    Example:

        mediastack portsync --dry-run
        mediastack portsync --format json
    """
    loaded = load_or_exit(context)
    json_output = output_format == OutputFormat.JSON
    reason = disabled_reason(loaded)
    if reason is not None:
        _report_disabled(reason, json_output)
        return
    try:
        endpoints = host_endpoints(loaded, gluetun_url, qbittorrent_url)
    except AdapterError as error:
        outcome = failed(Problem.GLUETUN_UNREACHABLE, error.message, error.fix)
        _report(outcome, None, dry_run=dry_run, json_output=json_output)
        raise typer.Exit(EXIT_FAILED) from None
    credentials = read_credentials(loaded, host_secrets(loaded))
    port_wait = wait if wait is not None else loaded.config.portsync.port_wait_seconds
    with open_clients(endpoints, credentials) as (gluetun, qbittorrent):
        outcome = sync_once(
            gluetun,
            qbittorrent,
            port_wait_seconds=port_wait,
            dry_run=dry_run,
            progress=None if json_output else _progress,
        )
    _report(outcome, endpoints, dry_run=dry_run, json_output=json_output)
    if not outcome.succeeded:
        raise typer.Exit(EXIT_FAILED)


def _progress(message: str) -> None:
    error_console.print(f"[dim]{message}[/]", highlight=False)


def _report_disabled(reason: str, json_output: bool) -> None:
    if json_output:
        print_json({"status": DISABLED_STATUS, "reason": reason})
    else:
        console.print(f"Nothing to do: {reason}.", highlight=False)


def _report(
    outcome: SyncOutcome, endpoints: Endpoints | None, *, dry_run: bool, json_output: bool
) -> None:
    """Print the outcome (a failure as an error line and its fix, unless JSON)."""
    if json_output:
        print_json(_json_report(outcome, endpoints, dry_run))
        return
    if outcome.succeeded:
        console.print(describe(outcome), highlight=False)
        return
    error_console.print(f"[bold red]error:[/] {outcome.reason}", highlight=False)
    if outcome.fix:
        error_console.print(f"  fix: {outcome.fix}", highlight=False)


def _json_report(
    outcome: SyncOutcome, endpoints: Endpoints | None, dry_run: bool
) -> dict[str, Any]:
    report = outcome.as_json()
    report["dry_run"] = dry_run
    report["gluetun_url"] = endpoints.gluetun_url if endpoints else None
    report["qbittorrent_url"] = endpoints.qbittorrent_url if endpoints else None
    return report


def describe(outcome: SyncOutcome) -> str:
    """Return one sentence for a successful outcome."""
    port = outcome.forwarded_port
    previous = _previous_port(outcome)
    if outcome.status == SyncStatus.UNCHANGED:
        return f"qBittorrent already listens on {port}, the forwarded port; nothing written."
    if outcome.status == SyncStatus.WOULD_CHANGE:
        return (
            f"Dry run: would set qBittorrent's listen port from {previous} to {port} (the "
            "forwarded port), random port and UPnP off; nothing written."
        )
    return (
        f"qBittorrent now listens on {port}, the forwarded port (was {previous}); random port "
        "and UPnP are off."
    )


def _previous_port(outcome: SyncOutcome) -> str:
    before = outcome.before
    if before is None:
        return "unknown"
    return "a random port" if before.random_port else str(before.listen_port)
