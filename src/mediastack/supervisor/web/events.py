"""``GET /api/v1/events``: the persisted history, newest first, as one list of events.

What the supervisor keeps on disk, merged by time: each finished cascade (its SQLite
history, the last ``HISTORY_LIMIT``), each backup archive (created, and verified or failed),
the last port sync and the last wire run (their records keep only the last run). Query:
``limit`` (1-500, default 50) and ``kind`` (``cascade``, ``backup``, ``portsync``, ``wire``;
repeatable, or comma-separated). Pure: built from a ``StatusView``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from mediastack.supervisor.runtime.report import cascade_json
from mediastack.supervisor.web.status_view import StatusView, archive_json

KINDS = ("cascade", "backup", "portsync", "wire")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class QueryError(ValueError):
    """The query string asks for what cannot be given (answered 400, saying what can)."""


@dataclass(frozen=True)
class EventQuery:
    """What to list: at most ``limit`` events of ``kinds``."""

    limit: int = DEFAULT_LIMIT
    kinds: frozenset[str] = frozenset(KINDS)


def parse_query(query: str) -> EventQuery:
    """Given the query string (after ``?``), return the query; raise QueryError."""
    fields = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(fields) - {"limit", "kind"})
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}: use limit and kind")
    limit = DEFAULT_LIMIT
    if "limit" in fields:
        try:
            limit = int(fields["limit"][-1])
        except ValueError as error:
            raise QueryError("limit must be a whole number") from error
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    kinds = {kind for value in fields.get("kind", []) for kind in value.split(",") if kind}
    wrong = sorted(kinds - set(KINDS))
    if wrong:
        raise QueryError(f"unknown kind {wrong[0]!r}: one of {', '.join(KINDS)}")
    return EventQuery(limit, frozenset(kinds) if kinds else frozenset(KINDS))


def events_json(view: StatusView, query: EventQuery) -> dict[str, Any]:
    """Return the answer: the events, newest first, and what was asked."""
    found = [item for item in _events(view) if item[1]["kind"] in query.kinds]
    found.sort(key=lambda item: item[0], reverse=True)
    return {
        "instance": view.instance,
        "kinds": sorted(query.kinds),
        "limit": query.limit,
        "events": [event for _, event in found[: query.limit]],
    }


def _events(view: StatusView) -> Iterator[tuple[datetime, dict[str, Any]]]:
    for cascade in view.history:
        yield cascade.finished_at, {"kind": "cascade", "at": _iso(cascade.finished_at),
                                    **cascade_json(cascade)}  # fmt: skip
    for archive in view.backups.listed:
        yield archive.created, {"kind": "backup", "at": _iso(archive.created),
                                **(archive_json(archive) or {})}  # fmt: skip
    vpn = view.vpn
    if vpn.last_sync_at is not None:
        yield (
            vpn.last_sync_at,
            {
                "kind": "portsync",
                "at": _iso(vpn.last_sync_at),
                "result": vpn.last_sync_result,
                "forwarded_port": vpn.forwarded_port,
            },
        )
    wiring = view.wiring
    if wiring.last_run_at is not None:
        yield (
            wiring.last_run_at,
            {
                "kind": "wire",
                "at": _iso(wiring.last_run_at),
                "summary": wiring.summary,
                "links_by_state": dict(sorted(wiring.by_state.items())),
            },
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
