"""Commands that run the rendered stacks: up, down, restart, pull, ps, status, logs.

Thin: parse, call ``mediastack.stack``, print. Every failure the user can act on (no engine,
no compose plugin, nothing rendered, an unknown TARGET, compose failing) becomes one error
line and a fix, exit 1 (2 for a bad TARGET); never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.table import Table

from mediastack.adapters.compose import Compose, ComposeContainer, ComposeProject
from mediastack.adapters.engine import DockerEngine
from mediastack.adapters.engine_images import connect_images
from mediastack.adapters.errors import AdapterError
from mediastack.adapters.executor import SubprocessExecutor
from mediastack.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    console,
    fail,
    load_or_exit,
    print_config_error,
    print_json,
)
from mediastack.cli.link_output import links_table, print_link_state
from mediastack.config import ConfigError
from mediastack.links.report import WireReport
from mediastack.stack import app_links, first_start, operations, status
from mediastack.stack.rendered import RenderedFileError, require_rendered
from mediastack.stack.status import ServiceStatus, Verdict
from mediastack.stack.targets import TargetError, resolve_targets
from mediastack.supervisor.runtime.report import SupervisorReport, read_report, state_file_path

TARGETS_ARGUMENT = typer.Argument(
    None,
    metavar="TARGET",
    help="Stacks (vpn, media, ops) or services (e.g. qbittorrent); none: every stack.",
    show_default=False,
)
DRY_RUN_OPTION = typer.Option(
    False, "--dry-run", help="Print the exact commands that would run; run nothing."
)
INTERRUPTED_EXIT_CODES = (130, 2)  # SIGINT as the shell reports it; compose's own for Ctrl-C


def register(app: typer.Typer) -> None:
    """Add up, down, restart, pull, ps, status and logs to ``app``."""
    for name, command in (
        ("up", up),
        ("down", down),
        ("restart", restart),
        ("pull", pull),
        ("ps", ps),
        ("status", show_status),
        ("logs", logs),
    ):
        app.command(name)(command)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the errors users can act on into a message, a fix and an exit code."""
    try:
        yield
    except TargetError as error:
        fail(error.message, error.fix, code=EXIT_BAD_INPUT)
    except RenderedFileError as error:
        fail(error.message, error.fix)
    except AdapterError as error:
        fail(error.message, error.fix)
    except ConfigError as error:
        print_config_error(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _progress(dry_run: bool) -> Callable[[str], None]:
    """Return how ``up``'s own steps report progress: as operations' lines are."""
    return lambda message: operations.say_progress(console, message, dry_run)


def _engine_unless(dry_run: bool) -> DockerEngine | None:
    """Connect to the engine (so a missing one is reported clearly, before compose prints
    its own error); a dry run needs none."""
    return None if dry_run else DockerEngine.connect()


def up(
    context: typer.Context,
    targets: list[str] | None = TARGETS_ARGUMENT,
    dry_run: bool = DRY_RUN_OPTION,
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Wait until the started services are healthy."
    ),
    wait_timeout: int = typer.Option(
        operations.DEFAULT_WAIT_TIMEOUT_SECONDS,
        "--wait-timeout",
        min=1,
        help="Seconds to wait for healthy, per stack.",
    ),
    force_recreate: bool = typer.Option(
        False,
        "--force-recreate",
        help="Recreate the containers even if unchanged (e.g. stale in a dead namespace); "
        "with services named, only those.",
    ),
    wire_apps: bool = typer.Option(
        True,
        "--wire/--no-wire",
        help="Once healthy, connect the apps to each other (`mediastack wire`).",
    ),
) -> None:
    """Start the stacks: the shared network first, then vpn, media, ops.

    Before anything starts: renders again when mediastack.yaml or .env changed since the last
    render (a compose file you edited by hand afterwards is run as it is); refuses, with exit
    2, while a secret the stacks need is still a CHANGE_ME placeholder in .env; builds the
    supervisor's image when it is missing or older than this mediastack. A service that owns
    a network namespace (gluetun) brings up the services in it too.

    Example:

        mediastack up                 # network, then vpn, media, ops
        mediastack up vpn --dry-run   # print the commands only
        mediastack up --force-recreate sonarr   # sonarr is stale in a dead namespace

    Once the stacks are healthy, up wires the apps (as `mediastack wire` does: root
    folders, download clients, Prowlarr's applications...); `--no-wire` leaves that out.
    """
    loaded = load_or_exit(context)
    with reported_errors():
        engine = _engine_unless(dry_run)
        images = None if dry_run else connect_images(os.environ)
        first_start.prepare_up(
            loaded, targets or (), engine=engine, images=images, say=_progress(dry_run),
            dry_run=dry_run,
        )  # fmt: skip
        plan = operations.up(
            loaded,
            targets or (),
            executor=SubprocessExecutor(),
            console=console,
            engine=engine,
            dry_run=dry_run,
            wait=wait,
            wait_timeout_seconds=wait_timeout,
            force_recreate=force_recreate,
        )
        if wire_apps:
            app_links.wire_after_up(
                loaded, plan, wait=wait, dry_run=dry_run, say=_progress(dry_run),
                progress=print_link_state,
            )  # fmt: skip


