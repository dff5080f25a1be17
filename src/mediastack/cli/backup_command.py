"""``mediastack backup`` (with ``verify``, ``list``, ``prune``) and ``mediastack restore``.

Thin: parse, call ``mediastack.backup``, print. A BackupError becomes one error line and its
fix, exit 1; progress bars go to stderr and only on a terminal, so ``--format json`` output
stays machine-readable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from mediastack.adapters.executor import SubprocessExecutor
from mediastack.backup import (
    ArchiveInfo,
    BackupError,
    BackupPlan,
    BackupResult,
    PruneResult,
    RestoreResult,
    RichProgress,
    SilentProgress,
    VerifyReport,
    list_backups,
    plan_backup,
    prune_backups,
    restore_backup,
    run_backup,
    verify_backup,
)
from mediastack.backup.manifest import EntryKind
from mediastack.backup.progress import ProgressReporter
from mediastack.backup.run import format_bytes
from mediastack.backup.services import StackServiceControl
from mediastack.cli.common import (
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    console,
    error_console,
    fail,
    load_or_exit,
    print_json,
)

backup_app = typer.Typer(
    help="Consistent config backups: `backup` writes one; verify, list and prune them.",
    invoke_without_command=True,
    no_args_is_help=False,
)
ARCHIVE_HELP = "An archive: a path, or a file name in the backups folder."


def register(app: typer.Typer) -> None:
    """Add ``backup`` (and its subcommands) and ``restore`` to ``app``."""
    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a BackupError into its message, its fix and exit 1."""
    try:
        yield
    except BackupError as error:
        fail(error.message, error.fix)


def _progress(output: OutputFormat) -> ProgressReporter:
    if output is OutputFormat.TEXT and error_console.is_terminal:
        return RichProgress(error_console)
    return SilentProgress()


