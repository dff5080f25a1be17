"""``mediastack doctor``: check the host before ``up``, print a table or JSON, exit 1 on a fail."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.table import Table
from rich.text import Text

from mediastack.cli.common import (
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    console,
    load_or_exit,
    print_json,
)
from mediastack.doctor import CheckResult, Status, report_json, run_checks, summarise


def details(result: CheckResult) -> Text:
    """Return the message, and the fix on its own line; plain text, never read as markup (a
    message may hold brackets such as [::]:80)."""
    text = Text(result.message)
    if result.fix:
        text.append("\nfix: ", style="bold cyan")
        text.append(result.fix)
    return text


SYMBOLS = {
    Status.PASS: "[green]✓[/]",
    Status.WARN: "[yellow]![/]",
    Status.FAIL: "[bold red]✗[/]",
}


def register(app: typer.Typer) -> None:
    """Add the ``doctor`` command to ``app``."""
    app.command("doctor")(doctor)


def doctor(context: typer.Context, output: OutputFormat = FORMAT_OPTION) -> None:
    """Check that this host can run the stack: Docker engine and Compose v2 versions,
    /dev/net/tun, the folders and their owner (PUID:PGID), a real hardlink from
    data/torrents into data/media, free disk, free published ports, and the .env secrets.

    Each check passes (✓), warns (!) or fails (✗), with what to do about it. Exits 1 when a
    check fails, 0 otherwise (warnings included). With --format json, stdout holds only
    {"checks": [...], "passed": n, "warnings": n, "failed": n}.

    Examples:

      cd ~/homelab && mediastack doctor

      mediastack doctor --format json | jq '.checks[] | select(.status != "pass")'
    """
    results = run_checks(load_or_exit(context))
    if output == OutputFormat.JSON:
        print_json(report_json(results))
    else:
        print_table(results)
    if any(result.status == Status.FAIL for result in results):
        raise typer.Exit(EXIT_FAILED)


def print_table(results: Sequence[CheckResult]) -> None:
    """Print the results as a table (status, check, message with its fix below) and a
    one-line summary. The fix shares the message's column so it stays readable at 80 columns."""
    table = Table(show_lines=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result and fix")
    for result in results:
        table.add_row(SYMBOLS[result.status], result.title, details(result))
    console.print(table, highlight=False)
    summary = summarise(results)
    console.print(
        f"{summary.passed} passed, {summary.warnings} warning(s), {summary.failed} failed",
        style="bold red" if summary.failed else ("yellow" if summary.warnings else "green"),
    )
