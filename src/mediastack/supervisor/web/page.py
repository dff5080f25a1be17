"""The status page (``GET /``): one self-contained HTML document rendered from a StatusView.

No CDN, no build step, no external asset: inline CSS, and a few lines of inline JavaScript
that open ``api/v1/stream`` and replace each section's inner HTML with the fragment the server
rendered with the same functions (``render_sections``). Without JavaScript it is a plain page
that reloads itself (``<noscript>`` refresh); a page whose stream was refused (every stream
slot taken) reloads itself the same way. Every value is passed through ``html.escape``.
What the view does not hold yet (a container never seen, the VPN's IP before a port sync, links
before a wire) says "not known yet" rather than a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from mediastack.backup.catalog import ArchiveInfo
from mediastack.supervisor.actions import FinishedCascade, Outcome
from mediastack.supervisor.web.status_view import NEVER_RAN, StatusView
from mediastack.supervisor.web.topology import PlacedService, Topology
from mediastack.supervisor.web.verdict import stack_verdict

NOT_KNOWN = "not known yet"
NO_SCRIPT_REFRESH_SECONDS = 30
GOOD_OUTCOMES = frozenset({Outcome.HEALED, Outcome.NOTHING_STALE, Outcome.SUPERSEDED})
# A link waiting for the user (a Plex claim, Prowlarr's first indexer) or broken.
NEEDING_LINK_STATES = frozenset({"waiting", "broken"})

SCRIPT = (
    "(function(){if(!window.EventSource)return;"
    'var s=new EventSource("api/v1/stream");'
    's.addEventListener("sections",function(e){var d=JSON.parse(e.data);'
    "for(var k in d){var n=document.getElementById(k);if(n)n.innerHTML=d[k];}"
    'var l=document.getElementById("live");if(l)l.textContent="live";});'
    's.onerror=function(){var l=document.getElementById("live");'
    'if(s.readyState===2){if(l)l.textContent="static";'
    f"setTimeout(function(){{location.reload();}},{NO_SCRIPT_REFRESH_SECONDS * 1000});}}"
    'else if(l)l.textContent="reconnecting";};})();'
)
# The script's sha256 (base64), written out: hashlib would load OpenSSL (3.6 MB) into the
# daemon for one digest. A unit test computes it again from SCRIPT.
SCRIPT_HASH = "5BfFd1GipGVGKjxu602MIutaCsG809sdNQzv2cQFrFI="
# Only the inline style and this one script may run; the stream is the only connection.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{SCRIPT_HASH}'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;
color:#1d2433;background:#f5f6f8}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:0 0 .5rem}
section{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:.8rem 1rem;
margin:0 0 1rem}
.zones{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.8rem}
.zone{border:2px solid #8a94a6;border-radius:8px;padding:.6rem}
.zone h3{font-size:.95rem;margin:0 0 .4rem}.zone.vpn{border-color:#2f6fdf;background:#f0f5ff}
.zone.bridge{border-color:#2f9d5c;background:#f1faf4}.zone.host{border-color:#b7791f;
background:#fdf8ee}ul{margin:.2rem 0;padding-left:1.2rem}li{margin:.15rem 0}
.svc b{font-weight:600}.muted{color:#687385}.tag{display:inline-block;font-size:.8rem;
padding:0 .4rem;border-radius:4px;background:#e6e9ef;margin-left:.3rem}
.good{color:#17663a}.bad{color:#a61b1b}.warn{color:#8a5a00}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;
border-bottom:1px solid #eceef2;font-size:.9rem}
#needs li{color:#a61b1b}
"""


def render_page(view: StatusView, topology: Topology) -> str:
    """Given a view and the zones, return the whole HTML page."""
    sections = render_sections(view, topology)
    body = "\n".join(f'<section id="{name}">{html}</section>' for name, html in sections.items())
    title = escape(f"{view.instance}: mediastack status")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title>"
        f'<noscript><meta http-equiv="refresh" content="{NO_SCRIPT_REFRESH_SECONDS}"></noscript>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{title} "
        '<span id="live" class="tag">static</span></h1>\n'
        f"{body}\n<script>{SCRIPT}</script></body></html>\n"
    )