@backup_app.callback()
def backup(
    context: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be archived and left out; write nothing."
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Read the new archive back and check it."
    ),
    prune: bool = typer.Option(
        True, "--prune/--no-prune", help="Apply the retention policy after a sound backup."
    ),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Write one timestamped archive (.tar.zst, mode 0600) of every app config folder,
    mediastack.yaml and .env; SQLite databases are copied through SQLite's online backup
    API, so the apps keep running. Then verify it and prune old archives."""
    if context.invoked_subcommand is not None:
        return
    loaded = load_or_exit(context)
    with reported_errors():
        if dry_run:
            _show_plan(plan_backup(loaded), loaded.backups_folder.as_posix(), output)
            return
        result = run_backup(loaded, progress=_progress(output), verify=verify, prune=prune)
    _show_result(result, output)


def _show_plan(plan: BackupPlan, folder: str, output: OutputFormat) -> None:
    per_app = Counter(
        entry.archive_path.split("/")[1]
        for entry in plan.entries
        if entry.kind in (EntryKind.FILE, EntryKind.DATABASE)
    )
    payload: dict[str, Any] = {
        "dry_run": True,
        "backups_folder": folder,
        "apps": list(plan.apps),
        "files": plan.file_count,
        "databases": [entry.archive_path for entry in plan.databases],
        "source_bytes": plan.total_bytes,
        "excluded": list(plan.excluded),
        "warnings": list(plan.warnings),
    }
    if output is OutputFormat.JSON:
        print_json(payload)
        return
    console.print(f"# dry run: would write an archive in {folder}", highlight=False)
    console.print(
        f"{plan.file_count} files ({format_bytes(plan.total_bytes)}) from "
        f"{len(plan.apps)} app folders: "
        + ", ".join(f"{app} ({per_app[app]})" for app in plan.apps),
        highlight=False,
    )
    for entry in plan.databases:
        console.print(f"  database (online backup): {entry.archive_path}", highlight=False)
    for path in plan.excluded:
        console.print(f"  left out: {path}", highlight=False)
    _print_warnings(plan.warnings)


def _print_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        error_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _show_result(result: BackupResult, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(result.as_json())
        return
    console.print(f"[green]backup written:[/] {result.archive}", highlight=False)
    console.print(f"  {result.summary()}", highlight=False)
    for path in result.pruned:
        console.print(f"  pruned: {path.name}", highlight=False)
    _print_warnings(result.warnings)


@backup_app.command("verify")
def verify(
    context: typer.Context,
    archive: str | None = typer.Argument(None, help=ARCHIVE_HELP + " Default: the newest."),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check every checksum in an archive against its manifest and run `PRAGMA
    integrity_check` on every database in it; exit 1 when anything is wrong."""
    loaded = load_or_exit(context)
    with reported_errors():
        report = verify_backup(loaded, archive, progress=_progress(output))
    _show_verification(report, output)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _show_verification(report: VerifyReport, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(report.as_json())
        return
    if report.ok:
        console.print(
            f"[green]verified:[/] {report.archive.name}: {report.members} members, "
            f"{report.databases} databases pass integrity_check, "
            f"{format_bytes(report.checked_bytes)} checked",
            highlight=False,
        )
        return
    error_console.print(f"[bold red]FAILED:[/] {report.archive.name}", highlight=False)
    for problem in report.problems:
        error_console.print(f"  {problem}", highlight=False)


@backup_app.command("list")
def list_command(context: typer.Context, output: OutputFormat = FORMAT_OPTION) -> None:
    """Show the archives in the backups folder, newest first: size, age, verified state."""
    loaded = load_or_exit(context)
    archives = list_backups(loaded)
    now = datetime.now(UTC)
    if output is OutputFormat.JSON:
        print_json([info.as_json(now) for info in archives])
        return
    if not archives:
        console.print(f"no backups in {loaded.backups_folder}", highlight=False)
        return
    console.print(_archive_table(archives, now))


def _archive_table(archives: list[ArchiveInfo], now: datetime) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ARCHIVE", overflow="fold")
    for column in ("CREATED (UTC)", "AGE", "SIZE", "STATE"):
        table.add_column(column, justify="right" if column in ("AGE", "SIZE") else "left",
                         no_wrap=True)
    colours = {"verified": "green", "failed": "red", "unverified": "yellow"}
    for info in archives:
        state = info.state.value
        table.add_row(
            info.path.name,
            info.created.strftime("%Y-%m-%d %H:%M"),
            format_age(info.age(now)),
            format_bytes(info.size_bytes),
            f"[{colours[state]}]{state}[/]",
        )
    return table


def format_age(age: timedelta) -> str:
    """Return an age for people: ``45 s``, ``12 min``, ``5 h``, ``3 d``."""
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@backup_app.command("prune")
def prune(
    context: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; remove nothing."),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Remove the archives the retention policy (backups.keep_daily/weekly/monthly) does not
    keep; the newest verified archive is always kept."""
    loaded = load_or_exit(context)
    with reported_errors():
        result = prune_backups(loaded, dry_run=dry_run)
    _show_prune(result, output)


def _show_prune(result: PruneResult, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(result.as_json())
        return
    verb = "would remove" if result.dry_run else "removed"
    for key, reasons in result.plan.keep.items():
        console.print(f"keep   {key}  ({', '.join(reasons)})", highlight=False)
    for key in result.plan.prune:
        console.print(f"{verb} {key}", highlight=False)
    if not result.plan.prune:
        console.print("nothing to prune", highlight=False)


def restore(
    context: typer.Context,
    archive: str = typer.Argument(..., help=ARCHIVE_HELP),
    only: list[str] = typer.Option(
        [], "--only", metavar="APP", help="Restore only this app's folder (repeatable)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the archive and show what would happen; change nothing."
    ),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Restore app config folders from a backup: stop their running services, put the
    archived folders in place (the replaced ones are kept aside until the services are
    healthy again), start the services. Refuses a corrupt or partial archive."""
    loaded = load_or_exit(context)
    control = StackServiceControl(loaded, SubprocessExecutor(), error_console)
    with reported_errors():
        result = restore_backup(
            loaded, archive, control=control, only=only, dry_run=dry_run,
            progress=_progress(output),
        )
    _show_restore(result, output)


def _show_restore(result: RestoreResult, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(result.as_json())
        return
    plan = result.plan
    prefix = "# dry run: would restore" if result.dry_run else "[green]restored[/]"
    console.print(
        f"{prefix} {', '.join(plan.apps)} ({result.files} entries) from {result.archive.name}",
        highlight=False,
    )
    if plan.restart:
        verb = "would stop and start" if result.dry_run else "restarted healthy"
        console.print(f"  {verb}: {', '.join(plan.restart)}", highlight=False)
    if plan.idle:
        console.print(f"  not running (left stopped): {', '.join(plan.idle)}", highlight=False)
    for path in result.kept_aside:
        console.print(f"  kept aside (remove once checked): {path}", highlight=False)
