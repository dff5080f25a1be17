"""``/api/v1/summary``: four headline fields for Homepage's ``customapi`` widget.

Homepage's block view shows up to four fields, each read from a flat JSON key by its
``mappings`` (``field``, ``format``). So the answer is one flat object of four scalars, in a
fixed order, each with a format Homepage knows:

- ``supervisor`` (text): ``watching``, ``cascading``, ``paused``, ``never ran``,
  ``state unreadable``;
- ``health`` (text): ``healthy`` or ``unhealthy``;
- ``last_cascade`` (text): the last cascade's outcome (``healed``, ``partial``, ...) or ``none``;
- ``last_backup`` (``date`` / ``relativeDate``): when the newest verified archive was made,
  ISO 8601 UTC, or null when there is none.

VPN state and forwarded port are not among them: the supervisor does not keep either on disk
yet (port sync's last result lives in its monitor's memory).
"""

from __future__ import annotations

from mediastack.supervisor.web.status_view import StatusView

NO_CASCADE = "none"
SUMMARY_FIELDS = ("supervisor", "health", "last_cascade", "last_backup")


def summary_of(view: StatusView) -> dict[str, str | None]:
    """Return the four headline fields of ``view`` (see the module docstring)."""
    last = view.last_cascade
    verified = view.backups.latest_verified
    return {
        "supervisor": view.mode,
        "health": "healthy" if view.health.healthy else "unhealthy",
        "last_cascade": last.outcome.value if last is not None else NO_CASCADE,
        "last_backup": verified.created.isoformat() if verified is not None else None,
    }