def render_sections(view: StatusView, topology: Topology) -> dict[str, str]:
    """Return each section's inner HTML by element id, in page order: what the page shows and
    what the stream sends."""
    return {
        "needs": _needs_section(view),
        "supervisor": _supervisor_section(view),
        "zones": _zones_section(view, topology),
        "cascades": _cascades_section(view),
        "backups": _backups_section(view),
        "updates": _updates_section(view),
        "wiring": _wiring_section(view),
    }


# -- needs you ----------------------------------------------------------------------------


def needs_you(view: StatusView) -> list[str]:
    """Return, as plain sentences, what the view says needs the user."""
    needs: list[str] = []
    if view.state_problem:
        needs.append(f"The supervisor's state cannot be read: {view.state_problem}")
    if view.mode == NEVER_RAN:
        needs.append("The supervisor has not run yet.")
    elif not view.health.healthy:
        needs.append(f"The supervisor is not healthy: {view.health.reason}")
    if view.paused:
        needs.append(f"Cascades are paused (a restart loop) until {_time(view.paused_until)}.")
    last = view.last_cascade
    if last is not None and last.outcome not in GOOD_OUTCOMES:
        failed = f" (not healed: {', '.join(last.failed)})" if last.failed else ""
        needs.append(f"The last cascade ended {last.outcome.value}{failed}.")
    needs += [f"The update of {name} was rolled back." for name in sorted(view.rolled_back)]
    pending = view.update_runs.pending if view.update_runs else ()
    needs += [
        f"An update of {name} waits for you (its policy is notify): `mediastack update {name}`."
        for name in pending
    ]
    if view.backups.archives and view.backups.latest_verified is None:
        needs.append("No backup has been verified yet.")
    needs += [
        f"{link.title}: {link.status}" + (f" ({link.detail})" if link.detail else "")
        for link in view.wiring.links
        if link.status in NEEDING_LINK_STATES
    ]
    needs += [
        f"{name} in .env is still a placeholder: put the real value there, then "
        "`mediastack up`."
        for name in view.placeholders
    ]
    verdict = stack_verdict(view)
    if view.health.healthy and not view.paused and not verdict.healthy:
        needs.append(f"Not healthy: {verdict.reason}.")
    return needs


def _needs_section(view: StatusView) -> str:
    needs = needs_you(view)
    if not needs:
        return '<h2>Needs you</h2><p class="good">Nothing needs you.</p>'
    return f"<h2>Needs you</h2>{_list(needs, escape)}"


# -- supervisor -----------------------------------------------------------------------------


def _supervisor_section(view: StatusView) -> str:
    health = view.health
    verdict = "healthy" if health.healthy else "not healthy"
    stream = {True: "connected", False: "lost", None: NOT_KNOWN}[health.stream_connected]
    rows = [
        ("Mode", escape(view.mode) + (f" until {_time(view.paused_until)}" if view.paused else "")),
        ("Health", f'<span class="{_good(health.healthy)}">{verdict}</span>: '
                   f"{escape(health.reason)}"),
        ("Engine event stream", f"{stream} since {_time(health.stream_since)}"),
        ("Last loop turn", _time(health.loop_turned_at)),
        ("Being recreated", _names(view.cascading_dependents)),
        ("Stopped by you", _names(sorted(view.user_stopped))),
    ]  # fmt: skip
    return f"<h2>Supervisor</h2>{_table(rows)}"


# -- zones ----------------------------------------------------------------------------------


