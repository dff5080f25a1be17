"""``mediastack update``: check images without pulling, and apply updates with a health check
and rollback. Thin: parse, call ``mediastack.updates``, print."""

from __future__ import annotations

import os
from collections.abc import Callable

import typer
from rich.console import Console
from rich.table import Table

from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.engine_images import connect_images
from mediastack.adapters.executor import SubprocessExecutor
from mediastack.adapters.registry import MANIFEST_PURPOSE, TOKEN_PURPOSE, RegistryClient
from mediastack.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    console,
    error_console,
    fail,
    load_or_exit,
    print_json,
)
from mediastack.cli.stack_commands import reported_errors
from mediastack.config import LoadedConfig
from mediastack.stack import operations
from mediastack.stack.rendered import require_rendered
from mediastack.updates import (
    CallbackListener,
    CheckResult,
    CheckStatus,
    Decision,
    Outcome,
    Source,
    UpdateEvent,
    UpdateRequest,
    build_updater,
)
from mediastack.updates.pipeline import UpdateRun

SERVICES_ARGUMENT = typer.Argument(
    None,
    metavar="SERVICE",
    help="Services to check or update (e.g. sonarr); none: every running service.",
    show_default=False,
)
_FAILED_OUTCOMES = (Outcome.FAILED, Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED)
_STATUS_STYLES = {
    CheckStatus.UP_TO_DATE: "green",
    CheckStatus.OUTDATED: "yellow",
    CheckStatus.ERROR: "red",
}


def register(app: typer.Typer) -> None:
    """Add ``update`` to ``app``."""
    app.command("update")(update)


def update(
    context: typer.Context,
    services: list[str] | None = SERVICES_ARGUMENT,
    check: bool = typer.Option(
        False, "--check", help="Only report what is outdated: no pull, no change."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check, then print the commands an update would run."
    ),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Update the images of running services: check, pull, recreate, verify, roll back.

    The check asks each image's registry for the tag's current digest with one HEAD request
    and compares it with the digest the running image was pulled as: nothing is pulled until
    something changed. An update pulls, recreates the service through compose (gluetun with
    every service in its namespace), waits until it is running and healthy within
    updates.healthy_timeout_seconds, and otherwise rolls back to the previous image.
    services.NAME.update: auto (default), notify (only when named here) or pin (never).

    Exit codes: --check exits 1 when something is outdated; an update exits 1 when one failed
    or was rolled back.

    Example:

        mediastack update --check
        mediastack update sonarr --dry-run
        mediastack update            # every outdated service whose policy is auto
    """
    loaded = load_or_exit(context)
    names = _validated(loaded, services or [])
    json_output = output == OutputFormat.JSON
    progress = error_console if json_output else console
    with reported_errors():
        executor = SubprocessExecutor()
        if not check and not dry_run:
            operations.require_compose(executor)
        with RegistryClient() as registry:
            updater = build_updater(
                loaded,
                executor=executor,
                engine=DockerEngine.connect(),
                images=connect_images(os.environ),
                registry=registry,
                listener=CallbackListener(lambda event: _print_event(progress, event)),
            )
            if check:
                _report_check(updater.check(names), registry, json_output)
                return
            write = _plain_writer(progress)
            run = updater.handle(UpdateRequest(Source.CLI, names), dry_run=dry_run, write=write)
    _report_run(run, json_output)


def _validated(loaded: LoadedConfig, services: list[str]) -> frozenset[str]:
    with reported_errors():
        known = [name for project in require_rendered(loaded) for name in project.service_names]
    unknown = [name for name in services if name not in known]
    if unknown:
        fail(
            f"not a rendered service: {', '.join(unknown)}",
            f"use one of: {', '.join(known)}",
            code=EXIT_BAD_INPUT,
        )
    return frozenset(services)


def _report_check(results: list[CheckResult], registry: RegistryClient, json_output: bool) -> None:
    outdated = [result.service for result in results if result.status == CheckStatus.OUTDATED]
    requests = {
        "total": registry.requests.count(),
        "manifest_head": registry.requests.count(MANIFEST_PURPOSE, "HEAD"),
        "token": registry.requests.count(TOKEN_PURPOSE),
    }
    if json_output:
        print_json(
            {
                "services": [result.to_json() for result in results],
                "outdated": outdated,
                "registry_requests": requests,
            }
        )
    else:
        console.print(check_table(results))
        console.print(
            f"{len(outdated)} outdated of {len(results)} running; "
            f"{requests['manifest_head']} manifest HEAD and {requests['token']} token "
            "request(s); nothing pulled",
            highlight=False,
        )
    if outdated:
        raise typer.Exit(EXIT_FAILED)


def check_table(results: list[CheckResult]) -> Table:
    """Return the table ``update --check`` prints."""
    table = Table("STACK", "SERVICE", "STATUS", "POLICY", "IMAGE", "DETAIL", box=None)
    for result in results:
        style = _STATUS_STYLES.get(result.status)
        status = f"[{style}]{result.status.value}[/]" if style else result.status.value
        detail = result.detail or (
            f"new: {result.remote_digest[:19]}"
            if result.status == CheckStatus.OUTDATED and result.remote_digest
            else ""
        )
        table.add_row(
            result.image.key.stack.value,
            result.service,
            status,
            result.image.policy.value,
            result.image.reference_text,
            detail,
        )
    return table


def _report_run(run: UpdateRun, json_output: bool) -> None:
    if json_output:
        print_json(
            {
                "checked": [check.to_json() for check in run.checks],
                "plan": [
                    {
                        "service": step.service,
                        "decision": step.decision.value,
                        "reason": step.reason,
                    }
                    for step in run.plan.steps
                ],
                "results": [result.to_json() for result in run.results],
                "registry_requests": run.registry_requests,
            }
        )
    else:
        _print_summary(run)
    if any(result.outcome in _FAILED_OUTCOMES for result in run.results):
        raise typer.Exit(EXIT_FAILED)


def _print_summary(run: UpdateRun) -> None:
    for step in run.plan.steps:
        if step.decision != Decision.APPLY and step.check.status == CheckStatus.OUTDATED:
            console.print(f"{step.service}: not updated: {step.reason}", highlight=False)
    if not run.plan.to_apply:
        console.print("nothing to update", highlight=False)
    for result in run.results:
        console.print(f"{result.key.service}: {result.outcome.value}", highlight=False)


def _print_event(target: Console, event: UpdateEvent) -> None:
    target.print(f"[bold]>[/] {event.message}", highlight=False)
    for detail in event.details:
        target.print(f"    {detail}", markup=False, highlight=False)


def _plain_writer(target: Console) -> Callable[[str], None]:
    def write(line: str) -> None:
        target.print(line, markup=False, highlight=False, soft_wrap=True)

    return write
