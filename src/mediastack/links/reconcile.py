"""The reconciler: links in dependency order, each inspected (read), then, unless this is a
dry run, made right (its requests and actions) and read back.

Control flow per link:
1. a link whose ``needs`` are not all satisfied waits for them (named), untouched;
2. ``inspect``: ok / waiting / broken are final; missing / drifted carry their changes;
3. dry run: the changes are recorded as the plan; else sent in order. A POST or PUT refused
   only with warnings is sent once more with ``?forceSave=true`` (the apps' own way to save
   despite warnings), the warnings kept in the report; anything else refused is broken;
4. read back: inspected again; now ok means made (was missing) or repaired (had drifted),
   anything else is broken: the app did not keep what it was sent.

No step repeats: every recovery is one bounded attempt, the next run (or the supervisor's
timer) is the retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from pydantic import ValidationError

from mediastack.adapters.errors import AdapterError
from mediastack.links.api import AppRefusedError
from mediastack.links.link import (
    NEEDS_WRITES,
    SATISFIED,
    Context,
    Inspection,
    Link,
    LinkStatus,
)
from mediastack.links.model import Request
from mediastack.links.report import LinkState, WireReport

logger = logging.getLogger("mediastack.links")

Progress = Callable[[LinkState], None]
UNEXPECTED_ANSWERS = (ValidationError, TypeError, AttributeError, KeyError, ValueError)


def reconcile(
    links: Sequence[Link], context: Context, *, dry_run: bool, progress: Progress | None = None
) -> WireReport:
    """Inspect (and unless ``dry_run``, make right) every link in order; return the report."""
    states: dict[str, LinkState] = {}
    requests: list[Request] = []
    for link in links:
        state = _one(link, context, states, requests, dry_run)
        states[link.key] = state
        if progress is not None:
            progress(state)
    if not dry_run:
        context.secrets.save()
    reads = sum(api.counts.reads for api in context.apis.values())
    return WireReport(tuple(states.values()), tuple(requests), reads, dry_run)


def _one(
    link: Link,
    context: Context,
    states: Mapping[str, LinkState],
    requests: list[Request],
    dry_run: bool,
) -> LinkState:
    # A dry run plans a link whose needs would be made first (their changes are planned too).
    allowed = (SATISFIED | NEEDS_WRITES) if dry_run else SATISFIED
    unmet = [
        states[key] for key in link.needs if key in states and states[key].status not in allowed
    ]
    if unmet:
        names = ", ".join(f"{state.app} {state.title}" for state in unmet)
        return _state(link, Inspection(LinkStatus.WAITING, f"waits for {names}"))
    inspection = _inspect(link, context)
    if inspection.status not in NEEDS_WRITES:
        return _state(link, inspection)
    if dry_run:
        requests.extend(inspection.requests)
        return _state(link, inspection)
    return _apply(link, context, inspection, requests)


def _inspect(link: Link, context: Context) -> Inspection:
    try:
        return link.inspect(context)
    except AdapterError as error:
        detail = f"{error.message} (fix: {error.fix})" if error.fix else error.message
        return Inspection(LinkStatus.BROKEN, detail)
    except OSError as error:  # a host file it reads (cross-seed's config.js, Plex's token)
        return Inspection(LinkStatus.BROKEN, f"{error.strerror or error}: {error.filename}")
    except UNEXPECTED_ANSWERS as error:
        # An answer of another shape (another app on that port, a proxy's HTML page, a
        # release that renamed a field) is this link broken, not the whole run.
        logger.debug("%s %s: unexpected answer", link.app, link.title, exc_info=True)
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        return Inspection(
            LinkStatus.BROKEN,
            f"{link.app} answered something mediastack does not know "
            f"({type(error).__name__}: {first_line}): is it {link.app} (Sonarr 4, Radarr 6, "
            "Prowlarr 2) at that address?",
        )


def _apply(
    link: Link, context: Context, inspection: Inspection, requests: list[Request]
) -> LinkState:
    notes: list[str] = []
    try:
        for action in inspection.actions:
            if action.before_requests:
                action.run()
        for request in inspection.requests:
            notes += _send(context, request, requests)
        sent_secrets = tuple(s for request in inspection.requests for s in request.secrets)
        if sent_secrets:  # what the app now holds, as a hash (see secret_memory)
            context.secrets.remember(link.key, sent_secrets)
        for action in inspection.actions:
            if not action.before_requests:
                action.run()
        if inspection.actions:  # a command (recyclarr sync) changed apps behind their APIs
            for api in context.apis.values():
                api.forget()
    except (AdapterError, OSError) as error:
        if isinstance(error, AdapterError):
            detail = f"{error.message} (fix: {error.fix})" if error.fix else error.message
        else:  # a folder or file the action writes
            detail = f"{error.strerror or error}: {error.filename}"
        return _state(link, Inspection(LinkStatus.BROKEN, detail, inspection.requests,
                                       inspection.actions))
    after = _inspect(link, context)
    if after.status is LinkStatus.OK:
        made = LinkStatus.MADE if inspection.status is LinkStatus.MISSING else LinkStatus.REPAIRED
        detail = "; ".join([inspection.detail, *notes]).strip("; ")
        return _state(link, replace(inspection, status=made, detail=detail))
    why = after.detail or str(after.status)
    logger.warning("%s %s: wrote it, read back %s: %s", link.app, link.title, after.status, why)
    return _state(link, Inspection(LinkStatus.BROKEN, f"written, but reads back: {why}"))


def _send(context: Context, request: Request, sent: list[Request]) -> list[str]:
    """Send ``request`` (once more with forceSave when only warnings refused it); return the
    warnings that were overridden."""
    api = context.api(request.app)
    try:
        sent.append(request)
        api.send(request)
        return []
    except AppRefusedError as refusal:
        if not refusal.warnings_only or request.method not in ("POST", "PUT"):
            raise
        separator = "&" if "?" in request.path else "?"
        forced = replace(request, path=f"{request.path}{separator}forceSave=true")
        sent.append(forced)
        api.send(forced)
        return [f"saved despite warnings: {'; '.join(refusal.problems)}"]


def _state(link: Link, inspection: Inspection) -> LinkState:
    return LinkState(
        app=link.app,
        key=link.key,
        title=link.title,
        status=inspection.status,
        detail=inspection.detail,
        actions=tuple(action.description for action in inspection.actions),
    )
