"""``/api/v1/summary``: four headline fields for Homepage's ``customapi`` widget.

Homepage's block view shows up to four fields, each read from a flat JSON key by its
``mappings`` (``field``, ``format``). So the answer is one flat object of four scalars, in a
fixed order, each with a format Homepage knows: what a glance from a phone asks first (is the
VPN up, which port is forwarded, did the last heal work, is the supervisor all right).

- ``vpn`` (text): ``connected``, ``down`` or ``not known`` (as the last port sync saw it:
  ``job_views``);
- ``forwarded_port`` (``number``): the port the VPN forwards, or null when not known;
- ``last_cascade`` (text): the last cascade's outcome (``healed``, ``partial``, ...) or ``none``;
- ``supervisor`` (text): ``never ran`` or ``state unreadable`` when so; else ``unhealthy``
  when its heartbeat says so; else its mode: ``watching``, ``cascading``, ``paused``.

The last backup moved to ``/api/v1/status`` (``backups``) and ``/metrics``
(``mediastack_backup_last_success_timestamp_seconds``); a widget can map it from there.
"""

from __future__ import annotations

from mediastack.supervisor.web.status_view import NEVER_RAN, UNREADABLE, StatusView

NO_CASCADE = "none"
UNHEALTHY = "unhealthy"
SUMMARY_FIELDS = ("vpn", "forwarded_port", "last_cascade", "supervisor")


def summary_of(view: StatusView) -> dict[str, str | int | None]:
    """Return the four headline fields of ``view`` (see the module docstring)."""
    last = view.last_cascade
    return {
        "vpn": view.vpn.state,
        "forwarded_port": view.vpn.forwarded_port,
        "last_cascade": last.outcome.value if last is not None else NO_CASCADE,
        "supervisor": _supervisor_of(view),
    }


def _supervisor_of(view: StatusView) -> str:
    if view.mode in (NEVER_RAN, UNREADABLE) or view.health.healthy:
        return view.mode
    return UNHEALTHY
