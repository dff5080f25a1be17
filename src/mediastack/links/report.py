"""What a ``wire`` run found and did: one ``LinkState`` per link, and every request sent or
(dry run) planned; as text for people and as JSON (``--format json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediastack.links.link import NEEDS_WRITES, LinkStatus
from mediastack.links.model import Request


@dataclass(frozen=True)
class LinkState:
    app: str
    key: str
    title: str
    status: LinkStatus
    detail: str = ""
    actions: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "link": self.title,
            "status": str(self.status),
            "detail": self.detail,
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class WireReport:
    """``requests``: the writes sent (or, with ``dry_run``, that would be sent), in order."""

    links: tuple[LinkState, ...]
    requests: tuple[Request, ...]
    reads: int
    dry_run: bool

    def with_status(self, *statuses: LinkStatus) -> list[LinkState]:
        return [link for link in self.links if link.status in statuses]

    @property
    def drifted(self) -> bool:
        """True when a link is missing, drifted or broken (``--check`` exits 1)."""
        return bool(self.with_status(*NEEDS_WRITES, LinkStatus.BROKEN))

    @property
    def changed(self) -> list[LinkState]:
        return self.with_status(LinkStatus.MADE, LinkStatus.REPAIRED)

    @property
    def writes(self) -> int:
        return len(self.requests)

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "links": [link.as_json() for link in self.links],
            "requests": [request.shown() for request in self.requests],
            "reads": self.reads,
            "writes": 0 if self.dry_run else self.writes,
        }

    def summary(self) -> str:
        """One line: how many links are in each state."""
        counts: dict[str, int] = {}
        for link in self.links:
            counts[str(link.status)] = counts.get(str(link.status), 0) + 1
        parts = [f"{count} {status}" for status, count in counts.items()]
        verb = "would send" if self.dry_run else "sent"
        return f"{len(self.links)} links: {', '.join(parts)}; {verb} {self.writes} write(s)"