def _zones_section(view: StatusView, topology: Topology) -> str:
    def services(items: Iterable[PlacedService]) -> str:
        return _list(list(items), lambda item: _service(item, view))

    vpn = (
        '<div class="zone vpn"><h3>gluetun\'s network namespace</h3>'
        f"{services(topology.namespace_owner)}"
        f'<p class="muted">{_vpn_line(view)}</p>'
        '<p class="muted">In its namespace (network_mode: service:gluetun):</p>'
        f"{services(topology.in_namespace)}</div>"
    )
    bridge = (
        '<div class="zone bridge"><h3>The bridge network</h3>'
        '<p class="muted">gluetun joins it and publishes its dependents\' web UIs.</p>'
        f"{services(topology.bridge)}</div>"
    )
    host = f'<div class="zone host"><h3>The host network</h3>{services(topology.host)}</div>'
    return f'<h2>Zones</h2><div class="zones">{vpn}{bridge}{host}</div>{_seen_note(view)}'


def _vpn_line(view: StatusView) -> str:
    """The VPN as the last port sync saw it (``runtime.job_records``), or "not known yet"."""
    vpn = view.vpn
    state = {True: "connected", False: "down", None: NOT_KNOWN}[vpn.connected]
    port = NOT_KNOWN if vpn.forwarded_port is None else str(vpn.forwarded_port)
    address = NOT_KNOWN if vpn.public_ip is None else escape(vpn.public_ip)
    synced = (
        ""
        if vpn.last_sync_at is None
        else (f" Last port sync {_time(vpn.last_sync_at)}: {escape(vpn.last_sync_result or '')}.")
    )
    return f"VPN: {state}. Forwarded port: {port}. Public IP: {address}.{synced}"


def _wiring_section(view: StatusView) -> str:
    wiring = view.wiring
    if wiring.problem:
        return f'<h2>Wiring</h2><p class="bad">{escape(wiring.problem)}</p>'
    if not wiring.links:
        return f'<h2>Wiring</h2><p class="muted">Each link\'s state: {NOT_KNOWN}.</p>'
    rows = [
        (escape(link.title), f"{escape(link.status)} {escape(link.detail)}".strip())
        for link in wiring.links
    ]
    return f"<h2>Wiring</h2><p>Last run {_time(wiring.last_run_at)}.</p>{_table(rows)}"


def _seen_note(view: StatusView) -> str:
    if view.services_problem:
        return f'<p class="bad">Containers: {escape(view.services_problem)}</p>'
    if view.services_seen_at is None:
        return f'<p class="muted">Each container\'s state and health: {NOT_KNOWN}.</p>'
    return (
        '<p class="muted">States as the supervisor last saw them (its engine events), '
        f"{_time(view.services_seen_at)}.</p>"
    )


def service_condition(item: str, view: StatusView) -> tuple[str, str]:
    """Return (text, css class) of a service's container: "healthy", "running",
    "exited"..., or "not known yet"."""
    state = view.services.get(item)
    if state is None:
        if view.services_seen_at is None:
            return NOT_KNOWN, "muted"
        return "no container", "warn"
    if state.status != "running":
        return state.status, "bad"
    if state.health is None:
        return "running", "good"
    css = {"healthy": "good", "starting": "warn"}.get(state.health, "bad")
    return state.health, css


def _service(item: PlacedService, view: StatusView) -> str:
    condition, css = service_condition(item.name, view)
    state = f'<span class="tag state {css}">{escape(condition)}</span>'
    tags = []
    if item.name in view.user_stopped:
        tags.append("stopped by you")
    if item.name in view.cascading_dependents:
        tags.append("being recreated")
    badges = "".join(f'<span class="tag">{escape(tag)}</span>' for tag in tags)
    return (
        f'<span class="svc" data-service="{escape(item.name)}"><b>{escape(item.name)}</b> '
        f'<span class="muted">{escape(item.description)} ({escape(item.stack)})</span>'
        f"{state}{badges}</span>"
    )