def down(
    context: typer.Context,
    targets: list[str] | None = TARGETS_ARGUMENT,
    dry_run: bool = DRY_RUN_OPTION,
    remove_network: bool = typer.Option(
        False, "--remove-network", help="Also remove the shared network (full down only)."
    ),
) -> None:
    """Stop and remove the stacks' containers, in reverse order: ops, media, vpn.

    Data and config folders are untouched. Taking gluetun down takes the services in its
    namespace down with it. The shared network stays unless --remove-network.

    Example:

        mediastack down                    # ops, media, vpn; the network stays
        mediastack down media --dry-run    # print the commands only
    """
    loaded = load_or_exit(context)
    with reported_errors():
        operations.down(
            loaded,
            targets or (),
            executor=SubprocessExecutor(),
            console=console,
            engine=_engine_unless(dry_run),
            dry_run=dry_run,
            remove_network=remove_network,
        )


def restart(
    context: typer.Context,
    targets: list[str] | None = TARGETS_ARGUMENT,
    dry_run: bool = DRY_RUN_OPTION,
) -> None:
    """Restart containers in place (changed compose files are applied by `up`, not here).

    Restarting gluetun also restarts the services in its namespace (compose's
    depends_on restart), so none is left in a dead namespace.

    Example:

        mediastack restart sonarr radarr
        mediastack restart vpn --dry-run   # print the commands only
    """
    loaded = load_or_exit(context)
    with reported_errors():
        _engine_unless(dry_run)
        operations.restart(
            loaded, targets or (), executor=SubprocessExecutor(), console=console, dry_run=dry_run
        )


def pull(
    context: typer.Context,
    targets: list[str] | None = TARGETS_ARGUMENT,
    dry_run: bool = DRY_RUN_OPTION,
) -> None:
    """Pull newer images for the stacks; `mediastack up` then recreates what changed.

    Services with pull_policy: never (locally built images) are skipped.

    Example:

        mediastack pull && mediastack up   # update every image, recreate what changed
    """
    loaded = load_or_exit(context)
    with reported_errors():
        _engine_unless(dry_run)
        operations.pull(
            loaded, targets or (), executor=SubprocessExecutor(), console=console, dry_run=dry_run
        )


def ps(context: typer.Context, output: OutputFormat = FORMAT_OPTION) -> None:
    """List the containers of every rendered stack, stopped ones included (`docker compose ps`).

    Example:

        mediastack ps --format json
    """
    loaded = load_or_exit(context)
    with reported_errors():
        rows: list[tuple[str, ComposeContainer]] = []
        for project in require_rendered(loaded):
            compose = Compose(ComposeProject.for_stack(loaded, project.stack), SubprocessExecutor())
            rows += [(project.stack.value, container) for container in compose.ps()]
    if output == OutputFormat.JSON:
        print_json({"containers": [_container_json(stack, row) for stack, row in rows]})
        return
    table = Table("STACK", "SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS", box=None)
    for stack, row in rows:
        table.add_row(stack, row.service, row.name, row.state, row.health or "-", _ports(row))
    console.print(table)


def show_status(context: typer.Context, output: OutputFormat = FORMAT_OPTION) -> None:
    """Show every service of every rendered stack: stack, zone, state, health, uptime, image,
    and for services in gluetun's namespace whether they really share it (ok, stale, unknown).

    A stale service runs in a dead namespace (gluetun restarted or was recreated): it has no
    network, and a restart does not help; `mediastack up --force-recreate SERVICE` does (the
    supervisor does it by itself). Below the table: the supervisor's state (watching,
    cascading, or paused until a time) and its last cascades with their durations.
    A dependent you stopped yourself (`docker compose stop unpackerr`) shows as `stopped`:
    the supervisor leaves it so until you start it again.
    Exits 1 when a service is missing, exited, unhealthy or stale.

    Example:

        mediastack status --format json | jq '.services[] | select(.namespace == "stale")'
    """
    loaded = load_or_exit(context)
    with reported_errors():
        statuses = status.collect(loaded, DockerEngine.connect())
        links = app_links.status_links(loaded)
    now = datetime.now(UTC)
    supervisor = read_report(state_file_path(loaded), loaded.config.supervisor, now)
    statuses = status.with_user_stops(statuses, supervisor.user_stopped)
    if output == OutputFormat.JSON:
        services = [entry.to_json() for entry in statuses]
        print_json({
            "services": services,
            "supervisor": supervisor.to_json(),
            "links": [link.as_json() for link in links.links],
        })  # fmt: skip
    else:
        console.print(status_table(statuses))
        print_links(links)
        print_supervisor(supervisor)
    if status.needing_attention(statuses):
        raise typer.Exit(EXIT_FAILED)


