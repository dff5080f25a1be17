"""What the supervisor says about a ``wire`` run, from its links and the previous run's:

- a notification when the run made or repaired links ("rewired sonarr: qBittorrent download
  client (was missing)"), or when a link newly became broken (it was not broken in the last
  run, or this is the daemon's first run); nothing when all stays as it was: the timer runs
  every few minutes and must not make noise;
- which broken links to log with their detail: the newly broken, and those whose detail
  changed; one broken run after run (Recyclarr's sync from the daemon, which cannot exec
  through the socket proxy) is logged once, not every run.

Pure: no I/O. Statuses are ``mediastack.links.LinkStatus`` values, as strings (the daemon does
not import the links: they load httpx).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mediastack.notify.message import Notification

BROKEN = "broken"
MADE = "made"
REPAIRED = "repaired"
REWIRED_PRIORITY = 2
BROKEN_PRIORITY = 4
WAS = {MADE: "was missing", REPAIRED: "had drifted"}


@dataclass(frozen=True)
class LinkRecord:
    """One link's state after a run, as the wire process reported it."""

    app: str
    key: str
    title: str
    status: str
    detail: str = ""


Previous = Mapping[str, LinkRecord]
"""The last run's links by key (empty: no run yet)."""


def newly_broken(previous: Previous, links: Sequence[LinkRecord]) -> list[LinkRecord]:
    """Return the links broken now that were not broken in the previous run."""
    return [
        link for link in links
        if link.status == BROKEN
        and (link.key not in previous or previous[link.key].status != BROKEN)
    ]  # fmt: skip


def broken_to_log(previous: Previous, links: Sequence[LinkRecord]) -> list[LinkRecord]:
    """Return the broken links worth a log line: newly broken, or broken for a new reason."""
    return [
        link for link in links
        if link.status == BROKEN
        and (link.key not in previous or previous[link.key] != link)
    ]  # fmt: skip


def wire_notification(
    instance: str, previous: Previous, links: Sequence[LinkRecord]
) -> Notification | None:
    """Return the notification for a run (see the module docstring), or None."""
    changed = [link for link in links if link.status in WAS]
    broken = newly_broken(previous, links)
    if not changed and not broken:
        return None
    lines = [f"rewired {link.app}: {link.title} ({WAS[link.status]})" for link in changed]
    lines += [f"broken: {link.app} {link.title}: {link.detail or 'no detail'}" for link in broken]
    if broken:
        title = f"{instance}: {len(broken)} app link(s) broken"
        return Notification(title, "\n".join(lines), BROKEN_PRIORITY, ("warning",))
    title = f"{instance}: {len(changed)} app link(s) rewired"
    return Notification(title, "\n".join(lines), REWIRED_PRIORITY, ("link",))