# -- cascades, backups, updates ---------------------------------------------------------------


def _cascades_section(view: StatusView) -> str:
    totals = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(view.totals.by_outcome.items()))
    summary = f'<p class="muted">All time: {totals or "none yet"}.</p>'
    if not view.recent_cascades:
        return f"<h2>Last cascades</h2><p>No cascade yet.</p>{summary}"
    labels = ("Finished", "Outcome", "Duration", "Healed", "Failed")
    head = "<tr>" + "".join(f"<th>{label}</th>" for label in labels) + "</tr>"
    rows = "".join(_cascade_row(entry) for entry in view.recent_cascades)
    return f"<h2>Last cascades</h2><table>{head}{rows}</table>{summary}"


def _cascade_row(entry: FinishedCascade) -> str:
    outcome = entry.outcome
    return (
        f'<tr class="cascade"><td>{_time(entry.finished_at)}</td>'
        f'<td class="{_good(outcome in GOOD_OUTCOMES)}">{escape(outcome.value)}</td>'
        f"<td>{escape(_duration(entry.duration))}</td><td>{_names(entry.healed)}</td>"
        f"<td>{_names(entry.failed)}</td></tr>"
    )


def _backups_section(view: StatusView) -> str:
    backups = view.backups
    rows = [
        ("Archives", str(backups.archives)),
        ("Latest", _archive(backups.latest)),
        ("Latest verified", _archive(backups.latest_verified)),
    ]
    return f"<h2>Backups</h2>{_table(rows)}"


def _archive(info: ArchiveInfo | None) -> str:
    if info is None:
        return "none"
    size = f"{info.size_bytes / 1_048_576:.1f} MiB"
    return f"{escape(info.path.name)}, {_time(info.created)}, {size}, {escape(info.state.value)}"


def _updates_section(view: StatusView) -> str:
    rolled = [f"{name}: back to {digest}" for name, digest in sorted(view.rolled_back.items())]
    body = _list(rolled, escape) if rolled else "<p>None rolled back.</p>"
    return f"<h2>Updates</h2>{_update_runs(view)}<h3>Rolled back</h3>{body}"


def _update_runs(view: StatusView) -> str:
    if view.update_runs_problem:
        return f'<p class="bad">{escape(view.update_runs_problem)}</p>'
    run = view.update_runs
    if run is None:
        return f'<p class="muted">No update check yet: {NOT_KNOWN}.</p>'
    results = [f"{service}: {result}" for service, result in run.last_results]
    totals = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(run.totals.items()) if v)
    rows = [
        ("Last check", f"{_time(run.finished_at)} ({escape(run.source)}), {run.checked} images"),
        ("Waiting for you", _names(run.pending)),
        ("Applied then", escape(", ".join(results)) or '<span class="muted">none</span>'),
        ("All time", totals or '<span class="muted">none yet</span>'),
    ]
    return _table(rows)


# -- small pieces -----------------------------------------------------------------------------


def _list(items: Sequence[Any], render: Callable[[Any], str]) -> str:
    if not items:
        return '<p class="muted">none</p>'
    return "<ul>" + "".join(f"<li>{render(item)}</li>" for item in items) + "</ul>"


def _table(rows: list[tuple[str, str]]) -> str:
    """Rows of (label, cell HTML already escaped)."""
    cells = "".join(f"<tr><th>{escape(label)}</th><td>{cell}</td></tr>" for label, cell in rows)
    return f"<table>{cells}</table>"


def _names(names: Iterable[str]) -> str:
    return escape(", ".join(names)) or '<span class="muted">none</span>'


def _good(good: bool) -> str:
    return "good" if good else "bad"


def _time(moment: datetime | None) -> str:
    if moment is None:
        return f'<span class="muted">{NOT_KNOWN}</span>'
    return escape(moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip())


def _duration(duration: timedelta) -> str:
    seconds = max(0.0, duration.total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
