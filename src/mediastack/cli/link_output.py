"""How the CLI prints the apps' links (``mediastack.links``): one line per link as a wire
goes (``wire``, ``up``), the run's summary, and ``status``'s table of links."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from mediastack.cli.common import console
from mediastack.links.link import LinkStatus
from mediastack.links.report import LinkState, WireReport

STYLES = {
    LinkStatus.OK: "green",
    LinkStatus.MADE: "green",
    LinkStatus.REPAIRED: "green",
    LinkStatus.MISSING: "yellow",
    LinkStatus.DRIFTED: "yellow",
    LinkStatus.WAITING: "cyan",
    LinkStatus.BROKEN: "red",
}


def print_link_state(state: LinkState) -> None:
    """Print one link's verdict as a line: status, app, link, detail."""
    style = STYLES.get(state.status, "white")
    detail = f": {state.detail}" if state.detail else ""
    console.print(
        f"[{style}]{state.status:>8}[/] {state.app} {escape(state.title)}{escape(detail)}",
        highlight=False,
    )


def print_wire_summary(report: WireReport) -> None:
    """Print a dry run's planned requests, then the one-line summary."""
    if report.dry_run and report.requests:
        console.print("\nwould send:")
        for request in report.requests:
            console.print(f"  {request.app} {request.method} {escape(request.path)}",
                          highlight=False)
    console.print(report.summary(), highlight=False)


def links_table(links: tuple[LinkState, ...]) -> Table:
    """Return ``status``'s table of links: app, link, status, detail."""
    table = Table("APP", "LINK", "STATUS", "DETAIL", box=None)
    for state in links:
        style = STYLES.get(state.status, "white")
        table.add_row(state.app, escape(state.title), f"[{style}]{state.status}[/]",
                      escape(state.detail) or "-")
    return table
