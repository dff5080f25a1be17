"""The apps' links (``mediastack.links``) as ``up`` and ``status`` use them:

- ``wire_after_up``: once ``up --wait`` found the stacks it started healthy (the vpn stack
  among them: the apps that are linked live there), one ``wire`` from the host. It never
  fails ``up``: a broken link is said, with ``mediastack wire`` as the retry. It also does
  what ``up`` once did by itself, Recyclarr's first sync (the wire's quality-profiles link).
- ``status_links``: a dry-run wire with a short wait, so ``status`` shows each link's state
  without changing anything, and ``no_app_answered`` tells a stack that is down.

Printing is the caller's (``say`` for lines, ``progress`` for each link).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from mediastack.adapters.errors import AdapterError
from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.links.compose_runner import ComposeRunner
from mediastack.links.endpoints import Vantage
from mediastack.links.link import LinkStatus, ServiceRunner
from mediastack.links.reconcile import Progress
from mediastack.links.report import WireReport
from mediastack.links.run import WireOptions, wire
from mediastack.portsync.wiring import host_secrets
from mediastack.stack.targets import StackTarget

STATUS_WAIT_SECONDS = 3.0
"""``status`` waits this long, in all, for the apps: it reports, it does not wait for a start."""

ANSWERED = (
    LinkStatus.OK,
    LinkStatus.MISSING,
    LinkStatus.DRIFTED,
    LinkStatus.MADE,
    LinkStatus.REPAIRED,
)


class Wire(Protocol):
    """``mediastack.links.run.wire``'s signature (tests give a fake)."""

    def __call__(
        self,
        loaded: LoadedConfig,
        secrets: Mapping[str, str],
        options: WireOptions,
        runner: ServiceRunner | None = None,
        progress: Progress | None = None,
    ) -> WireReport: ...


def wire_after_up(
    loaded: LoadedConfig,
    plan: Sequence[StackTarget],
    *,
    wait: bool,
    dry_run: bool,
    say: Callable[[str], None],
    progress: Progress | None = None,
    run: Wire | None = None,
) -> WireReport | None:
    """Wire the apps after ``up`` brought up ``plan`` (see the module docstring); return the
    report, or None when no wire ran: the vpn stack was not started, a dry run (said), or
    ``up --no-wait`` (said: the apps may not answer yet). ``run`` replaces ``wire`` (tests)."""
    if not any(target.stack is Stack.VPN for target in plan):
        return None
    if dry_run:
        say(
            "wire the apps to each other once the stacks are healthy "
            "(`mediastack wire --dry-run` shows each request)"
        )
        return None
    if not wait:
        say("apps not wired (--no-wait): run `mediastack wire` once they answer")
        return None
    say("wire: connecting the apps to each other")
    options = WireOptions(
        Vantage.HOST, app_wait_seconds=float(loaded.config.wiring.app_wait_seconds)
    )
    run = run or wire
    try:
        report = run(loaded, host_secrets(loaded), options, ComposeRunner(loaded), progress)
    except AdapterError as error:  # another wire holds the lock: it wires them
        say(f"wire: {error.message} (fix: {error.fix})")
        return None
    say(f"wire: {report.summary()}")
    broken = report.with_status(LinkStatus.BROKEN)
    if broken:
        say(
            f"wire: {len(broken)} link(s) broken (the stacks are up): fix what each says, "
            "then `mediastack wire` retries"
        )
    return report


def status_links(
    loaded: LoadedConfig, run: Wire | None = None, wait_seconds: float = STATUS_WAIT_SECONDS
) -> WireReport:
    """Return each link's state as a dry-run wire from the host reads it (nothing sent);
    ``run`` replaces ``wire`` (tests)."""
    options = WireOptions(Vantage.HOST, dry_run=True, app_wait_seconds=wait_seconds)
    run = run or wire
    return run(loaded, host_secrets(loaded), options, ComposeRunner(loaded), None)


def no_app_answered(report: WireReport) -> bool:
    """Return True when no app's API answered (the stacks are down): no read succeeded and
    no link got a verdict that only an answering app gives."""
    return report.reads == 0 and not report.with_status(*ANSWERED)
