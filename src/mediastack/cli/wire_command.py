"""``mediastack wire``: connect every app to the others through their APIs, idempotently.

Thin: load, read the secrets, call ``links.wire``, print. Exit codes: 0 when nothing is
missing, drifted or broken (links waiting for the user are fine); 1 otherwise (``--check``:
when anything would change or is broken); 2 on bad input.
"""

from __future__ import annotations

import typer

from mediastack.adapters.errors import AdapterError
from mediastack.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    FORMAT_OPTION,
    OutputFormat,
    fail,
    load_or_exit,
    print_json,
)
from mediastack.cli.link_output import print_link_state, print_wire_summary
from mediastack.links.compose_runner import ComposeRunner
from mediastack.links.endpoints import Vantage, parse_overrides
from mediastack.links.link import LinkStatus
from mediastack.links.run import DEFAULT_APP_WAIT_SECONDS, WireOptions
from mediastack.links.run import wire as run_wire
from mediastack.portsync.wiring import host_secrets


def register(app: typer.Typer) -> None:
    """Add ``wire`` to ``app``."""
    app.command("wire")(wire)


def wire(
    context: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read every app and show the plan: the exact requests; send none."
    ),
    check: bool = typer.Option(
        False, "--check", help="Like --dry-run; exit 1 when a link is missing, drifted or broken."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
    url: list[str] = typer.Option(
        [], "--url", metavar="APP=URL",
        help="Reach APP at URL instead of its published port (repeatable), "
        "e.g. --url sonarr=http://127.0.0.1:8989",
    ),
    wait: float = typer.Option(
        DEFAULT_APP_WAIT_SECONDS, "--wait", min=0,
        help="Seconds to wait, in all, for the apps to answer.",
    ),
) -> None:
    """Connect the apps to each other: zero clicks from `up` to a working pipeline.

    Reads each app's API, compares it with what mediastack.yaml and .env want, and makes
    only what is missing or drifted, each change read back:

    - sonarr, radarr: root folder /data/media/tv or /data/media/movies, qBittorrent as
      download client (category tv-sonarr or radarr), the login user (APPS_USERNAME,
      APPS_PASSWORD in .env);
    - prowlarr: Sonarr and Radarr as applications (full sync), the FlareSolverr proxy and
      its tag (given to new indexers), qBittorrent as download client;
    - recyclarr: one sync when a TRaSH profile is missing; cross-seed: the torznab URLs of
      Prowlarr's indexers (config.js rewritten, cross-seed restarted, when they change).

    Nothing you added is removed. A link that needs you (a Plex claim, indexers) is
    *waiting*, with what to do. qBittorrent's password is tried once, never again.

    Examples:

        mediastack wire --dry-run --format json   # every request it would send

        mediastack wire --check                   # exit 1 on drift (for cron, CI)
    """
    loaded = load_or_exit(context)
    try:
        overrides = parse_overrides(url)
    except ValueError as error:
        fail(str(error), "give APP=URL, e.g. --url sonarr=http://127.0.0.1:8989", EXIT_BAD_INPUT)
    json_output = output_format == OutputFormat.JSON
    options = WireOptions(Vantage.HOST, overrides, dry_run or check, wait)
    try:
        report = run_wire(
            loaded, host_secrets(loaded), options, ComposeRunner(loaded),
            progress=None if json_output else print_link_state,
        )
    except AdapterError as error:  # another wire holds the lock
        fail(error.message, error.fix)
    if json_output:
        print_json(report.as_json())
    else:
        print_wire_summary(report)
    failed = report.drifted if options.dry_run else bool(report.with_status(LinkStatus.BROKEN))
    if failed and (check or not options.dry_run):
        raise typer.Exit(EXIT_FAILED)