def logs(
    context: typer.Context,
    service: str = typer.Argument(
        ..., metavar="SERVICE", help="A service (e.g. sonarr), or a stack for all of it."
    ),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing until Ctrl-C."),
    tail: int | None = typer.Option(
        None, "--tail", min=0, help="Only the last N lines of each container."
    ),
) -> None:
    """Print a service's logs (`docker compose logs`).

    Example:

        mediastack logs gluetun --tail 50 --follow
    """
    loaded = load_or_exit(context)
    with reported_errors():
        (target,) = resolve_targets(loaded, [service])
        executor = SubprocessExecutor()
        _engine_unless(dry_run=False)
        operations.require_compose(executor)
        compose = Compose(ComposeProject.for_stack(loaded, target.stack), executor)
        exit_code = compose.logs(target.services, follow=follow, tail=tail)
    if follow and exit_code in INTERRUPTED_EXIT_CODES:
        exit_code = 0  # Ctrl-C is how a follow ends
    if exit_code != 0:
        raise typer.Exit(EXIT_FAILED)


def status_table(statuses: list[ServiceStatus]) -> Table:
    """Return the rich table ``status`` prints."""
    table = Table(
        "STACK", "SERVICE", "ZONE", "STATE", "HEALTH", "UP", "NAMESPACE", "IMAGE", box=None
    )
    for entry in statuses:
        table.add_row(
            entry.stack.value,
            entry.service,
            entry.zone or "-",
            _styled_state(entry.state),
            _styled_health(entry.health),
            format_duration(entry.uptime_seconds),
            _namespace_cell(entry),
            entry.image or "-",
        )
    return table


def print_links(report: WireReport) -> None:
    """Print the links' table (``status``), or one line when no app answered."""
    console.print()
    if app_links.no_app_answered(report):
        console.print(
            "links: no app answered (the stacks are down?); `mediastack up` wires them",
            highlight=False,
        )
        return
    console.print(links_table(report.links))


def print_supervisor(report: SupervisorReport) -> None:
    """Print the supervisor's state and its last cascades under the status table."""
    console.print(f"\n[bold]supervisor[/]: {report.describe()}", highlight=False)
    for entry in report.history:
        healed = ", ".join(entry.healed) or "none"
        failed = f"; not healed: {', '.join(entry.failed)}" if entry.failed else ""
        console.print(
            f"  {entry.finished_at:%Y-%m-%d %H:%M:%S} gluetun {entry.gluetun.short_id}: "
            f"{entry.outcome.value} in {entry.duration.total_seconds():.1f} s; "
            f"healed: {healed}{failed}",
            highlight=False,
        )


def format_duration(seconds: int | None) -> str:
    """Return ``3d 4h``, ``2h 5m``, ``4m 10s`` or ``-``: the two largest units."""
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in parts[:2])


def _styled_state(state: str) -> str:
    return state if state == "running" else f"[red]{state}[/]"


def _styled_health(health: str | None) -> str:
    colours = {"healthy": "green", "unhealthy": "red", "starting": "yellow"}
    return f"[{colours[health]}]{health}[/]" if health in colours else (health or "-")


def _namespace_cell(entry: ServiceStatus) -> str:
    check = entry.namespace
    if check is None:
        return "-"
    if check.verdict == Verdict.STALE:
        return f"[red]stale[/]: {check.reason}"
    if check.verdict == Verdict.UNKNOWN:
        return f"[yellow]unknown[/]: {check.reason}"
    return "[green]ok[/]"


def _ports(container: ComposeContainer) -> str:
    return ", ".join(
        f"{port.url}:{port.published_port}->{port.target_port}/{port.protocol}"
        for port in container.publishers
        if port.published_port
    )


def _container_json(stack: str, container: ComposeContainer) -> dict[str, object]:
    return {
        "stack": stack,
        "service": container.service,
        "container": container.name,
        "id": container.id,
        "state": container.state,
        "health": container.health,
        "exit_code": container.exit_code,
        "image": container.image,
        "ports": [
            {
                "host_address": port.url,
                "host_port": port.published_port,
                "container_port": port.target_port,
                "protocol": port.protocol,
            }
            for port in container.publishers
        ],
    }
